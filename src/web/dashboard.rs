//! The dashboard: `/` on the metrics listener, one HTML page with four SVG
//! charts over the last 24 h (swaps per hour, Web API latency p50/p99 on a log
//! scale, queue depth, cache hit rates), drawn on the server from the history
//! [`super::sampler`] keeps. No JavaScript: the page reloads itself once a minute.

use std::fmt::Write as _;

use super::sampler::{growth, history, HISTORY_SPAN_MS};
use crate::context::Context;
use crate::store::{now_ms, MetricSample};

const HOUR_MS: u64 = 3600 * 1000;

/// The dashboard page for the bot's store, as of now. Never fails: a store
/// that cannot be read shows as an empty history.
pub(crate) fn page(ctx: &Context) -> String {
    let now = now_ms();
    let samples = history(&ctx.store, now).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "reading the metric history failed");
        Vec::new()
    });
    render_page(&samples, now)
}

// ---- rendering ----

const W: f64 = 560.0;
const H: f64 = 220.0;
const ML: f64 = 58.0;
const MR: f64 = 14.0;
const MT: f64 = 12.0;
const MB: f64 = 28.0;
const PW: f64 = W - ML - MR;
const PH: f64 = H - MT - MB;

const CSS: &str = "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1200px;padding:16px;\
color:#1f2937;background:#f3f4f6}h1{font-size:20px;margin:0}.sub{color:#6b7280;margin:2px 0 14px}.sub a{color:#2563eb}\
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:14px}\
section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 12px}\
h2{font-size:15px;margin:0 0 6px;font-weight:600}.keys{font-weight:400;font-size:13px;color:#4b5563;margin-left:10px}\
.key{display:inline-block;width:14px;height:3px;background:currentColor;vertical-align:middle;margin:0 4px 0 8px}\
svg{width:100%;height:auto;display:block}text{font-size:11px;fill:#6b7280}.empty{font-size:15px;fill:#9ca3af}\
.ax{stroke:#9ca3af}.gr{stroke:#eef0f3}polyline{fill:none;stroke:currentColor;stroke-width:1.6;stroke-linejoin:round}\
circle{fill:currentColor}.bar{fill:#3b82f6}.bar:hover{fill:#1d4ed8}\
.p50{color:#2563eb}.p99{color:#dc2626}.queue{color:#7c3aed}.emoji{color:#059669}.avatar{color:#d97706}";

/// Escapes text for HTML (element content and quoted attributes).
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn ago(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        _ => format!("{} h {} min ago", s / 3600, s / 60 % 60),
    }
}

fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else if v.abs() < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

fn fmt_ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{} s", fmt_num(v / 1000.0))
    } else {
        format!("{} ms", fmt_num(v))
    }
}

/// 1, 2 or 5 × a power of ten, at least `v`.
fn nice_ceil(v: f64) -> f64 {
    if v.is_nan() || v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    let f = v / p;
    let n = if f <= 1.0 + 1e-9 {
        1.0
    } else if f <= 2.0 + 1e-9 {
        2.0
    } else if f <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    n * p
}

/// One chart's frame: time runs over the last day, left to right.
struct Frame {
    t0: u64,
}

impl Frame {
    fn x(&self, t: u64) -> f64 {
        ML + (t.saturating_sub(self.t0).min(HISTORY_SPAN_MS) as f64 / HISTORY_SPAN_MS as f64) * PW
    }
}

/// The y axis: linear from 0, or logarithmic over whole decades.
enum Scale {
    Linear { max: f64, step: f64 },
    Log { lo: i32, hi: i32 },
}

impl Scale {
    fn linear(max: f64, integer: bool) -> Scale {
        let mut step = nice_ceil(max / 4.0);
        if integer {
            step = step.max(1.0);
        }
        let max = ((max / step).ceil() * step).max(step);
        Scale::Linear { max, step }
    }

    fn log(min: f64, max: f64) -> Scale {
        let lo = min.max(0.1).log10().floor() as i32;
        let hi = (max.max(0.1).log10().ceil() as i32).max(lo + 1);
        Scale::Log { lo, hi }
    }

    fn y(&self, v: f64) -> f64 {
        let f = match *self {
            Scale::Linear { max, .. } => v / max,
            Scale::Log { lo, hi } => (v.max(10f64.powi(lo)).log10() - lo as f64) / (hi - lo) as f64,
        };
        MT + PH - f.clamp(0.0, 1.0) * PH
    }

    fn ticks(&self) -> Vec<(f64, String)> {
        match *self {
            Scale::Linear { max, step } => {
                let n = (max / step).round() as usize;
                (0..=n).map(|i| i as f64 * step).map(|v| (v, fmt_num(v))).collect()
            }
            Scale::Log { lo, hi } => (lo..=hi).map(|e| 10f64.powi(e)).map(|v| (v, fmt_ms(v))).collect(),
        }
    }
}

fn open_svg(out: &mut String, id: &str, label: &str) {
    let _ = write!(out, "<svg id=\"{id}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">", esc(label));
}

fn empty_chart(out: &mut String, id: &str, label: &str) {
    open_svg(out, id, label);
    let _ = write!(
        out,
        "<rect x=\"{ML}\" y=\"{MT}\" width=\"{PW}\" height=\"{PH}\" fill=\"none\" class=\"gr\"/>\
         <text class=\"empty\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no data yet</text></svg>",
        ML + PW / 2.0,
        MT + PH / 2.0 + 5.0
    );
}

fn axes(out: &mut String, f: &Frame, scale: &Scale, unit_suffix: &str) {
    for (v, label) in scale.ticks() {
        let y = scale.y(v);
        let _ = write!(
            out,
            "<line class=\"gr\" x1=\"{ML}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}{}</text>",
            ML + PW,
            ML - 5.0,
            y + 4.0,
            esc(&label),
            esc(unit_suffix)
        );
    }
    for k in 0..=4u64 {
        let x = f.x(f.t0 + k * 6 * HOUR_MS);
        let label = if k == 4 { "now".to_string() } else { format!("\u{2212}{} h", 24 - k * 6) };
        let anchor = match k {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = write!(
            out,
            "<line class=\"gr\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{MT}\" y2=\"{:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            MT + PH,
            H - 8.0,
            esc(&label)
        );
    }
    let _ = write!(out, "<line class=\"ax\" x1=\"{ML}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>", ML + PW, MT + PH, MT + PH);
}

/// A line: runs of points no further apart than `max_gap` are joined; a
/// point alone is a dot. Every mark carries its (largest) value in `data-v`.
struct Line<'a> {
    class: &'a str,
    name: &'a str,
    points: Vec<(u64, Option<f64>)>,
    max_gap: u64,
    fmt: fn(f64) -> String,
}

fn draw_line(out: &mut String, f: &Frame, scale: &Scale, line: &Line) {
    let mut runs: Vec<Vec<(u64, f64)>> = Vec::new();
    let mut last: Option<u64> = None;
    for &(t, v) in &line.points {
        match v {
            Some(v) if v.is_finite() => {
                if last.is_none_or(|l| t.saturating_sub(l) > line.max_gap) || runs.is_empty() {
                    runs.push(Vec::new());
                }
                if let Some(run) = runs.last_mut() {
                    run.push((t, v));
                }
                last = Some(t);
            }
            _ => last = None,
        }
    }
    for run in runs {
        let max = run.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        if let [(t, v)] = run[..] {
            let _ = write!(
                out,
                "<circle class=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" data-v=\"{v:.3}\"><title>{}: {}</title></circle>",
                line.class,
                f.x(t),
                scale.y(v),
                esc(line.name),
                esc(&(line.fmt)(v))
            );
            continue;
        }
        let _ = write!(out, "<polyline class=\"{}\" data-v=\"{max:.3}\" points=\"", line.class);
        for (i, (t, v)) in run.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let _ = write!(out, "{sep}{:.1},{:.1}", f.x(*t), scale.y(*v));
        }
        let _ = write!(out, "\"><title>{} (highest {})</title></polyline>", esc(line.name), esc(&(line.fmt)(max)));
    }
}

/// Swaps applied in each hour of the day before `t0 + 24 h`, from the
/// counter's growth between consecutive samples (a drop means a restart).
pub(crate) fn swaps_per_hour(samples: &[MetricSample], t0: u64) -> [u64; 24] {
    let mut hours = [0u64; 24];
    let mut prev: Option<u64> = None;
    for s in samples {
        let d = prev.map_or(0, |p| growth(s.swaps_applied, p));
        prev = Some(s.swaps_applied);
        if s.at_ms >= t0 {
            let i = ((s.at_ms - t0) / HOUR_MS).min(23) as usize;
            hours[i] += d;
        }
    }
    hours
}

/// Typical time between samples, so a longer silence breaks a line.
fn max_gap(samples: &[MetricSample]) -> u64 {
    let mut d: Vec<u64> = samples.windows(2).map(|w| w[1].at_ms.saturating_sub(w[0].at_ms)).collect();
    if d.is_empty() {
        return 150_000;
    }
    d.sort_unstable();
    (d[d.len() / 2].max(1000) * 5 / 2).max(2000)
}

fn swaps_chart(out: &mut String, f: &Frame, samples: &[MetricSample]) {
    const LABEL: &str = "Swaps applied per hour";
    if samples.is_empty() {
        return empty_chart(out, "swaps", LABEL);
    }
    let hours = swaps_per_hour(samples, f.t0);
    let scale = Scale::linear(hours.iter().copied().max().unwrap_or(0) as f64, true);
    open_svg(out, "swaps", LABEL);
    axes(out, f, &scale, "");
    let bw = PW / 24.0;
    for (i, &n) in hours.iter().enumerate().filter(|(_, n)| **n > 0) {
        let y = scale.y(n as f64);
        let _ = write!(
            out,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" data-v=\"{n}\"><title>{}</title></rect>",
            ML + i as f64 * bw + 1.5,
            bw - 3.0,
            MT + PH - y,
            esc(&format!("{n} swap{} {}\u{2013}{} h ago", if n == 1 { "" } else { "s" }, 24 - i, 23 - i))
        );
    }
    out.push_str("</svg>");
}

fn latency_chart(out: &mut String, f: &Frame, samples: &[MetricSample]) {
    const LABEL: &str = "Slack Web API latency, p50 and p99 (log scale)";
    let values: Vec<f64> = samples.iter().flat_map(|s| [s.api_p50_ms, s.api_p99_ms]).flatten().filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return empty_chart(out, "latency", LABEL);
    }
    let min = values.iter().copied().fold(f64::MAX, f64::min);
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    let scale = Scale::log(min, max);
    let gap = max_gap(samples);
    open_svg(out, "latency", LABEL);
    axes(out, f, &scale, "");
    for (class, name, get) in [
        ("p50", "p50", (|s: &MetricSample| s.api_p50_ms) as fn(&MetricSample) -> Option<f64>),
        ("p99", "p99", |s: &MetricSample| s.api_p99_ms),
    ] {
        let points = samples.iter().map(|s| (s.at_ms, get(s))).collect();
        draw_line(out, f, &scale, &Line { class, name, points, max_gap: gap, fmt: fmt_ms });
    }
    out.push_str("</svg>");
}

fn queue_chart(out: &mut String, f: &Frame, samples: &[MetricSample]) {
    const LABEL: &str = "Queue depth (members with pending work)";
    if samples.is_empty() {
        return empty_chart(out, "queue", LABEL);
    }
    let max = samples.iter().map(|s| s.queue_depth).max().unwrap_or(0);
    let scale = Scale::linear(max as f64, true);
    open_svg(out, "queue", LABEL);
    axes(out, f, &scale, "");
    let points = samples.iter().map(|s| (s.at_ms, Some(s.queue_depth as f64))).collect();
    draw_line(out, f, &scale, &Line { class: "queue", name: "queue depth", points, max_gap: max_gap(samples), fmt: fmt_num });
    out.push_str("</svg>");
}

/// Hit rate (%) per hour: hits over lookups in that hour, None without lookups.
fn hourly_rate(samples: &[MetricSample], t0: u64, get: fn(&MetricSample) -> (u64, u64)) -> Vec<(u64, Option<f64>)> {
    let mut acc = [(0u64, 0u64); 24];
    for s in samples.iter().filter(|s| s.at_ms >= t0) {
        let i = ((s.at_ms - t0) / HOUR_MS).min(23) as usize;
        let (hits, lookups) = get(s);
        acc[i].0 += hits.min(lookups);
        acc[i].1 += lookups;
    }
    acc.iter()
        .enumerate()
        .map(|(i, (hits, lookups))| (t0 + i as u64 * HOUR_MS + HOUR_MS / 2, (*lookups > 0).then(|| *hits as f64 * 100.0 / *lookups as f64)))
        .collect()
}

fn hit_rate_chart(out: &mut String, f: &Frame, samples: &[MetricSample]) {
    const LABEL: &str = "Cache hit rate per hour, emoji and avatar";
    let emoji = hourly_rate(samples, f.t0, |s| (s.emoji_hits, s.emoji_lookups));
    let avatar = hourly_rate(samples, f.t0, |s| (s.avatar_hits, s.avatar_lookups));
    if emoji.iter().chain(&avatar).all(|p| p.1.is_none()) {
        return empty_chart(out, "cache", LABEL);
    }
    let scale = Scale::Linear { max: 100.0, step: 25.0 };
    open_svg(out, "cache", LABEL);
    axes(out, f, &scale, "%");
    let pct = |v: f64| format!("{}%", fmt_num((v * 10.0).round() / 10.0));
    for (class, name, points) in [("emoji", "emoji", emoji), ("avatar", "avatar", avatar)] {
        draw_line(out, f, &scale, &Line { class, name, points, max_gap: HOUR_MS, fmt: pct });
    }
    out.push_str("</svg>");
}

fn key_html(class: &str, name: &str) -> String {
    format!("<span class=\"{class}\"><span class=\"key\"></span>{}</span>", esc(name))
}

/// The whole page for `samples` (oldest first) as of `now_ms`.
pub(crate) fn render_page(samples: &[MetricSample], now_ms: u64) -> String {
    let f = Frame { t0: now_ms.saturating_sub(HISTORY_SPAN_MS) };
    let samples: Vec<MetricSample> = samples.iter().filter(|s| s.at_ms >= f.t0 && s.at_ms <= now_ms).cloned().collect();
    let mut out = String::with_capacity(16 * 1024 + samples.len() * 40);
    out.push_str(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"60\"><title>statusinator dashboard</title><style>",
    );
    out.push_str(CSS);
    out.push_str("</style></head><body><h1>statusinator</h1><p class=\"sub\">");
    let summary = match samples.last() {
        None => "Last 24 h. No samples yet: the first is taken at start-up, then one a minute.".to_string(),
        Some(last) => {
            let swaps: u64 = swaps_per_hour(&samples, f.t0).iter().sum();
            let calls: u64 = samples.iter().map(|s| s.api_calls).sum();
            format!(
                "Last 24 h: {swaps} swap{} applied, {calls} Web API call{}. Queue depth {} at the latest sample ({}, {} sample{} kept).",
                if swaps == 1 { "" } else { "s" },
                if calls == 1 { "" } else { "s" },
                last.queue_depth,
                ago(now_ms.saturating_sub(last.at_ms)),
                samples.len(),
                if samples.len() == 1 { "" } else { "s" },
            )
        }
    };
    out.push_str(&esc(&summary));
    out.push_str(" <a href=\"metrics\">/metrics</a> \u{b7} <a href=\"healthz\">/healthz</a></p><div class=\"grid\">");

    out.push_str("<section><h2>Swaps applied per hour</h2>");
    swaps_chart(&mut out, &f, &samples);
    let _ = write!(
        out,
        "</section><section><h2>Web API latency<span class=\"keys\">{}{} \u{b7} log scale</span></h2>",
        key_html("p50", "p50"),
        key_html("p99", "p99")
    );
    latency_chart(&mut out, &f, &samples);
    out.push_str("</section><section><h2>Queue depth<span class=\"keys\">members with pending work</span></h2>");
    queue_chart(&mut out, &f, &samples);
    let _ = write!(
        out,
        "</section><section><h2>Cache hit rate<span class=\"keys\">{}{} \u{b7} per hour</span></h2>",
        key_html("emoji", "emoji"),
        key_html("avatar", "avatar")
    );
    hit_rate_chart(&mut out, &f, &samples);
    out.push_str("</section></div></body></html>\n");
    out
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::sampler::HISTORY_CAP;

    #[test]
    fn swaps_per_hour_follows_the_counter_across_restarts() {
        let t0 = 1_000 * HOUR_MS;
        let at = |m: u64, n: u64| MetricSample { at_ms: t0 + m * 60_000, swaps_applied: n, ..Default::default() };
        // 3 swaps in hour 0, a restart (counter back to 0) then 2 more in hour 1.
        let samples = [at(0, 5), at(1, 6), at(30, 8), at(61, 0), at(62, 2), at(23 * 60 + 5, 2)];
        let h = swaps_per_hour(&samples, t0);
        assert_eq!((h[0], h[1], h[23]), (3, 2, 0));
        assert_eq!(h.iter().sum::<u64>(), 5);
    }

    #[test]
    fn an_empty_history_says_no_data_yet_in_every_chart() {
        let page = render_page(&[], 1_700_000_000_000);
        assert_eq!(page.matches("no data yet").count(), 4, "{page}");
        for id in ["swaps", "latency", "queue", "cache"] {
            assert!(page.contains(&format!("<svg id=\"{id}\"")), "{id}");
        }
        assert!(!page.contains("<script"));
    }

    #[test]
    fn a_day_of_samples_draws_every_chart() {
        let now = 1_700_000_000_000u64;
        let samples: Vec<MetricSample> = (0..HISTORY_CAP as u64)
            .map(|i| MetricSample {
                at_ms: now - HISTORY_SPAN_MS + (i + 1) * 60_000,
                swaps_applied: i / 7,
                api_calls: 3,
                api_p50_ms: Some(40.0 + (i % 13) as f64),
                api_p99_ms: Some(300.0 + (i % 50) as f64 * 20.0),
                queue_depth: i % 4,
                emoji_lookups: 2,
                emoji_hits: 1 + i % 2,
                avatar_lookups: i % 3,
                avatar_hits: (i % 3).min(1),
            })
            .collect();
        let page = render_page(&samples, now);
        assert!(!page.contains("no data yet"));
        assert_eq!(page.matches("<rect class=\"bar\"").count(), 24);
        assert_eq!(page.matches("<polyline class=\"p99\"").count(), 1);
        assert!(page.len() < 200 * 1024, "{} bytes", page.len());
        // Every coordinate stays inside the chart.
        for pts in page.split("points=\"").skip(1) {
            for xy in pts.split('"').next().unwrap().split(' ') {
                let (x, y) = xy.split_once(',').unwrap();
                let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
                assert!((ML..=ML + PW).contains(&x) && (MT..=MT + PH).contains(&y), "{xy}");
            }
        }
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        let page = render_page(&[MetricSample { at_ms: 1_000, ..Default::default() }], 2_000);
        assert!(page.contains("1 s ago"));
    }
}
