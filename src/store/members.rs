//! Writes of the `members` tree: every read-modify-write of a member's state runs
//! under that member's lock, taken here and never by callers.
//!
//! The lock makes "read, decide, write" one step for each member, so two events
//! (or an event and a command) for the same member never lose each other's
//! changes. It is a striped synchronous mutex, held only around store calls,
//! never across `.await`.

use std::sync::{Mutex, MutexGuard};

use super::{MemberState, Store};

/// How many locks the members share (by hash of the member id).
const STRIPES: usize = 64;

pub(crate) struct MemberLocks(Vec<Mutex<()>>);

impl Default for MemberLocks {
    fn default() -> Self {
        MemberLocks((0..STRIPES).map(|_| Mutex::new(())).collect())
    }
}

impl MemberLocks {
    fn lock(&self, member: &str) -> MutexGuard<'_, ()> {
        let idx = member.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % self.0.len();
        self.0[idx].lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One member's state while their lock is held (see [`Store::locked_member`]).
pub(crate) struct LockedMember<'a> {
    store: &'a Store,
    member: &'a str,
}

impl LockedMember<'_> {
    /// The member's state (the default when they have none yet).
    pub fn state(&self) -> anyhow::Result<MemberState> {
        self.store.member(self.member)
    }

    /// Changes the member's state with `f` and returns the result.
    pub fn update(&self, f: impl Fn(&mut MemberState)) -> anyhow::Result<MemberState> {
        let out = self.store.members.update(self.member, |old| {
            let mut m = old.unwrap_or_default();
            f(&mut m);
            Some(m)
        })?;
        Ok(out.unwrap_or_default())
    }
}

impl Store {
    /// Runs `f` with the member's lock held: what it reads and writes through the
    /// [`LockedMember`] is one step for that member. Synchronous work only, and no other
    /// member write from inside `f` (the lock is not re-entrant).
    pub(crate) fn locked_member<T>(&self, member: &str, f: impl FnOnce(&LockedMember<'_>) -> T) -> T {
        let _guard = self.member_locks.lock(member);
        f(&LockedMember { store: self, member })
    }

    /// Changes the member's state with `f` (under their lock) and returns the result.
    pub(crate) fn update_member(&self, member: &str, f: impl Fn(&mut MemberState)) -> anyhow::Result<MemberState> {
        self.locked_member(member, |m| m.update(f))
    }

    /// Reads the member's state, lets `f` decide and change it, and writes it back if it
    /// changed, all under the member's lock; returns what `f` returned.
    pub(crate) fn modify_member<T>(&self, member: &str, f: impl FnOnce(&mut MemberState) -> T) -> anyhow::Result<T> {
        self.locked_member(member, |m| {
            let before = m.state()?;
            let mut after = before.clone();
            let out = f(&mut after);
            if after != before {
                self.members.insert(member, &after)?;
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_changes_to_one_member_are_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db")).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        if i % 2 == 0 {
                            s.modify_member("U1", |m| m.last_limit_notice_ms += 1).unwrap();
                        } else {
                            s.update_member("U1", |m| m.last_limit_notice_ms += 1).unwrap();
                        }
                        s.locked_member("U1", |m| {
                            let n = m.state().unwrap().last_limit_notice_ms;
                            m.update(|m| m.last_limit_notice_ms = n + 1).unwrap();
                        });
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(s.member("U1").unwrap().last_limit_notice_ms, 8 * 50 * 2);
    }

    #[test]
    fn an_unchanged_member_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db")).unwrap();
        assert!(!s.modify_member("U1", |m| m.paused).unwrap());
        assert!(!s.members.contains("U1").unwrap(), "reading alone creates no record");
        assert!(!s.modify_member("U1", |m| std::mem::replace(&mut m.paused, true)).unwrap());
        assert!(s.member("U1").unwrap().paused);
    }
}
