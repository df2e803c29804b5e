//! The durable, coalescing work queue and the runner that applies it.
//!
//! A member has at most one pending [`Job`]: their newest desired state. It is
//! written to the store before the envelope that asked for it is acked, so a
//! crash loses nothing; a newer event replaces it (an older one never does).
//! The runner picks ready jobs oldest first, at most one per member and a few
//! at a time, so one member's burst cannot starve the others.

pub mod budget;
pub mod catch_up;
pub mod expiry;
pub mod swap;
pub mod token_refresh;
pub mod upkeep;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::context::Context;
use crate::store::{now_ms, queue, Desired, Job};

/// How many members are worked on at once.
const PARALLEL: usize = 4;

/// Queues `desired` for `member` (see [`queue::enqueue`]) and wakes the runner.
pub(crate) fn enqueue(
    ctx: &Context,
    member: &str,
    desired: Desired,
    event_ts: &str,
    envelope_id: Option<&str>,
    force: bool,
) -> anyhow::Result<bool> {
    let replaced = queue::enqueue(&ctx.store, member, desired, event_ts, envelope_id, force)?;
    ctx.work.notify_one();
    Ok(replaced)
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
        let jobs = match queue::all_pending(&ctx.store) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(error = %e, "reading the queue failed");
                Vec::new()
            }
        };
        let mut ready: Vec<Job> = Vec::new();
        for job in jobs {
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
