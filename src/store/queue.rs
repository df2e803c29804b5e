//! The pending-work queue and the dead letters: the only module that writes
//! the `queue` and `dead_letter` trees.
//!
//! A member has at most one pending [`Job`]: their newest desired state. It is
//! written before the envelope that asked for it is acked, so a crash loses
//! nothing; a newer event replaces it (an older one never does). Waking the
//! runner is the caller's business (this layer knows no tasks).

use super::{member_prefix, now_ms, DeadJob, Desired, FailReason, Job, JobOrigin, Store, DEAD_PER_MEMBER};

/// Event timestamps ("1700000000.123456") compared numerically.
pub(crate) fn ts_key(ts: &str) -> (u64, u64) {
    let mut it = ts.splitn(2, '.');
    let secs = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let frac = it.next().map(|f| format!("{f:0<6}")).and_then(|f| f.get(..6).and_then(|x| x.parse().ok())).unwrap_or(0);
    (secs, frac)
}

/// True when `new` is not older than `old` (empty timestamps never lose).
pub(crate) fn is_newer_or_equal(new: &str, old: &str) -> bool {
    new.is_empty() || old.is_empty() || ts_key(new) >= ts_key(old)
}

/// Queues `desired` for `member`, replacing any older pending job. Returns
/// whether it replaced one (coalesced). Durable when it returns.
pub(crate) fn enqueue(
    store: &Store,
    member: &str,
    desired: Desired,
    event_ts: &str,
    envelope_id: Option<&str>,
    force: bool,
) -> anyhow::Result<bool> {
    enqueue_from(store, member, desired, event_ts, envelope_id, force, JobOrigin::Live)
}

/// [`enqueue`], marking the job with what queued it.
pub(crate) fn enqueue_from(
    store: &Store,
    member: &str,
    desired: Desired,
    event_ts: &str,
    envelope_id: Option<&str>,
    force: bool,
    origin: JobOrigin,
) -> anyhow::Result<bool> {
    let mut replaced = false;
    let now = now_ms();
    store.queue.update(member, |old| {
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
            origin,
            ..Job::new(member, desired.clone())
        })
    })?;
    Ok(replaced)
}

/// The pending job of one member, if any (a read error counts as none).
pub fn pending(store: &Store, member: &str) -> Option<Job> {
    store.queue.get(member).ok().flatten()
}

/// Whether the member has pending work.
pub(crate) fn is_pending(store: &Store, member: &str) -> anyhow::Result<bool> {
    store.queue.contains(member)
}

/// How many members have pending work.
pub fn depth(store: &Store) -> usize {
    store.queue.len()
}

/// How many dead letters are kept.
pub fn dead_count(store: &Store) -> usize {
    store.dead.len()
}

/// Every dead letter with its key, oldest member first, each member's oldest first.
pub(crate) fn all_dead(store: &Store) -> anyhow::Result<Vec<(Vec<u8>, DeadJob)>> {
    store.dead.iter()
}

/// The member's dead letters with their keys, oldest first.
pub fn dead_of(store: &Store, member: &str) -> anyhow::Result<Vec<(Vec<u8>, DeadJob)>> {
    store.dead.scan_prefix(member_prefix(member))
}

/// Now as a Slack timestamp ("1700000000.123000"): the time of a profile the bot read itself,
/// ordered against events' `event_ts` like any other.
pub(crate) fn now_ts() -> String {
    let ms = now_ms();
    format!("{}.{:06}", ms / 1000, (ms % 1000) * 1000)
}

/// Files a job that failed for good, keeping only the member's newest
/// [`DEAD_PER_MEMBER`] (a member whose token is broken fails every swap).
pub fn dead_letter(store: &Store, job: &Job, reason: impl Into<FailReason>) -> anyhow::Result<()> {
    // Both writes of one job (its name, then its photo) may be refused within a millisecond.
    let mut at = now_ms();
    while store.dead.contains(dead_key(&job.member, at))? {
        at += 1;
    }
    let key = dead_key(&job.member, at);
    store.dead.insert(key, &DeadJob { job: job.clone(), reason: reason.into(), at_ms: now_ms() })?;
    let keys: Vec<_> = store.dead.raw().scan_prefix(member_prefix(&job.member)).keys().collect::<Result<_, _>>()?;
    for k in keys.iter().take(keys.len().saturating_sub(DEAD_PER_MEMBER)) {
        store.dead.raw().remove(k)?;
    }
    Ok(())
}

/// A dead letter's key: the member, then the time (so a member's sort oldest first).
fn dead_key(member: &str, at_ms: u64) -> String {
    format!("{member}\0{at_ms:020}")
}

/// Forgets dead letters older than `max_age_ms`; returns how many went.
pub(crate) fn expire_dead(store: &Store, max_age_ms: u64) -> anyhow::Result<usize> {
    store.dead.remove_older(max_age_ms, |d| d.at_ms)
}

/// Removes and returns the member's pending job (their work stops).
pub fn take(store: &Store, member: &str) -> anyhow::Result<Option<Job>> {
    store.queue.remove(member)
}

/// Removes `job` if it is still the member's pending one (a newer job stays).
pub(crate) fn remove_if_unchanged(store: &Store, job: &Job) -> anyhow::Result<()> {
    store.queue.update(&job.member, |cur| match cur {
        Some(c) if &c == job => None,
        other => other,
    })?;
    Ok(())
}

/// Puts `job` off until `at` (unix ms) if it is still the pending one; an `attempt` counts
/// towards the retry limit and records `error`.
pub(crate) fn retry_later(store: &Store, job: &Job, at: u64, error: Option<String>, attempt: bool) -> anyhow::Result<()> {
    store.queue.update(&job.member, |cur| match cur {
        Some(mut c) if &c == job => {
            c.not_before_ms = at;
            if attempt {
                c.attempts += 1;
                c.last_error = error.clone();
            }
            Some(c)
        }
        other => other,
    })?;
    Ok(())
}

/// Drops the member's pending job unless it is forced (a `restore` runs even while paused).
pub(crate) fn keep_only_forced(store: &Store, member: &str) -> anyhow::Result<()> {
    store.queue.update(member, |j| j.filter(|j| j.force))?;
    Ok(())
}

/// Every pending job (a job that no longer decodes is skipped).
pub(crate) fn all_pending(store: &Store) -> anyhow::Result<Vec<Job>> {
    Ok(store.queue.iter()?.into_iter().map(|(_, j)| j).collect())
}

/// Puts the dead letter under `key` back in the queue, fresh, unless the member has newer
/// pending work (which wins); the dead letter goes either way. Returns whether it was queued.
pub(crate) fn requeue(store: &Store, key: &[u8], dead: &DeadJob) -> anyhow::Result<bool> {
    let mut job = dead.job.clone();
    job.attempts = 0;
    job.not_before_ms = 0;
    job.last_error = None;
    let queued = store.queue.get(&job.member)?.is_none();
    if queued {
        store.queue.insert(&job.member, &job)?;
    }
    store.dead.raw().remove(key)?;
    Ok(queued)
}

/// Forgets the dead letter under `key`.
pub(crate) fn drop_dead(store: &Store, key: &[u8]) -> anyhow::Result<()> {
    store.dead.raw().remove(key)?;
    Ok(())
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
        let now = now_ts();
        assert!(is_newer_or_equal(&now, "1700000000.1"), "{now}");
        assert_eq!(ts_key(&now).0, now_ms() / 1000);
    }
}
