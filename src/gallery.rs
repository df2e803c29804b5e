//! The photos the App Home tab shows (SPEC, "App Home shows the photos"): each processed photo
//! is uploaded to Slack once and shown by its file id (a `slack_file`), and a generated preset
//! (badge, frame) shows a preview drawn from the member's current photo.
//!
//! A photo's file is kept beside it (`store/photo_files.rs`) and reused by every publish and
//! after restarts. A publish Slack refuses for a file it no longer knows makes
//! [`Gallery::forget_missing`] ask `files.info` about each file the view used and forget the
//! ones Slack does not know, so the next attempt uploads them again (once per publish: the view
//! then falls back to text). An upload refused for good (the `files:write` scope missing, a dead
//! bot token) pauses uploads for an hour with one warning, so Home keeps publishing, as text.
//! Orphaned files (their photo collected) are deleted on Slack by [`delete_orphans`].

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::emoji::EmojiCache;
use crate::photo::{PhotoGate, PhotoLimits};
use crate::slack::{ApiError, SlackClient};
use crate::store::photo_files::{self, Preview};
use crate::store::{photo_hash, CachedProfile, Design, MemberState, Store};

/// How long uploads stay off after Slack refused one for good.
const PAUSE: Duration = Duration::from_secs(3600);

/// Orphaned files Slack would not delete are given up on after this long (a week).
const ORPHAN_GIVE_UP_MS: u64 = 7 * 24 * 3600 * 1000;

/// Whether uploads are on: off for [`PAUSE`] after Slack refused one for good. In memory (a
/// restart tries again, which is what an operator who just added the scope wants).
#[derive(Default)]
pub(crate) struct Uploads {
    paused_until: Mutex<Option<Instant>>,
}

impl Uploads {
    fn paused(&self) -> bool {
        let mut until = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        match *until {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }

    /// Pauses uploads; true when they were on (so the caller warns once per pause).
    fn pause(&self) -> bool {
        let mut until = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        let was_on = until.is_none_or(|t| Instant::now() >= t);
        *until = Some(Instant::now() + PAUSE);
        was_on
    }
}

/// What showing photos needs: the handles, not the whole context.
pub(crate) struct Gallery<'a> {
    pub store: &'a Store,
    pub slack: &'a SlackClient,
    pub photos: &'a PhotoGate,
    pub limits: PhotoLimits,
    pub emoji: &'a EmojiCache,
    pub uploads: &'a Uploads,
}

impl Gallery<'_> {
    /// The Slack file showing photo `hash`: the one uploaded before, else uploaded now with
    /// `alt` as its screen-reader text. None when there is none (the row shows text instead).
    pub(crate) async fn file_for(&self, hash: &str, alt: &str) -> Option<String> {
        match photo_files::file_of(self.store, hash) {
            Ok(Some(f)) => return Some(f.id),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "reading a photo's Slack file failed");
                return None;
            }
        }
        if self.uploads.paused() {
            return None;
        }
        let bytes = match self.store.photo(hash) {
            Ok(Some(b)) => b,
            Ok(None) => return None,
            Err(e) => {
                tracing::error!(error = %e, "reading a photo failed");
                return None;
            }
        };
        let name = format!("preset-{}.jpg", hash.get(..12).unwrap_or(hash));
        match self.slack.upload_file(bytes, &name, "statusinator preset photo", alt).await {
            Ok(id) => {
                tracing::info!(file = %id, "photo uploaded for the App Home tab");
                match photo_files::put_file(self.store, hash, &id) {
                    Ok(shown) => Some(shown),
                    Err(e) => {
                        tracing::error!(error = %e, "keeping a photo's Slack file failed");
                        Some(id)
                    }
                }
            }
            Err(e) => {
                self.refused(&e);
                None
            }
        }
    }

    fn refused(&self, e: &ApiError) {
        if !e.is_permanent() {
            tracing::warn!(error = %e, "uploading a photo for the App Home tab failed; the next publish tries again");
        } else if self.uploads.pause() {
            let hint = if e.code() == "missing_scope" { " (add the files:write bot scope: `statusinator manifest`)" } else { "" };
            tracing::warn!(error = %e, "Slack refused a photo upload{hint}; App Home shows text for the next hour");
        }
    }

    /// After a publish Slack refused: asks `files.info` about each of `files` (photo hash, file
    /// id) and forgets those Slack no longer knows, so the next [`Self::file_for`] uploads them
    /// again. Returns how many were forgotten.
    pub(crate) async fn forget_missing(&self, files: &[(String, String)]) -> usize {
        let mut n = 0;
        for (hash, id) in files {
            match self.slack.files_info(id).await {
                Ok(_) => {}
                // file_not_found, file_deleted, …: Slack does not have it (any more).
                Err(ApiError::Slack(code)) => {
                    tracing::info!(file = %id, code = %code, "a photo's Slack file is gone; it is uploaded again");
                    if let Err(e) = photo_files::forget_file(self.store, hash, id) {
                        tracing::error!(error = %e, "forgetting a photo's Slack file failed");
                    }
                    n += 1;
                }
                Err(e) => tracing::warn!(error = %e, "could not ask Slack about a photo's file"),
            }
        }
        n
    }

    /// The photo `member`'s generated `emoji` preset shows in their Home tab, drawn from their
    /// current photo and reused while its inputs are unchanged (see [`Preview`]). None when it
    /// cannot be drawn now (no photo to draw from, the emoji image unknown).
    pub(crate) async fn preview(
        &self,
        member: &str,
        state: &MemberState,
        cached: Option<&CachedProfile>,
        emoji: &str,
        design: &Design,
    ) -> Option<String> {
        match self.preview_inner(member, state, cached, emoji, design).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "drawing a preview for the App Home tab failed");
                None
            }
        }
    }

    async fn preview_inner(
        &self,
        member: &str,
        state: &MemberState,
        cached: Option<&CachedProfile>,
        emoji: &str,
        design: &Design,
    ) -> anyhow::Result<Option<String>> {
        let Some(source) = Source::of(state, cached) else { return Ok(None) };
        let old = photo_files::preview(self.store, member, emoji)?;
        let mut urls = self.emoji_urls(state, old.as_ref(), emoji, design);
        let Some(mut base) = self.source_photo(&source, old.as_ref()).await? else { return Ok(None) };
        let key = preview_key(&base.hash, design, urls.first().map(String::as_str), self.limits.size)?;
        if let Some(old) = old.as_ref().filter(|p| p.key == key) {
            if self.store.photos.contains_key(old.hash.as_bytes())? {
                if old.source_url != base.url {
                    let moved = Preview { source_url: base.url.clone(), ..old.clone() };
                    photo_files::put_preview(self.store, member, emoji, &moved)?;
                }
                return Ok(Some(old.hash.clone()));
            }
        }
        let emoji_image = match design {
            Design::Badge => match crate::drawing::emoji_image(self.store, self.slack, std::mem::take(&mut urls)).await? {
                Some(found) => Some(found),
                None => return Ok(None),
            },
            Design::Frame { .. } => None,
        };
        let Some(bytes) = base.bytes(self).await? else { return Ok(None) };
        let emoji_url = emoji_image.as_ref().map(|(url, _)| url.clone());
        let drawn =
            crate::photo::generate::generate_async(design.clone(), bytes, emoji_image.map(|(_, b)| b), self.limits, self.photos).await;
        let processed = match drawn {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "a preview could not be drawn");
                return Ok(None);
            }
        };
        let hash = self.store.put_photo(&processed.bytes)?;
        let key = preview_key(&base.hash, design, emoji_url.as_deref(), self.limits.size)?;
        let preview = Preview { key, hash: hash.clone(), emoji_url, source_url: base.url.take(), source_hash: base.hash };
        photo_files::put_preview(self.store, member, emoji, &preview)?;
        tracing::info!("preview drawn for the App Home tab");
        Ok(Some(hash))
    }

    /// The photo a preview is drawn from, by content: a stored photo as it is; the profile's photo
    /// by the hash the last preview found at the same URL, else downloaded and hashed.
    async fn source_photo(&self, source: &Source, old: Option<&Preview>) -> anyhow::Result<Option<Base>> {
        match source {
            Source::Stored(hash) => Ok(Some(Base { hash: hash.clone(), url: None, bytes: None })),
            Source::Profile(url) => {
                if let Some(old) = old.filter(|p| p.source_url.as_deref() == Some(url.as_str()) && !p.source_hash.is_empty()) {
                    return Ok(Some(Base { hash: old.source_hash.clone(), url: Some(url.clone()), bytes: None }));
                }
                let Some(bytes) = crate::drawing::profile_photo(self.slack, url, self.limits.max_bytes).await else { return Ok(None) };
                Ok(Some(Base { hash: photo_hash(&bytes), url: Some(url.clone()), bytes: Some(bytes) }))
            }
        }
    }

    /// Where a badge's emoji image may come from, best first: the profile's status image when the
    /// status is this emoji, the one the last preview used, a custom emoji's `emoji.list` image.
    fn emoji_urls(&self, state: &MemberState, old: Option<&Preview>, emoji: &str, design: &Design) -> Vec<String> {
        if !matches!(design, Design::Badge) {
            return Vec::new();
        }
        let from_status =
            state.profile.as_ref().and_then(|p| p.status_emoji_url.clone()).filter(|_| state.status_emoji.as_deref() == Some(emoji));
        let mut urls: Vec<String> =
            from_status.into_iter().chain(old.and_then(|p| p.emoji_url.clone())).chain(self.emoji.image_url(emoji)).collect();
        urls.dedup();
        urls
    }
}

/// Where the member's own photo a preview is drawn from is.
enum Source {
    /// A photo in the store: their own, kept with the baseline while a preset photo shows.
    Stored(String),
    /// The photo their profile shows now, by URL (their own: no preset photo shows).
    Profile(String),
}

impl Source {
    fn of(state: &MemberState, cached: Option<&CachedProfile>) -> Option<Source> {
        let stored = state.baseline.as_ref().and_then(|b| b.render_from()).map(|h| Source::Stored(h.to_string()));
        if state.applied.photo.is_some() {
            return stored;
        }
        let url = state.profile.as_ref().and_then(|p| p.image_url.clone()).or_else(|| cached.and_then(|c| c.image_url.clone()));
        url.filter(|u| !u.is_empty()).map(Source::Profile).or(stored)
    }
}

/// The photo a preview is drawn from: its hash, the profile URL it came from, and its bytes once
/// read.
struct Base {
    hash: String,
    url: Option<String>,
    bytes: Option<Vec<u8>>,
}

impl Base {
    async fn bytes(&mut self, g: &Gallery<'_>) -> anyhow::Result<Option<Vec<u8>>> {
        if let Some(b) = self.bytes.take() {
            return Ok(Some(b));
        }
        match &self.url {
            None => g.store.photo(&self.hash),
            Some(url) => Ok(crate::drawing::profile_photo(g.slack, url, g.limits.max_bytes).await),
        }
    }
}

/// What a preview depends on, hashed: the photo it is drawn from (by content), the design, the
/// emoji image's URL, the size.
fn preview_key(source_hash: &str, design: &Design, emoji_url: Option<&str>, size: u32) -> anyhow::Result<String> {
    let key = format!("preview\n{source_hash}\n{}\n{size}\n{}", serde_json::to_string(design)?, emoji_url.unwrap_or(""));
    Ok(photo_hash(key.as_bytes()))
}

/// Deletes on Slack the files of photos the collection removed (best effort: a file Slack no
/// longer has counts as deleted; one that fails is tried at the next pass, for a week).
/// Returns how many went.
pub(crate) async fn delete_orphans(store: &Store, slack: &SlackClient) -> usize {
    let orphans = match photo_files::orphans(store) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "listing orphaned Slack files failed");
            return 0;
        }
    };
    let mut n = 0;
    for file in orphans {
        let done = match slack.files_delete(&file.id).await {
            Ok(()) => true,
            Err(ApiError::Slack(code)) if code == "file_not_found" || code == "file_deleted" => true,
            Err(e) => {
                tracing::warn!(error = %e, file = %file.id, "could not delete a Slack file whose photo is gone");
                crate::store::now_ms().saturating_sub(file.uploaded_ms) > ORPHAN_GIVE_UP_MS
            }
        };
        if done {
            if let Err(e) = photo_files::drop_orphan(store, &file.id) {
                tracing::error!(error = %e, "forgetting a deleted Slack file failed");
            }
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preview_key_changes_with_each_input() {
        let frame = Design::Frame { colour: "orange".parse().unwrap(), label: None };
        let base = preview_key("a", &frame, None, 512).unwrap();
        assert_eq!(base, preview_key("a", &frame, None, 512).unwrap());
        assert_ne!(base, preview_key("b", &frame, None, 512).unwrap(), "a new photo");
        assert_ne!(base, preview_key("a", &Design::Badge, None, 512).unwrap());
        assert_ne!(base, preview_key("a", &frame, None, 1024).unwrap());
        assert_ne!(base, preview_key("a", &frame, Some("e"), 512).unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_upload_pauses_uploads_for_an_hour() {
        let u = Uploads::default();
        assert!(!u.paused());
        assert!(u.pause(), "the first pause warns");
        assert!(!u.pause(), "a second one does not");
        assert!(u.paused());
        tokio::time::advance(PAUSE + Duration::from_secs(1)).await;
        assert!(!u.paused());
        assert!(u.pause());
    }
}
