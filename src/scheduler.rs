//! Background upkeep in one loop: the emoji list at start-up and nightly at
//! `[schedule] emoji_refresh_hour` (local time),
//! expiry of dedupe ids and idle rate windows, and unreferenced photos.
//! Each task is bounded (a pass over one tree) and logs what it removed.

use std::sync::Arc;
use std::time::Duration;

use crate::context::Context;

/// Delivery ids are kept this long: Slack retries for minutes, restarts take seconds.
pub const SEEN_TTL_MS: u64 = 2 * 3600 * 1000;
const TICK: Duration = Duration::from_secs(600);
/// Never refresh the emoji list twice in one night.
const EMOJI_MIN_GAP: Duration = Duration::from_secs(20 * 3600);

pub async fn run(ctx: Arc<Context>) {
    crate::app::refresh_emoji(&ctx).await;
    let mut last_emoji = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = ctx.shutdown.wait() => return,
        }
        upkeep(&ctx);
        if last_emoji.elapsed() >= EMOJI_MIN_GAP && local_hour() == Some(ctx.config.schedule.emoji_refresh_hour) {
            crate::app::refresh_emoji(&ctx).await;
            last_emoji = tokio::time::Instant::now();
        }
    }
}

/// The hour of the day in the machine's local time zone.
fn local_hour() -> Option<u8> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as libc::time_t;
    // SAFETY: localtime_r writes only into the tm we own; both pointers are valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&now, &mut tm).is_null() };
    ok.then_some(tm.tm_hour as u8)
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

#[cfg(test)]
mod tests {
    #[test]
    fn local_hour_is_an_hour() {
        assert!(super::local_hour().is_some_and(|h| h < 24));
    }
}
