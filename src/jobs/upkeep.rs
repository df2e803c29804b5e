//! Background upkeep in one loop: the emoji list at start-up and nightly at
//! `[schedule] emoji_refresh_hour` (local time),
//! expiry of dedupe ids, idle rate windows, unreferenced photos, stale cached
//! profiles, old dead letters, spent sign-in states and week-old badge emoji images; the Slack
//! files of collected photos are deleted (`files.delete`, best effort).
//! Each task is bounded (a pass over one tree) and logs what it removed.

use std::sync::Arc;
use std::time::Duration;

use crate::context::Context;
use crate::emoji::cache::refresh_emoji;

/// Delivery ids are kept this long: Slack retries for minutes, restarts take seconds.
pub const SEEN_TTL_MS: u64 = 2 * 3600 * 1000;
/// A cached profile nobody touched for a week goes (one `users.info` brings it back).
pub const AVATAR_TTL_MS: u64 = 7 * 24 * 3600 * 1000;
/// Dead letters are for an operator to look at; a month is long enough.
pub const DEAD_TTL_MS: u64 = 30 * 24 * 3600 * 1000;
const TICK: Duration = Duration::from_secs(600);
/// Never refresh the emoji list twice in one night.
const EMOJI_MIN_GAP: Duration = Duration::from_secs(20 * 3600);

pub async fn run(ctx: Arc<Context>) {
    refresh_emoji(&ctx.slack, &ctx.emoji).await;
    let mut last_emoji = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = ctx.shutdown.wait() => return,
        }
        upkeep(&ctx);
        delete_orphaned_files(&ctx).await;
        if last_emoji.elapsed() >= EMOJI_MIN_GAP && local_hour() == Some(ctx.config.schedule.emoji_refresh_hour) {
            refresh_emoji(&ctx.slack, &ctx.emoji).await;
            last_emoji = tokio::time::Instant::now();
        }
    }
}

/// Deletes on Slack the files of the photos collected (`files.delete`, best effort; see
/// [`crate::gallery`]); returns how many went.
pub async fn delete_orphaned_files(ctx: &Context) -> usize {
    let n = crate::gallery::delete_orphans(&ctx.store, &ctx.slack).await;
    if n > 0 {
        tracing::info!(files = n, "deleted the Slack files of collected photos");
    }
    n
}

/// The hour of the day in the machine's local time zone (jiff finds the system
/// time zone itself: `TZ`, else `/etc/localtime`, else UTC).
fn local_hour() -> Option<u8> {
    let now = jiff::Zoned::try_from(std::time::SystemTime::now()).ok()?;
    u8::try_from(now.hour()).ok()
}

/// What one pass of [`upkeep`] removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Upkeep {
    pub seen: usize,
    pub rates: usize,
    pub photos: usize,
    pub avatars: usize,
    pub dead: usize,
    pub oauth_states: usize,
    pub emoji_images: usize,
}

/// One pass of expiry over every tree that grows with traffic rather than with members'
/// settings (tests/soak.rs shows each levels off).
pub fn upkeep(ctx: &Context) -> Upkeep {
    fn count(what: &str, r: anyhow::Result<usize>) -> usize {
        r.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "expiring {what} failed");
            0
        })
    }
    let s = &ctx.store;
    let done = Upkeep {
        seen: count("delivery ids", s.expire_seen(SEEN_TTL_MS)),
        rates: count("rate windows", crate::jobs::budget::expire(s)),
        photos: count("photos", s.collect_photos().map(|c| c.photos)),
        avatars: count("cached profiles", s.expire_avatars(AVATAR_TTL_MS)),
        dead: count("dead letters", crate::store::queue::expire_dead(s, DEAD_TTL_MS)),
        oauth_states: count("sign-in states", crate::store::oauth_states::expire_states(s)),
        emoji_images: count("emoji images", crate::store::emoji_images::evict_older(s, crate::store::emoji_images::MAX_AGE_MS)),
    };
    tracing::debug!(?done, "upkeep");
    done
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_hour_is_an_hour() {
        assert!(super::local_hour().is_some_and(|h| h < 24));
    }
}
