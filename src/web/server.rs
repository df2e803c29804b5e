//! The HTTP listener on `[metrics] listen` (loopback unless `allow_remote`):
//! routes `/` (the dashboard), `/metrics` and `/healthz`, and answers only the
//! `Host` names [`HostCheck`] allows.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse as _;

use crate::context::Context;

/// Which `Host` headers the listener answers. A web page the member opens could otherwise make
/// their browser read `/metrics` through DNS rebinding (a name of the attacker's that resolves to
/// 127.0.0.1): a rebinding always carries the attacker's name, never `localhost` or an IP.
#[derive(Debug, Clone)]
pub(crate) struct HostCheck {
    listen: Option<std::net::IpAddr>,
    names: Vec<String>,
}

impl HostCheck {
    pub(crate) fn new(cfg: &crate::config::MetricsConfig) -> HostCheck {
        HostCheck { listen: cfg.listen.map(|a| a.ip()), names: cfg.allowed_hosts.clone() }
    }

    /// `host` is the header's value (`name`, `name:port`, `[v6]:port`). A request without one
    /// (HTTP/1.0 tools) is answered: browsers always send it.
    pub(crate) fn allows(&self, host: Option<&str>) -> bool {
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

/// `/healthz`: 200 while the socket is connected and the store writable, else 503.
fn healthz(ctx: &Context) -> (StatusCode, String) {
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

fn routes(ctx: &Arc<Context>) -> axum::Router {
    use axum::routing::get;
    let (c1, c2, c3) = (ctx.clone(), ctx.clone(), ctx.clone());
    axum::Router::new()
        .route(
            "/",
            get(move || async move {
                ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], super::dashboard::page(&c3))
            }),
        )
        .route(
            "/metrics",
            get(move || async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], super::prometheus::render(&c1)) }),
        )
        .route("/healthz", get(move || async move { healthz(&c2) }))
}

/// Serves `/` (the dashboard), `/metrics`, `/healthz` until shutdown.
pub(crate) async fn serve(ctx: Arc<Context>, listener: tokio::net::TcpListener) {
    let hosts = Arc::new(HostCheck::new(&ctx.config.metrics));
    let app = routes(&ctx).layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
        let hosts = hosts.clone();
        async move {
            let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string);
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
