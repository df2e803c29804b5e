//! `[metrics] csv`: appends `metric_name,timestamp,value,units` rows every minute.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::context::Context;

/// Appends a set of rows every minute, until shutdown.
pub(crate) async fn csv_loop(ctx: Arc<Context>, path: std::path::PathBuf) {
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

/// Appends one row per metric as of now, writing the header first into a new file.
pub(crate) fn append_csv(ctx: &Context, path: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    let ts = crate::store::now_ms() / 1000;
    let m = &ctx.telemetry;
    let mut rows = vec![
        ("queue_depth".to_string(), crate::store::queue::depth(&ctx.store) as f64, "jobs"),
        ("dead_letters".to_string(), crate::store::queue::dead_count(&ctx.store) as f64, "jobs"),
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
