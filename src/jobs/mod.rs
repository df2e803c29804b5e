//! The durable, coalescing work queue and the runner that applies it.
//!
//! A member has at most one pending [`Job`]: their newest desired state. It is
//! written to the store before the envelope that asked for it is acked, so a
//! crash loses nothing; a newer event replaces it (an older one never does).
//! The runner picks ready jobs oldest first, at most one per member and a few
//! at a time, so one member's burst cannot starve the others.

pub mod budget;
pub mod swap;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::context::Context;
use crate::store::{now_ms, Desired, Job};

/// How many members are worked on at once.
const PARALLEL: usize = 4;

/// Event timestamps ("1700000000.123456") compared numerically.
pub fn ts_key(ts: &str) -> (u64, u64) {
    let mut it = ts.splitn(2, '.');
    let secs = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let frac = it.next().map(|f| format!("{f:0<6}")).and_then(|f| f.get(..6).and_then(|x| x.parse().ok())).unwrap_or(0);
    (secs, frac)
}

/// True when `new` is not older than `old` (empty timestamps never lose).
pub fn is_newer_or_equal(new: &str, old: &str) -> bool {
    new.is_empty() || old.is_empty() || ts_key(new) >= ts_key(old)
}

/// Queues `desired` for `member`, replacing any older pending job. Returns
/// whether it replaced one (coalesced). Durable when it returns.
pub fn enqueue(
    ctx: &Context,
    member: &str,
    desired: Desired,
    event_ts: &str,
    envelope_id: Option<&str>,
    force: bool,
) -> anyhow::Result<bool> {
    let mut replaced = false;
    let now = now_ms();
    ctx.store.queue.update(member, |old| {
        replaced = old.is_some();
        if let Some(o) = &old {
            if !is_newer_or_equal(event_ts, &o.event_ts) {
                return old;
            }
        }
        Some(Job {
            event_ts: event_ts.to_string(),
            envelope_id: envelope_id.map(str::to_string),
            enqueued_ms: now,
            force: force || old.as_ref().is_some_and(|o| o.force && o.desired == desired),
            coalesced: old.is_some(),
            ..Job::new(member, desired.clone())
        })
    })?;
    ctx.work.notify_one();
    Ok(replaced)
}

/// Pending jobs for one member (0 or 1).
pub fn pending(ctx: &Context, member: &str) -> Option<Job> {
    ctx.store.queue.get(member).ok().flatten()
}

/// Runs jobs until shutdown. In-flight jobs finish (or are left queued) before it returns.
pub async fn run(ctx: Arc<Context>) {
    let busy: Arc<Mutex<HashSet<String>>> = Arc::default();
    let permits = Arc::new(Semaphore::new(PARALLEL));
    loop {
        if ctx.shutdown.is_triggered() {
            break;
        }
        let now = now_ms();
        let mut next_wake = now + 60_000;
        let jobs = match ctx.store.queue.iter() {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(error = %e, "reading the queue failed");
                Vec::new()
            }
        };
        let mut ready: Vec<Job> = Vec::new();
        for (_, job) in jobs {
            if busy.lock().unwrap_or_else(|e| e.into_inner()).contains(&job.member) {
                continue;
            }
            if job.not_before_ms > now {
                next_wake = next_wake.min(job.not_before_ms);
            } else {
                ready.push(job);
            }
        }
        ready.sort_by_key(|j| (j.attempts, j.enqueued_ms));
        for job in ready {
            let Ok(permit) = permits.clone().try_acquire_owned() else { break };
            busy.lock().unwrap_or_else(|e| e.into_inner()).insert(job.member.clone());
            let ctx2 = ctx.clone();
            let busy2 = busy.clone();
            tokio::spawn(async move {
                let member = job.member.clone();
                let span = tracing::info_span!("job", member = %member, envelope_id = job.envelope_id.as_deref().unwrap_or(""));
                swap::run_job(&ctx2, job, span).await;
                busy2.lock().unwrap_or_else(|e| e.into_inner()).remove(&member);
                drop(permit);
                ctx2.work.notify_one();
            });
        }
        let wait = Duration::from_millis(next_wake.saturating_sub(now_ms()).clamp(5, 60_000));
        tokio::select! {
            _ = ctx.work.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = ctx.shutdown.wait() => break,
        }
    }
    // Let jobs already talking to Slack finish; queued ones stay for the next start.
    let _ = tokio::time::timeout(Duration::from_secs(10), permits.acquire_many(PARALLEL as u32)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_compare_numerically() {
        assert!(ts_key("1700000000.5") > ts_key("1700000000.123456"));
        assert!(ts_key("1700000001.000001") > ts_key("1700000000.999999"));
        assert!(is_newer_or_equal("", "1700000000.1"));
        assert!(!is_newer_or_equal("1600000000.1", "1700000000.1"));
    }
}
