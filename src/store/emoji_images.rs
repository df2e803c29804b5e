//! Emoji images for badges: the only writer of the `emoji_images` tree.
//!
//! A badge draws the status emoji's image, downloaded from Slack (the profile's
//! `status_emoji_display_info[].display_url`, or a custom emoji's `emoji.list` URL). They are
//! small (a few KB), so each is kept here by its URL: `url` → 8 bytes of when it was fetched
//! (unix ms, big-endian) then the image bytes. Slack gives a changed custom emoji a new URL;
//! the tree is emptied whenever the emoji cache is reloaded and upkeep drops entries older
//! than [`MAX_AGE_MS`], so an image is never kept stale for long.

use super::{now_ms, Store};

/// An emoji image is fetched again after this long (a week).
pub const MAX_AGE_MS: u64 = 7 * 24 * 3600 * 1000;

/// The largest emoji image kept (Slack's are a few KB; generate.rs refuses past 1 MiB).
pub const MAX_BYTES: usize = 1024 * 1024;

/// The image kept for `url`, if any (however old: upkeep evicts).
pub fn get(store: &Store, url: &str) -> anyhow::Result<Option<Vec<u8>>> {
    Ok(store.emoji_images.get(url.as_bytes())?.and_then(|v| v.get(8..).map(<[u8]>::to_vec)))
}

/// Keeps `bytes` for `url` (replacing what was there).
pub fn put(store: &Store, url: &str, bytes: &[u8]) -> anyhow::Result<()> {
    if bytes.len() > MAX_BYTES {
        anyhow::bail!("an emoji image of {} bytes is too large to keep", bytes.len());
    }
    let mut value = now_ms().to_be_bytes().to_vec();
    value.extend_from_slice(bytes);
    store.emoji_images.insert(url.as_bytes(), value)?;
    Ok(())
}

/// Drops every image (the emoji cache was reloaded: fetch them again when next needed).
pub fn clear(store: &Store) -> anyhow::Result<()> {
    store.emoji_images.clear()?;
    Ok(())
}

/// Drops images fetched more than `max_age_ms` ago; returns how many went.
pub fn evict_older(store: &Store, max_age_ms: u64) -> anyhow::Result<usize> {
    let now = now_ms();
    let mut n = 0;
    for kv in store.emoji_images.iter() {
        let (k, v) = kv?;
        let fetched = v.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_be_bytes).unwrap_or(0);
        if now.saturating_sub(fetched) > max_age_ms {
            store.emoji_images.remove(&k)?;
            n += 1;
        }
    }
    Ok(n)
}

/// How many images are kept.
pub fn count(store: &Store) -> usize {
    store.emoji_images.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_images_are_kept_by_url_cleared_and_evicted_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db")).unwrap();
        assert_eq!(get(&s, "https://a.slack-edge.com/x.png").unwrap(), None);
        put(&s, "https://a.slack-edge.com/x.png", b"png bytes").unwrap();
        assert_eq!(get(&s, "https://a.slack-edge.com/x.png").unwrap().as_deref(), Some(&b"png bytes"[..]));
        assert!(put(&s, "https://a.slack-edge.com/big.png", &vec![0u8; MAX_BYTES + 1]).is_err());
        assert_eq!(evict_older(&s, MAX_AGE_MS).unwrap(), 0, "a fresh image stays");
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(evict_older(&s, 1).unwrap(), 1, "an old one goes");
        put(&s, "https://a.slack-edge.com/y.png", b"y").unwrap();
        assert_eq!(count(&s), 1);
        clear(&s).unwrap();
        assert_eq!(count(&s), 0);
    }
}
