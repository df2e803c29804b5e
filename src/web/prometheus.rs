//! `/metrics`: the Prometheus text exposition of the bot's [`Telemetry`], with
//! gauges read from the store, caches and socket when scraped.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::context::Context;
use crate::telemetry::{Histogram, Telemetry, BUCKETS_MS};

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn histogram(h: &Histogram, name: &str, labels: &str, out: &mut String) {
    let sep = if labels.is_empty() { "" } else { "," };
    let (le, total) = h.cumulative();
    for (b, n) in BUCKETS_MS.iter().zip(le) {
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{}\"}} {n}", b / 1000.0);
    }
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {total}");
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum_secs());
    let _ = writeln!(out, "{name}_count{{{labels}}} {total}");
}

/// The counter families and histograms.
fn counters(m: &Telemetry, out: &mut String) {
    let _ = writeln!(
        out,
        "# HELP statusinator_envelopes_total Socket Mode envelopes received, by type.\n# TYPE statusinator_envelopes_total counter"
    );
    for (k, v) in m.envelopes.snapshot() {
        let _ = writeln!(out, "statusinator_envelopes_total{{type=\"{}\"}} {v}", esc(&k));
    }
    let _ = writeln!(
        out,
        "# HELP statusinator_ack_latency_seconds Envelope received to ack written.\n# TYPE statusinator_ack_latency_seconds histogram"
    );
    histogram(&m.ack_latency, "statusinator_ack_latency_seconds", "", out);
    let _ = writeln!(
        out,
        "# HELP statusinator_api_calls_total Slack Web API calls, by method and outcome.\n# TYPE statusinator_api_calls_total counter"
    );
    for (k, v) in m.api_calls.snapshot() {
        let (method, status) = k.split_once('\u{0}').unwrap_or((&k, ""));
        let _ = writeln!(out, "statusinator_api_calls_total{{method=\"{}\",status=\"{}\"}} {v}", esc(method), esc(status));
    }
    let _ = writeln!(
        out,
        "# HELP statusinator_api_latency_seconds Slack Web API call latency, by method.\n# TYPE statusinator_api_latency_seconds histogram"
    );
    for (method, h) in m.api_latencies() {
        histogram(&h, "statusinator_api_latency_seconds", &format!("method=\"{}\"", esc(&method)), out);
    }
    let _ = writeln!(out, "# HELP statusinator_swaps_total Swap jobs by outcome.\n# TYPE statusinator_swaps_total counter");
    for (k, v) in m.swaps.snapshot() {
        let _ = writeln!(out, "statusinator_swaps_total{{outcome=\"{}\"}} {v}", esc(&k));
    }
    for (name, help, v) in [
        ("statusinator_catch_up_reads_total", "Profiles read by catch-ups with Slack.", &m.catch_up.reads),
        ("statusinator_catch_up_swaps_total", "Swaps applied that a catch-up queued.", &m.catch_up.swaps),
        ("statusinator_expiries_total", "Status expiries handled (profile re-read when the status expired).", &m.expiries),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", v.load(Ordering::Relaxed));
    }
}

/// Single-valued metrics: (name, type, help, value).
fn gauges(ctx: &Context) -> [(&'static str, &'static str, &'static str, f64); 14] {
    [
        (
            "statusinator_rate_limit_waits_total",
            "counter",
            "Times a budget or Slack rate limit made the bot wait.",
            ctx.telemetry.rate_limit_waits.load(Ordering::Relaxed) as f64,
        ),
        ("statusinator_queue_depth", "gauge", "Members with pending work.", crate::store::queue::depth(&ctx.store) as f64),
        ("statusinator_dead_letters", "gauge", "Jobs that failed for good.", crate::store::queue::dead_count(&ctx.store) as f64),
        (
            "statusinator_members_with_presets",
            "gauge",
            "Members with at least one preset.",
            ctx.store.members_with_presets().unwrap_or(0) as f64,
        ),
        ("statusinator_presets", "gauge", "Presets stored.", ctx.store.presets.len() as f64),
        ("statusinator_emoji_cache_hits_total", "counter", "Emoji lookups answered.", ctx.emoji.hits() as f64),
        ("statusinator_emoji_cache_misses_total", "counter", "Emoji lookups not found.", ctx.emoji.misses() as f64),
        ("statusinator_avatar_cache_hits_total", "counter", "Avatar cache hits.", ctx.avatars.hits() as f64),
        ("statusinator_avatar_cache_misses_total", "counter", "Avatar cache misses.", ctx.avatars.misses() as f64),
        (
            "statusinator_socket_connections",
            "gauge",
            "Socket Mode connections that said hello.",
            ctx.socket.connected.load(Ordering::Relaxed) as f64,
        ),
        ("statusinator_socket_acks_total", "counter", "Envelopes acked.", ctx.socket.acked.load(Ordering::Relaxed) as f64),
        (
            "statusinator_socket_frames_skipped_total",
            "counter",
            "Socket Mode frames skipped unread (too large, or not JSON serde reads).",
            ctx.socket.skipped.load(Ordering::Relaxed) as f64,
        ),
        (
            "statusinator_socket_app_token_refused",
            "gauge",
            "1 while apps.connections.open refuses the app token.",
            f64::from(u8::from(ctx.socket.app_token_refused.load(Ordering::Relaxed))),
        ),
        ("statusinator_database_bytes", "gauge", "Database size on disk.", ctx.store.size_on_disk() as f64),
    ]
}

/// Every metric as Prometheus text exposition.
pub(crate) fn render(ctx: &Context) -> String {
    let mut out = String::new();
    counters(&ctx.telemetry, &mut out);
    for (name, kind, help, v) in gauges(ctx) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let h = Histogram::new();
        h.observe(std::time::Duration::from_millis(3));
        h.observe(std::time::Duration::from_millis(30));
        let mut out = String::new();
        histogram(&h, "x_seconds", "method=\"a\"", &mut out);
        assert!(out.contains("x_seconds_bucket{method=\"a\",le=\"0.005\"} 1\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{method=\"a\",le=\"0.05\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{method=\"a\",le=\"+Inf\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_sum{method=\"a\"} 0.033\n"), "{out}");
        assert!(out.contains("x_seconds_count{method=\"a\"} 2\n"), "{out}");
    }
}
