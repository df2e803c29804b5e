//! The Slack files that show photos in the App Home tab: the only writer of the `photo_files`
//! and `previews` trees.
//!
//! `photo_files`: photo hash → [`PhotoFile`], the file the bot uploaded for that photo (one
//! upload per photo, reused by every publish; forgotten when Slack no longer knows it, so the
//! next publish uploads it again). `previews`: `member \0 emoji` → [`Preview`], the photo a
//! generated preset (badge, frame, own or team) shows in that member's Home tab, drawn from
//! their current photo and named by its inputs, so it is drawn again only when they change.
//! Photo GC ([`Store::collect_photos`]) keeps the file of every photo it removes as an orphan
//! (the upkeep deletes it on Slack with `files.delete`, best effort) and drops the previews of
//! presets that no longer draw one.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{now_ms, preset_key, team, Store};

/// A photo's Slack file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoFile {
    /// The file id (`F…`), referenced by the Home view as a `slack_file`.
    pub id: String,
    /// When it was uploaded (unix ms).
    pub uploaded_ms: u64,
}

/// The Home preview of one generated preset for one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    /// What it was drawn from (the member's photo, the design, the emoji image, the size), hashed.
    pub key: String,
    /// The drawn photo in the photos tree.
    pub hash: String,
    /// The emoji image a badge used, so a later publish can draw it again when the status
    /// (which names the image of a standard emoji) has moved on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji_url: Option<String>,
    /// The profile photo URL it was drawn from and that photo's hash: Slack gives the same photo
    /// a new URL when it is set again (a restore), so a new URL is downloaded once and compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    #[serde(default)]
    pub source_hash: String,
}

/// The file uploaded for photo `hash`, if any.
pub fn file_of(store: &Store, hash: &str) -> anyhow::Result<Option<PhotoFile>> {
    store.photo_files.get(hash)
}

/// Keeps `id` as the file of photo `hash` and returns the file to show. When another publish
/// uploaded the same photo meanwhile (two members' Home tabs showing one team photo), the first
/// file stays and `id` becomes an orphan, deleted on Slack by the upkeep.
pub fn put_file(store: &Store, hash: &str, id: &str) -> anyhow::Result<String> {
    let new = PhotoFile { id: id.to_string(), uploaded_ms: now_ms() };
    let kept = store.photo_files.update(hash, |cur| Some(cur.unwrap_or_else(|| new.clone())))?.unwrap_or_else(|| new.clone());
    if kept.id != id {
        store.photo_files.insert(orphan_key(id), &new)?;
    }
    Ok(kept.id)
}

/// Forgets photo `hash`'s file if it is still `id` (Slack said it is gone); the next publish
/// uploads the photo again.
pub(crate) fn forget_file(store: &Store, hash: &str, id: &str) -> anyhow::Result<()> {
    store.photo_files.update(hash, |cur| cur.filter(|f| f.id != id))?;
    Ok(())
}

/// Photo `hash` is going: its file, if it had one, is kept as an orphan for [`orphans`] (the
/// upkeep deletes it on Slack). Returns the file's id.
pub(super) fn orphan_file(store: &Store, hash: &str) -> anyhow::Result<Option<String>> {
    let Some(file) = store.photo_files.remove(hash)? else { return Ok(None) };
    store.photo_files.insert(orphan_key(&file.id), &file)?;
    Ok(Some(file.id))
}

/// Files whose photo is gone, to delete on Slack (oldest upload first).
pub fn orphans(store: &Store) -> anyhow::Result<Vec<PhotoFile>> {
    let mut out: Vec<PhotoFile> = store.photo_files.scan_prefix(ORPHAN)?.into_iter().map(|(_, f)| f).collect();
    out.sort_by_key(|f| f.uploaded_ms);
    Ok(out)
}

/// The orphan `id` is deleted on Slack (or given up on).
pub(crate) fn drop_orphan(store: &Store, id: &str) -> anyhow::Result<()> {
    store.photo_files.remove(orphan_key(id))?;
    Ok(())
}

/// Orphans sit beside the photo hashes (64 hex digits) under this prefix.
const ORPHAN: &str = "orphan:";

fn orphan_key(id: &str) -> String {
    format!("{ORPHAN}{id}")
}

/// How many photos have a Slack file (orphans waiting for `files.delete` included).
pub fn file_count(store: &Store) -> usize {
    store.photo_files.len()
}

/// The preview of `member`'s `emoji` preset, if one was drawn.
pub(crate) fn preview(store: &Store, member: &str, emoji: &str) -> anyhow::Result<Option<Preview>> {
    store.previews.get(preset_key(member, emoji))
}

/// Keeps `preview` for `member`'s `emoji` preset, replacing an older one.
pub(crate) fn put_preview(store: &Store, member: &str, emoji: &str, preview: &Preview) -> anyhow::Result<()> {
    store.previews.insert(preset_key(member, emoji), preview)
}

/// The photos previews still show; drops the previews of presets that no longer draw a photo
/// (removed, given an uploaded photo or none; a team preset the member's own now overrides).
pub(super) fn live_previews(store: &Store) -> anyhow::Result<HashSet<String>> {
    let mut live = HashSet::new();
    for (key, p) in store.previews.iter()? {
        let mut parts = key.splitn(2, |b| *b == 0);
        let member = String::from_utf8_lossy(parts.next().unwrap_or_default()).to_string();
        let emoji = String::from_utf8_lossy(parts.next().unwrap_or_default()).to_string();
        if draws(store, &member, &emoji)? {
            live.insert(p.hash);
        } else {
            store.previews.remove(&key)?;
        }
    }
    Ok(live)
}

/// Whether `member`'s preset for `emoji` (their own, else the team's) is a generated photo.
fn draws(store: &Store, member: &str, emoji: &str) -> anyhow::Result<bool> {
    if let Some(own) = store.preset(member, emoji)? {
        return Ok(own.design.is_some());
    }
    Ok(team::get(store, emoji)?.is_some_and(|t| t.design.is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Design, Preset};

    fn preset(member: &str, emoji: &str, design: Option<Design>) -> Preset {
        Preset { member: member.into(), emoji: emoji.into(), name: None, photo: None, design, updated_ms: 0 }
    }

    #[test]
    fn a_file_is_kept_per_photo_and_forgotten_only_if_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(put_file(&store, "h1", "F1").unwrap(), "F1");
        assert_eq!(file_of(&store, "h1").unwrap().map(|f| f.id), Some("F1".into()));
        assert_eq!(put_file(&store, "h1", "F2").unwrap(), "F1", "a second upload of the same photo gives way");
        assert_eq!(orphans(&store).unwrap().into_iter().map(|f| f.id).collect::<Vec<_>>(), ["F2"]);
        drop_orphan(&store, "F2").unwrap();
        forget_file(&store, "h1", "F0").unwrap();
        assert!(file_of(&store, "h1").unwrap().is_some(), "a stale id leaves the new one alone");
        forget_file(&store, "h1", "F1").unwrap();
        assert!(file_of(&store, "h1").unwrap().is_none());
        assert_eq!(file_count(&store), 0);
    }

    /// Photo GC keeps the file of a photo it removes for `files.delete`, and leaves the rest.
    #[test]
    fn a_collected_photo_leaves_its_file_to_be_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Written without put_photo's stamp, so the collection does not wait 10 minutes.
        store.photos.insert(b"gone", b"bytes".to_vec()).unwrap();
        put_file(&store, "gone", "F1").unwrap();
        let got = store.collect_photos().unwrap();
        assert_eq!((got.photos, got.files.clone()), (1, vec!["F1".to_string()]));
        assert!(file_of(&store, "gone").unwrap().is_none());
        assert_eq!(orphans(&store).unwrap().into_iter().map(|f| f.id).collect::<Vec<_>>(), ["F1"]);
        drop_orphan(&store, "F1").unwrap();
        assert!(orphans(&store).unwrap().is_empty() && file_count(&store) == 0);
    }

    #[test]
    fn previews_live_while_their_preset_draws_a_photo() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.put_preset(&preset("U1", "palm_tree", Some(Design::Badge))).unwrap();
        store.put_preset(&preset("U1", "coffee", None)).unwrap();
        for (emoji, hash) in [("palm_tree", "p1"), ("coffee", "p2"), ("car", "p3")] {
            let p = Preview { key: "k".into(), hash: hash.into(), emoji_url: None, source_url: None, source_hash: String::new() };
            put_preview(&store, "U1", emoji, &p).unwrap();
        }
        let live = live_previews(&store).unwrap();
        assert_eq!(live, HashSet::from(["p1".to_string()]));
        assert!(preview(&store, "U1", "coffee").unwrap().is_none() && preview(&store, "U1", "car").unwrap().is_none());
        assert!(preview(&store, "U1", "palm_tree").unwrap().is_some());
    }
}
