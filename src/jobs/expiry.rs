//! Status expiry: when a status with a `status_expiration` runs out, Slack may say nothing, so
//! the bot looks itself. The durable timers of `store::timers` (armed by `members::observe`
//! while a preset shows for an expiring status) are slept on; when one comes due, the member's
//! profile is re-read and observed like any event: a status that is gone or expired puts the
//! baseline back, the same status with a later expiration re-arms the timer. Members without an
//! expiring status cost nothing: no timer, no read.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::context::Context;
use crate::store::now_ms;
use crate::store::timers::{self, ExpiryTimer};

/// The first wait after a failed re-read; each further failure doubles it up to [`RETRY_MAX`].
pub(crate) const RETRY_FIRST: Duration = Duration::from_secs(30);
pub(crate) const RETRY_MAX: Duration = Duration::from_secs(600);
/// The longest sleep between two looks at the timers (a wake-up is never needed for this).
const IDLE: Duration = Duration::from_secs(300);

/// Members whose last re-read failed: when to try again and the wait after that.
#[derive(Debug, Default)]
struct Retries(HashMap<String, (u64, Duration)>);

impl Retries {
    fn waiting(&self, member: &str, now: u64) -> bool {
        self.0.get(member).is_some_and(|(at, _)| *at > now)
    }

    /// Puts the member off; returns how long.
    fn failed(&mut self, member: &str, now: u64) -> Duration {
        let wait = self.0.get(member).map_or(RETRY_FIRST, |(_, next)| *next);
        self.0.insert(member.to_string(), (now + wait.as_millis() as u64, (wait * 2).min(RETRY_MAX)));
        wait
    }

    fn succeeded(&mut self, member: &str) {
        self.0.remove(member);
    }

    /// Forgets members whose timer is no longer due (cancelled or re-armed meanwhile).
    fn keep_only(&mut self, due: &[(String, ExpiryTimer)]) {
        self.0.retain(|m, _| due.iter().any(|(d, _)| d == m));
    }

    /// The earliest retry still to come.
    fn next(&self, now: u64) -> Option<u64> {
        self.0.values().map(|(at, _)| *at).filter(|at| *at > now).min()
    }
}

/// Runs until shutdown: handles due timers, then sleeps until the next one (or until a timer
/// is armed: `Context::expiry`). An overdue timer found at start-up fires at once.
pub async fn run(ctx: Arc<Context>) {
    let mut retries = Retries::default();
    loop {
        if ctx.shutdown.is_triggered() {
            break;
        }
        let now = now_ms();
        let due = timers::due(&ctx.store, now).unwrap_or_else(|e| {
            tracing::error!(error = %e, "reading the expiry timers failed");
            Vec::new()
        });
        retries.keep_only(&due);
        for (member, timer) in due {
            if retries.waiting(&member, now) {
                continue;
            }
            let span = tracing::info_span!("expiry", member = %member);
            let outcome = tokio::select! {
                r = tracing::Instrument::instrument(fire(&ctx, &member, &timer), span.clone()) => r,
                _ = ctx.shutdown.wait() => return,
            };
            match outcome {
                Ok(()) => retries.succeeded(&member),
                Err(e) => {
                    let wait = retries.failed(&member, now_ms());
                    span.in_scope(
                        || tracing::warn!(error = %format!("{e:#}"), retry_in_s = wait.as_secs(), "re-reading an expired status failed"),
                    );
                }
            }
        }
        let now = now_ms();
        let next = timers::next_due(&ctx.store, now).ok().flatten().into_iter().chain(retries.next(now)).min();
        let wait = next.map_or(IDLE, |at| Duration::from_millis(at.saturating_sub(now))).min(IDLE);
        tokio::select! {
            _ = ctx.expiry.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = ctx.shutdown.wait() => break,
        }
    }
}

/// One due timer: re-read the member's profile and observe it (an expired or cleared status
/// queues the baseline; the same status with a later expiration re-arms the timer), then
/// forget the timer unless it was re-armed. On disk before the timer counts as handled.
async fn fire(ctx: &Context, member: &str, timer: &ExpiryTimer) -> anyhow::Result<()> {
    tracing::info!(emoji = timer.emoji.as_str(), expires_at_ms = timer.expires_at_ms, "status expired: re-reading the profile");
    let observed = crate::members::read_and_observe(&ctx.member_deps(), member).await?;
    timers::remove_if_unchanged(&ctx.store, member, timer)?;
    ctx.store.flush().await?;
    ctx.telemetry.expiry_handled();
    tracing::info!(
        queued = observed.is_some_and(|o| o.queued),
        rearmed = timers::get(&ctx.store, member).is_some(),
        "status expiry handled"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_re_reads_back_off_and_never_spin() {
        let mut r = Retries::default();
        assert!(!r.waiting("U1", 0));
        assert_eq!(r.failed("U1", 0), RETRY_FIRST);
        assert!(r.waiting("U1", 29_999));
        assert!(!r.waiting("U1", 30_000));
        assert_eq!(r.next(0), Some(30_000));
        assert_eq!(r.failed("U1", 30_000), RETRY_FIRST * 2);
        for _ in 0..10 {
            r.failed("U1", 0);
        }
        assert_eq!(r.failed("U1", 0), RETRY_MAX, "the wait is capped");
        r.succeeded("U1");
        assert!(!r.waiting("U1", 0));
        assert_eq!(r.next(0), None);
        r.failed("U2", 0);
        r.keep_only(&[]);
        assert!(!r.waiting("U2", 0), "a member whose timer went is forgotten");
    }
}
