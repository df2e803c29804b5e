//! Background upkeep in one loop: the emoji list at start-up and daily,
//! expiry of dedupe ids and idle rate windows, and unreferenced photos.
//! Each task is bounded (a pass over one tree) and logs what it removed.

use std::sync::Arc;
use std::time::Duration;

use crate::context::Context;

/// Delivery ids are kept this long: Slack retries for minutes, restarts take seconds.
pub const SEEN_TTL_MS: u64 = 2 * 3600 * 1000;
const TICK: Duration = Duration::from_secs(600);
const EMOJI_EVERY: Duration = Duration::from_secs(24 * 3600);

pub async fn run(ctx: Arc<Context>) {
    crate::app::refresh_emoji(&ctx).await;
    let mut last_emoji = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = ctx.shutdown.wait() => return,
        }
        upkeep(&ctx);
        if last_emoji.elapsed() >= EMOJI_EVERY {
            crate::app::refresh_emoji(&ctx).await;
            last_emoji = tokio::time::Instant::now();
        }
    }
}

/// One pass of expiry; returns (seen ids, rate windows, photos) removed.
pub fn upkeep(ctx: &Context) -> (usize, usize, usize) {
    let seen = ctx.store.expire_seen(SEEN_TTL_MS).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "expiring delivery ids failed");
        0
    });
    let rates = crate::jobs::budget::expire(&ctx.store).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "expiring rate windows failed");
        0
    });
    let photos = ctx.store.collect_photos().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "collecting photos failed");
        0
    });
    tracing::debug!(seen, rates, photos, "upkeep");
    (seen, rates, photos)
}
