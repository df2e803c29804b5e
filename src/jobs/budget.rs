//! Sliding-window budgets kept in the store, so a restart does not forget
//! how many calls were just spent: per-member profile updates (Slack allows
//! 10 a minute), app-wide `users.setPhoto` (Tier 2) and per-member commands.

use crate::store::{now_ms, RateWindow, Store};

pub(crate) const WINDOW_MS: u64 = 60_000;

pub fn profile_key(member: &str) -> String {
    format!("profile:{member}")
}

pub(crate) const PHOTO_KEY: &str = "app:users.setPhoto";

/// The window of the app's `users.setPhoto` budget: a minute, and a margin for the time between
/// taking a use and Slack receiving the call (a flush comes between), so that in any minute Slack
/// counts no more calls than the limit.
pub(crate) const PHOTO_WINDOW_MS: u64 = WINDOW_MS + 2_000;

pub fn command_key(member: &str) -> String {
    format!("command:{member}")
}

/// Uses in the last minute.
pub fn used(store: &Store, key: &str) -> anyhow::Result<usize> {
    let now = now_ms();
    Ok(store.rates.get(key)?.map(|w| w.stamps.iter().filter(|t| now.saturating_sub(**t) < WINDOW_MS).count()).unwrap_or(0))
}

/// When `n` more uses fit under `limit` (now, if they already fit).
pub(crate) fn available_at(store: &Store, key: &str, limit: u32, n: u32) -> anyhow::Result<u64> {
    let now = now_ms();
    let mut stamps: Vec<u64> = store.rates.get(key)?.map(|w| w.stamps).unwrap_or_default();
    stamps.retain(|t| now.saturating_sub(*t) < WINDOW_MS);
    stamps.sort_unstable();
    let limit = limit as usize;
    let n = n as usize;
    if stamps.len() + n <= limit {
        return Ok(now);
    }
    // The oldest stamps must age out until n fit.
    let must_expire = stamps.len() + n - limit;
    let idx = must_expire.min(stamps.len()).saturating_sub(1);
    Ok(stamps.get(idx).map(|t| t + WINDOW_MS).unwrap_or(now))
}

/// Records `n` uses now (old stamps are dropped as we go: no unbounded growth).
pub fn spend(store: &Store, key: &str, n: u32) -> anyhow::Result<()> {
    let now = now_ms();
    store.rates.update(key, |old| {
        let mut w = old.unwrap_or_default();
        w.stamps.retain(|t| now.saturating_sub(*t) < WINDOW_MS);
        w.stamps.extend(std::iter::repeat_n(now, n as usize));
        Some(w)
    })?;
    Ok(())
}

/// Takes one use of `key` if it fits under `limit` uses in `window_ms`, in one step (jobs running
/// at once cannot all take the last one): `Ok`, or `Err` with when one will fit.
pub(crate) fn take_or_wait(store: &Store, key: &str, limit: u32, window_ms: u64) -> anyhow::Result<Result<(), u64>> {
    let now = now_ms();
    let mut out = Ok(());
    store.rates.update(key, |old| {
        let mut w = old.unwrap_or_default();
        w.stamps.retain(|t| now.saturating_sub(*t) < window_ms);
        w.stamps.sort_unstable();
        let limit = (limit as usize).max(1);
        out = match w.stamps.len().checked_sub(limit) {
            // The oldest uses must age out until one fits.
            Some(over) => Err(w.stamps.get(over).map_or(now, |t| t + window_ms)),
            None => {
                w.stamps.push(now);
                Ok(())
            }
        };
        Some(w)
    })?;
    Ok(out)
}

/// Takes one use if it fits; false when over the limit.
pub fn try_take(store: &Store, key: &str, limit: u32) -> anyhow::Result<bool> {
    let now = now_ms();
    let mut ok = false;
    store.rates.update(key, |old| {
        let mut w: RateWindow = old.unwrap_or_default();
        w.stamps.retain(|t| now.saturating_sub(*t) < WINDOW_MS);
        ok = w.stamps.len() < limit as usize;
        if ok {
            w.stamps.push(now);
        }
        Some(w)
    })?;
    Ok(ok)
}

/// Drops windows with no recent use.
pub fn expire(store: &Store) -> anyhow::Result<usize> {
    let now = now_ms();
    let mut n = 0;
    for (k, w) in store.rates.iter()? {
        if w.stamps.iter().all(|t| now.saturating_sub(*t) >= WINDOW_MS) {
            store.rates.raw().remove(k)?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taking_a_use_is_one_step_and_says_when_the_next_fits() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db")).unwrap();
        for _ in 0..3 {
            assert_eq!(take_or_wait(&s, "k", 3, 10_000).unwrap(), Ok(()));
        }
        let first = s.rates.get("k").unwrap().unwrap().stamps[0];
        for _ in 0..2 {
            assert_eq!(take_or_wait(&s, "k", 3, 10_000).unwrap(), Err(first + 10_000), "full: nothing more is taken");
        }
        assert_eq!(s.rates.get("k").unwrap().unwrap().stamps.len(), 3);
    }

    #[test]
    fn window_limits_and_availability() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db")).unwrap();
        let k = profile_key("U1");
        assert_eq!(used(&s, &k).unwrap(), 0);
        spend(&s, &k, 9).unwrap();
        assert!(available_at(&s, &k, 10, 1).unwrap() <= now_ms());
        assert!(available_at(&s, &k, 10, 2).unwrap() > now_ms() + 50_000);
        assert!(try_take(&s, &k, 10).unwrap());
        assert!(!try_take(&s, &k, 10).unwrap());
        assert_eq!(used(&s, &k).unwrap(), 10);
    }
}
