//! Status-expiry timers: the only writer of the `timers` tree.
//!
//! While a member's preset shows for a status that clears itself (`status_expiration`), the
//! member has one [`ExpiryTimer`]: the status emoji and when it expires. It is durable, so a
//! restart keeps it and an overdue one fires right after start-up. Any other status the bot
//! observes cancels or replaces it; the expiry job removes it once handled. Waking that job
//! is the caller's business (this layer knows no tasks).

use serde::{Deserialize, Serialize};

use super::Store;

/// One pending status expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryTimer {
    /// The canonical status emoji whose preset shows until then.
    pub emoji: String,
    /// When Slack clears the status (unix ms).
    pub(crate) expires_at_ms: u64,
}

/// Keeps `member`'s timer for `emoji` expiring at `expires_at_ms`, replacing any other.
/// Returns whether anything changed (a new or moved timer: the expiry job should look again).
pub(crate) fn arm(store: &Store, member: &str, emoji: &str, expires_at_ms: u64) -> anyhow::Result<bool> {
    let wanted = ExpiryTimer { emoji: emoji.to_string(), expires_at_ms };
    let mut changed = false;
    store.timers.update(member, |old| {
        changed = old.as_ref() != Some(&wanted);
        Some(wanted.clone())
    })?;
    Ok(changed)
}

/// Forgets `member`'s timer; returns whether there was one.
pub(crate) fn cancel(store: &Store, member: &str) -> anyhow::Result<bool> {
    // A read first: most observed profiles have no timer, and a read costs no write.
    if !store.timers.contains(member)? {
        return Ok(false);
    }
    Ok(store.timers.remove(member)?.is_some())
}

/// Removes `member`'s timer if it is still `timer` (one re-armed meanwhile stays).
pub(crate) fn remove_if_unchanged(store: &Store, member: &str, timer: &ExpiryTimer) -> anyhow::Result<()> {
    store.timers.update(member, |cur| cur.filter(|c| c != timer))?;
    Ok(())
}

/// The member's pending timer, if any (a read error counts as none).
pub fn get(store: &Store, member: &str) -> Option<ExpiryTimer> {
    store.timers.get(member).ok().flatten()
}

/// Every timer due at `now_ms` (expiring then or before), earliest first.
pub fn due(store: &Store, now_ms: u64) -> anyhow::Result<Vec<(String, ExpiryTimer)>> {
    let mut out: Vec<(String, ExpiryTimer)> = store
        .timers
        .iter()?
        .into_iter()
        .filter(|(_, t)| t.expires_at_ms <= now_ms)
        .map(|(k, t)| (String::from_utf8_lossy(&k).into_owned(), t))
        .collect();
    out.sort_by_key(|(_, t)| t.expires_at_ms);
    Ok(out)
}

/// When the earliest timer still to come after `now_ms` expires.
pub(crate) fn next_due(store: &Store, now_ms: u64) -> anyhow::Result<Option<u64>> {
    Ok(store.timers.iter()?.into_iter().map(|(_, t)| t.expires_at_ms).filter(|at| *at > now_ms).min())
}

/// How many timers are pending.
pub fn count(store: &Store) -> usize {
    store.timers.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database in `dir` (opened again by the restart test).
    fn open(dir: &tempfile::TempDir) -> Store {
        Store::open(&dir.path().join("db")).unwrap()
    }

    #[test]
    fn a_member_has_one_timer_the_newest_armed() {
        let dir = tempfile::tempdir().unwrap();
        let s = open(&dir);
        assert!(arm(&s, "U1", "spiral_calendar_pad", 5_000).unwrap());
        assert!(!arm(&s, "U1", "spiral_calendar_pad", 5_000).unwrap(), "the same timer again changes nothing");
        assert!(arm(&s, "U1", "spiral_calendar_pad", 9_000).unwrap(), "a later expiration moves it");
        assert!(arm(&s, "U1", "palm_tree", 9_000).unwrap(), "another emoji replaces it");
        assert_eq!(get(&s, "U1"), Some(ExpiryTimer { emoji: "palm_tree".into(), expires_at_ms: 9_000 }));
        assert_eq!(count(&s), 1);
        assert!(cancel(&s, "U1").unwrap());
        assert!(!cancel(&s, "U1").unwrap());
        assert_eq!(get(&s, "U1"), None);
    }

    #[test]
    fn due_and_next_due_split_at_now() {
        let dir = tempfile::tempdir().unwrap();
        let s = open(&dir);
        arm(&s, "U3", "car", 3_000).unwrap();
        arm(&s, "U1", "car", 1_000).unwrap();
        arm(&s, "U2", "car", 2_000).unwrap();
        let due_at_2000: Vec<_> = due(&s, 2_000).unwrap().into_iter().map(|(m, _)| m).collect();
        assert_eq!(due_at_2000, vec!["U1", "U2"], "earliest first, the one expiring now included");
        assert_eq!(next_due(&s, 2_000).unwrap(), Some(3_000));
        assert_eq!(next_due(&s, 0).unwrap(), Some(1_000));
        assert_eq!(next_due(&s, 3_000).unwrap(), None);
        assert!(due(&s, 999).unwrap().is_empty());
    }

    #[test]
    fn handling_a_timer_keeps_one_re_armed_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let s = open(&dir);
        arm(&s, "U1", "car", 1_000).unwrap();
        let fired = get(&s, "U1").unwrap();
        arm(&s, "U1", "car", 60_000).unwrap();
        remove_if_unchanged(&s, "U1", &fired).unwrap();
        assert_eq!(get(&s, "U1").map(|t| t.expires_at_ms), Some(60_000));
        let now = get(&s, "U1").unwrap();
        remove_if_unchanged(&s, "U1", &now).unwrap();
        assert_eq!(get(&s, "U1"), None);
    }

    #[test]
    fn timers_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = open(&dir);
            arm(&s, "U1", "car", 1_000).unwrap();
            s.flush_blocking().unwrap();
        }
        let s = open(&dir);
        assert_eq!(get(&s, "U1"), Some(ExpiryTimer { emoji: "car".into(), expires_at_ms: 1_000 }));
    }
}
