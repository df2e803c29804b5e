//! Metrics: counters the bot keeps in memory, served as Prometheus text at
//! `/metrics` with `/healthz` and the dashboard (`/`, see [`crate::dashboard`])
//! on `[metrics] listen` (loopback unless `allow_remote`), and appended to
//! `[metrics] csv` every minute.
//!
//! Counters are process-global so any module can count without threading a
//! handle through; gauges (queue depth, tree sizes, connections) are read
//! from the store and context when scraped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::context::Context;

/// Upper bounds (ms) of the latency histogram buckets.
pub const BUCKETS_MS: &[f64] = &[0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0];

#[derive(Default)]
pub struct Histogram {
    counts: Vec<AtomicU64>,
    sum_us: AtomicU64,
    total: AtomicU64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram { counts: BUCKETS_MS.iter().map(|_| AtomicU64::new(0)).collect(), sum_us: AtomicU64::new(0), total: AtomicU64::new(0) }
    }

    pub fn observe(&self, d: Duration) {
        let ms = d.as_secs_f64() * 1000.0;
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            if ms <= *b {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_us.fetch_add(d.as_micros() as u64, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    /// Cumulative counts per bucket of [`BUCKETS_MS`] (observations ≤ bound), and the total.
    pub fn cumulative(&self) -> (Vec<u64>, u64) {
        let total = self.total.load(Ordering::Relaxed);
        (self.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect(), total)
    }

    fn render(&self, name: &str, labels: &str, out: &mut String) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{}\"}} {}", b / 1000.0, self.counts[i].load(Ordering::Relaxed));
        }
        let total = self.total.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {total}");
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum_us.load(Ordering::Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count{{{labels}}} {total}");
    }
}

/// Labels one family keeps; later new labels are counted under [`OTHER_LABEL`].
pub const MAX_LABELS: usize = 256;
pub const OTHER_LABEL: &str = "other";

/// Labelled counters. Labels come partly from Slack (error codes), so their number is capped:
/// a server answering with ever-new error strings cannot grow memory or `/metrics` without end.
#[derive(Default)]
pub struct Family(Mutex<BTreeMap<String, u64>>);

impl Family {
    pub fn inc(&self, label: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Counted on every envelope and API call: a known label costs no allocation.
        if let Some(n) = map.get_mut(label) {
            *n += 1;
            return;
        }
        let key = if map.len() < MAX_LABELS { label } else { OTHER_LABEL };
        *map.entry(key.to_string()).or_default() += 1;
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, label: &str) -> u64 {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(label).copied().unwrap_or(0)
    }

    fn snapshot(&self) -> Vec<(String, u64)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

pub struct Metrics {
    /// Envelopes received, by kind.
    pub envelopes: Family,
    /// Envelope received → ack written.
    pub ack_latency: Histogram,
    /// Web API calls, by `method status`.
    pub api_calls: Family,
    pub api_latency: Mutex<BTreeMap<String, Arc<Histogram>>>,
    /// Swap outcomes: applied, skipped, coalesced, failed, retried.
    pub swaps: Family,
    /// Times a budget or rate limit made the bot wait.
    pub rate_limit_waits: AtomicU64,
}

pub fn global() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| Metrics {
        envelopes: Family::default(),
        ack_latency: Histogram::new(),
        api_calls: Family::default(),
        api_latency: Mutex::default(),
        swaps: Family::default(),
        rate_limit_waits: AtomicU64::new(0),
    })
}

impl Metrics {
    pub fn api_call(&self, method: &str, status: &str, d: Duration) {
        self.api_calls.inc(&format!("{method}\u{0}{status}"));
        let h = self
            .api_latency
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(method.to_string())
            .or_insert_with(|| Arc::new(Histogram::new()))
            .clone();
        h.observe(d);
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Every metric as Prometheus text exposition.
pub fn render(ctx: &Context) -> String {
    let m = global();
    let mut out = String::new();
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
    m.ack_latency.render("statusinator_ack_latency_seconds", "", &mut out);
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
    let hs: Vec<(String, Arc<Histogram>)> =
        m.api_latency.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (method, h) in hs {
        h.render("statusinator_api_latency_seconds", &format!("method=\"{}\"", esc(&method)), &mut out);
    }
    let _ = writeln!(out, "# HELP statusinator_swaps_total Swap jobs by outcome.\n# TYPE statusinator_swaps_total counter");
    for (k, v) in m.swaps.snapshot() {
        let _ = writeln!(out, "statusinator_swaps_total{{outcome=\"{}\"}} {v}", esc(&k));
    }
    let gauges: [(&str, &str, &str, f64); 14] = [
        (
            "statusinator_rate_limit_waits_total",
            "counter",
            "Times a budget or Slack rate limit made the bot wait.",
            m.rate_limit_waits.load(Ordering::Relaxed) as f64,
        ),
        ("statusinator_queue_depth", "gauge", "Members with pending work.", ctx.store.queue.len() as f64),
        ("statusinator_dead_letters", "gauge", "Jobs that failed for good.", ctx.store.dead.len() as f64),
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
    ];
    for (name, kind, help, v) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
    }
    out
}

/// Which `Host` headers the listener answers. A web page the member opens could otherwise make
/// their browser read `/metrics` through DNS rebinding (a name of the attacker's that resolves to
/// 127.0.0.1): a rebinding always carries the attacker's name, never `localhost` or an IP.
#[derive(Debug, Clone)]
pub struct HostCheck {
    listen: Option<std::net::IpAddr>,
    names: Vec<String>,
}

impl HostCheck {
    pub fn new(cfg: &crate::config::MetricsConfig) -> HostCheck {
        HostCheck { listen: cfg.listen.map(|a| a.ip()), names: cfg.allowed_hosts.clone() }
    }

    /// `host` is the header's value (`name`, `name:port`, `[v6]:port`). A request without one
    /// (HTTP/1.0 tools) is answered: browsers always send it.
    pub fn allows(&self, host: Option<&str>) -> bool {
        let Some(host) = host else { return true };
        let host = host.trim().to_ascii_lowercase();
        let name = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => host.rsplit_once(':').filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit())).map_or(host.as_str(), |(n, _)| n),
        };
        let name = name.trim_end_matches('.');
        if name == "localhost" || self.names.iter().any(|n| n == name) {
            return true;
        }
        match (name.parse::<std::net::IpAddr>(), self.listen) {
            (Ok(ip), Some(listen)) if listen.is_unspecified() => ip.is_loopback() || !ip.is_unspecified(),
            (Ok(ip), Some(listen)) => ip == listen || (listen.is_loopback() && ip.is_loopback()),
            (Ok(ip), None) => ip.is_loopback(),
            (Err(_), _) => false,
        }
    }
}

/// Serves `/` (the dashboard), `/metrics`, `/healthz` until shutdown.
pub async fn serve(ctx: Arc<Context>, listener: tokio::net::TcpListener) {
    use axum::http::StatusCode;
    use axum::routing::get;
    let c1 = ctx.clone();
    let c2 = ctx.clone();
    let c3 = ctx.clone();
    let app = axum::Router::new()
        .route(
            "/",
            get(move || {
                let ctx = c3.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"), (axum::http::header::CACHE_CONTROL, "no-store")],
                        crate::dashboard::page(&ctx),
                    )
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let ctx = c1.clone();
                async move { ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], render(&ctx)) }
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let ctx = c2.clone();
                async move {
                    let socket = ctx.socket.is_connected();
                    let store = ctx.store.writable();
                    let verdict = ctx.store.health().verdict();
                    let body = format!(
                        "socket: {}\nstore: {verdict}\n",
                        match (socket, ctx.socket.app_token_refused.load(Ordering::Relaxed)) {
                            (true, _) => "connected",
                            (false, true) => "down (Slack refuses the app token)",
                            (false, false) => "down",
                        }
                    );
                    if socket && store {
                        (StatusCode::OK, body)
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, body)
                    }
                }
            }),
        );
    let hosts = Arc::new(HostCheck::new(&ctx.config.metrics));
    let app = app.layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
        let hosts = hosts.clone();
        async move {
            use axum::response::IntoResponse as _;
            let host = req.headers().get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string);
            if hosts.allows(host.as_deref()) {
                next.run(req).await
            } else {
                tracing::warn!(host = host.as_deref().unwrap_or(""), "refused a metrics request for an unknown Host");
                (StatusCode::MISDIRECTED_REQUEST, "unknown Host: add it to [metrics] allowed_hosts to serve it\n").into_response()
            }
        }
    }));
    let shutdown = ctx.shutdown.clone();
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.wait().await }).await {
        tracing::error!(error = %e, "metrics server failed");
    }
}

/// Appends `metric_name,timestamp,value,units` rows every minute.
pub async fn csv_loop(ctx: Arc<Context>, path: std::path::PathBuf) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = ctx.shutdown.wait() => return,
        }
        if let Err(e) = append_csv(&ctx, &path) {
            tracing::warn!(error = %e, path = %path.display(), "could not append metrics CSV");
        }
    }
}

pub fn append_csv(ctx: &Context, path: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    let ts = crate::store::now_ms() / 1000;
    let m = global();
    let mut rows = vec![
        ("queue_depth".to_string(), ctx.store.queue.len() as f64, "jobs"),
        ("dead_letters".to_string(), ctx.store.dead.len() as f64, "jobs"),
        ("socket_connections".to_string(), ctx.socket.connected.load(Ordering::Relaxed) as f64, "connections"),
        ("envelopes_acked".to_string(), ctx.socket.acked.load(Ordering::Relaxed) as f64, "envelopes"),
        ("database_size".to_string(), ctx.store.size_on_disk() as f64, "bytes"),
        ("rate_limit_waits".to_string(), m.rate_limit_waits.load(Ordering::Relaxed) as f64, "waits"),
    ];
    for (k, v) in m.swaps.snapshot() {
        rows.push((format!("swaps_{k}"), v as f64, "jobs"));
    }
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    if new {
        writeln!(f, "metric_name,timestamp,value,units")?;
    }
    for (name, v, units) in rows {
        writeln!(f, "{name},{ts},{v},{units}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::HostCheck;

    fn check(listen: &str, names: &[&str]) -> HostCheck {
        HostCheck { listen: Some(listen.parse().unwrap()), names: names.iter().map(|s| s.to_string()).collect() }
    }

    /// Regression (issue 11): the listener answered any Host, so DNS rebinding let a web page
    /// read /metrics.
    #[test]
    fn only_localhost_ips_and_named_hosts_are_answered() {
        let c = check("127.0.0.1", &[]);
        for ok in ["127.0.0.1:9464", "localhost:9464", "LOCALHOST", "localhost.", "[::1]:9464", "127.0.0.1"] {
            assert!(c.allows(Some(ok)), "{ok}");
        }
        assert!(c.allows(None));
        for bad in ["evil.example:9464", "evil.example", "127.0.0.1.nip.io:9464", "10.0.0.5:9464", "", "localhost.evil.example"] {
            assert!(!c.allows(Some(bad)), "{bad}");
        }
        let remote = check("0.0.0.0", &["pi.local"]);
        assert!(remote.allows(Some("192.168.1.20:9464")));
        assert!(remote.allows(Some("pi.local:9464")));
        assert!(!remote.allows(Some("rebind.example:9464")));
        let fixed = check("192.168.1.20", &[]);
        assert!(fixed.allows(Some("192.168.1.20:9464")));
        assert!(!fixed.allows(Some("192.168.1.21:9464")));
    }
}
