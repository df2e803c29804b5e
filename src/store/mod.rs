//! The store: one sled database holding everything the bot keeps.
//!
//! Each kind of data has its own tree; values are serde JSON behind typed
//! accessors so no other module juggles bytes. The `meta` tree holds the schema
//! version; [`migrate`] brings an older database up to date at start-up.

pub mod emoji_images;
mod error;
pub mod health;
mod members;
mod migrate;
pub mod model;
pub mod oauth_states;
pub mod photo_files;
pub mod queue;
pub mod sealed;
pub mod team;
pub mod timers;
pub mod tokens;

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use serde::{de::DeserializeOwned, Serialize};

pub(crate) use error::{StoreError, KEY_VAR};
pub(crate) use migrate::SCHEMA_VERSION;
pub use model::*;
pub(crate) use tokens::TokenTree;

/// Names of the trees, one per kind of data.
pub mod trees {
    pub const META: &str = "meta";
    pub const PRESETS: &str = "presets";
    pub const PHOTOS: &str = "photos";
    pub const MEMBERS: &str = "members";
    pub const QUEUE: &str = "queue";
    pub const DEAD: &str = "dead_letter";
    pub const SEEN: &str = "seen";
    pub const TOKENS: &str = "tokens";
    pub const RATES: &str = "rates";
    pub const EMOJI: &str = "emoji";
    pub const AVATARS: &str = "avatars";
    pub const OAUTH_STATES: &str = "oauth_states";
    pub const METRIC_HISTORY: &str = "metric_history";
    pub const TIMERS: &str = "timers";
    pub const TEAM_PRESETS: &str = "team_presets";
    pub const EMOJI_IMAGES: &str = "emoji_images";
    pub const PHOTO_FILES: &str = "photo_files";
    pub const PREVIEWS: &str = "previews";
    pub const ALL: &[&str] = &[
        META,
        PRESETS,
        PHOTOS,
        MEMBERS,
        QUEUE,
        DEAD,
        SEEN,
        TOKENS,
        RATES,
        EMOJI,
        AVATARS,
        OAUTH_STATES,
        METRIC_HISTORY,
        TIMERS,
        TEAM_PRESETS,
        EMOJI_IMAGES,
        PHOTO_FILES,
        PREVIEWS,
    ];
}

/// A tree whose values are `T` as JSON.
#[derive(Clone)]
pub struct Typed<T> {
    tree: sled::Tree,
    _t: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> Typed<T> {
    fn new(tree: sled::Tree) -> Self {
        Typed { tree, _t: PhantomData }
    }

    pub fn get(&self, key: impl AsRef<[u8]>) -> anyhow::Result<Option<T>> {
        match self.tree.get(key.as_ref())? {
            None => Ok(None),
            Some(v) => Ok(Some(decode(&v, &self.tree)?)),
        }
    }

    pub fn insert(&self, key: impl AsRef<[u8]>, value: &T) -> anyhow::Result<()> {
        self.tree.insert(key.as_ref(), serde_json::to_vec(value)?)?;
        Ok(())
    }

    /// Removes the records whose time (`stamp_ms`) is more than `max_age_ms` ago; returns how
    /// many went. One pass over the tree: for the upkeep job, not a hot path.
    pub fn remove_older(&self, max_age_ms: u64, stamp_ms: impl Fn(&T) -> u64) -> anyhow::Result<usize> {
        let cutoff = now_ms().saturating_sub(max_age_ms);
        let mut n = 0;
        for (k, v) in self.iter()? {
            if stamp_ms(&v) < cutoff {
                self.tree.remove(k)?;
                n += 1;
            }
        }
        Ok(n)
    }

    pub fn remove(&self, key: impl AsRef<[u8]>) -> anyhow::Result<Option<T>> {
        match self.tree.remove(key.as_ref())? {
            None => Ok(None),
            Some(v) => Ok(Some(decode(&v, &self.tree)?)),
        }
    }

    pub fn contains(&self, key: impl AsRef<[u8]>) -> anyhow::Result<bool> {
        Ok(self.tree.contains_key(key.as_ref())?)
    }

    /// Atomically replaces the value with what `f` returns (None removes it).
    /// `f` may run more than once under contention, so it must be pure.
    pub fn update(&self, key: impl AsRef<[u8]>, mut f: impl FnMut(Option<T>) -> Option<T>) -> anyhow::Result<Option<T>> {
        let mut err = None;
        let out = self.tree.update_and_fetch(key.as_ref(), |old| {
            let cur = old.and_then(|b| serde_json::from_slice::<T>(b).ok());
            match f(cur) {
                None => None,
                Some(v) => match serde_json::to_vec(&v) {
                    Ok(b) => Some(b),
                    Err(e) => {
                        err = Some(e);
                        old.map(|o| o.to_vec())
                    }
                },
            }
        })?;
        if let Some(e) = err {
            return Err(e.into());
        }
        out.map(|v| decode(&v, &self.tree)).transpose()
    }

    /// Entries whose key starts with `prefix`, skipping (and logging) any that
    /// no longer decode rather than failing the whole listing.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> anyhow::Result<Vec<(Vec<u8>, T)>> {
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix(prefix.as_ref()) {
            let (k, v) = kv?;
            match serde_json::from_slice(&v) {
                Ok(t) => out.push((k.to_vec(), t)),
                Err(e) => {
                    tracing::warn!(tree = %String::from_utf8_lossy(&self.tree.name()), key = %String::from_utf8_lossy(&k), error = %e, "skipping undecodable entry")
                }
            }
        }
        Ok(out)
    }

    pub fn iter(&self) -> anyhow::Result<Vec<(Vec<u8>, T)>> {
        self.scan_prefix([])
    }

    pub fn len(&self) -> usize {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    pub fn raw(&self) -> &sled::Tree {
        &self.tree
    }
}

fn decode<T: DeserializeOwned>(v: &[u8], tree: &sled::Tree) -> anyhow::Result<T> {
    serde_json::from_slice(v).with_context(|| format!("decoding a value in tree {}", String::from_utf8_lossy(&tree.name())))
}

/// Why the database did not open, in words an operator can act on; each names the path.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the database at {} is in use by another statusinator (its lock is held)", .path.display())]
    InUse { path: PathBuf },
    #[error("cannot read/write {}: permission denied", .path.display())]
    PermissionDenied { path: PathBuf },
    #[error("cannot open the database at {}: it, or a folder above it, is not a directory", .path.display())]
    NotADirectory { path: PathBuf },
    #[error("the database at {} is corrupt or not a statusinator database ({detail}); restore a backup with `statusinator db restore`", .path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error("cannot open the database at {}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the database at {}: {source:#}", .path.display())]
    Setup { path: PathBuf, source: anyhow::Error },
}

impl OpenError {
    fn from_io(path: &Path, e: std::io::Error) -> OpenError {
        let path = path.to_path_buf();
        match e.kind() {
            std::io::ErrorKind::WouldBlock => OpenError::InUse { path },
            std::io::ErrorKind::PermissionDenied => OpenError::PermissionDenied { path },
            std::io::ErrorKind::NotADirectory => OpenError::NotADirectory { path },
            _ => OpenError::Io { path, source: e },
        }
    }

    fn from_sled(path: &Path, e: sled::Error) -> OpenError {
        if lock_held(&e) {
            return OpenError::InUse { path: path.to_path_buf() };
        }
        let corrupt = |detail: String| OpenError::Corrupt { path: path.to_path_buf(), detail };
        match e {
            sled::Error::Io(e) => OpenError::from_io(path, e),
            sled::Error::Corruption { .. } => corrupt("its files fail their checksums".into()),
            sled::Error::Unsupported(why) => corrupt(why),
            sled::Error::ReportableBug(why) => corrupt(why),
            sled::Error::CollectionNotFound(_) => corrupt("a tree is missing".into()),
        }
    }
}

/// Another process (or a database just closed in this one) holds the lock. sled reports it as
/// an `Other` IO error whose text starts "could not acquire lock", wrapping the `WouldBlock`.
fn lock_held(e: &sled::Error) -> bool {
    match e {
        sled::Error::Io(e) => e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().starts_with("could not acquire lock"),
        _ => false,
    }
}

/// The database and its trees. Cheap to clone (sled handles are reference counted).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    /// The database directory (for the free-space check while unwritable).
    path: PathBuf,
    health: Arc<health::Health>,
    /// Serialises read-modify-write of one member's state (see [`members`]).
    member_locks: Arc<members::MemberLocks>,
    pub meta: sled::Tree,
    /// `member \0 emoji` → [`Preset`]
    pub presets: Typed<Preset>,
    /// content hash → image bytes (raw, not JSON)
    pub photos: sled::Tree,
    /// member → [`MemberState`]
    pub members: Typed<MemberState>,
    /// member → [`Job`]: at most one pending desired state per member
    queue: Typed<Job>,
    /// `member \0 time` → [`DeadJob`]
    dead: Typed<DeadJob>,
    /// envelope or event id → first seen (unix ms)
    pub seen: Typed<u64>,
    /// member → [`TokenRecord`], sealed at rest when `STATUSINATOR_KEY` is set
    pub tokens: TokenTree,
    /// counter key → [`RateWindow`]
    pub rates: Typed<RateWindow>,
    /// emoji name → [`EmojiEntry`]
    pub emoji: Typed<EmojiEntry>,
    /// member → [`CachedProfile`]
    pub avatars: Typed<CachedProfile>,
    /// state → [`OauthState`]
    pub oauth_states: Typed<OauthState>,
    /// sample time (unix ms, big-endian u64) → [`MetricSample`], at most a day (see `dashboard`)
    pub metric_history: Typed<MetricSample>,
    /// member → [`timers::ExpiryTimer`]: the status expiry to act on (see [`timers`])
    timers: Typed<timers::ExpiryTimer>,
    /// emoji → [`TeamPreset`]: the admins' workspace presets (see [`team`])
    team_presets: Typed<TeamPreset>,
    /// emoji image URL → when fetched + bytes: badge emoji (see [`emoji_images`])
    emoji_images: sled::Tree,
    /// photo hash → [`photo_files::PhotoFile`]: its Slack file for the Home tab (see [`photo_files`])
    photo_files: Typed<photo_files::PhotoFile>,
    /// `member \0 emoji` → [`photo_files::Preview`]: a generated preset's Home preview
    previews: Typed<photo_files::Preview>,
}

impl Store {
    /// Opens (creating if needed) the database at `path`: directory 0700, files
    /// 0600, migrations applied. The error names the real cause (see [`OpenError`]).
    pub fn open(path: &Path) -> Result<Store, OpenError> {
        prepare_dir(path).map_err(|e| OpenError::from_io(path, e))?;
        let config = sled::Config::new().path(path).cache_capacity(8 * 1024 * 1024).flush_every_ms(Some(500));
        // A database just closed in this process keeps its file lock until sled's background
        // flusher has stopped, a moment later: wait for that rather than fail.
        let mut attempts = 0;
        let db = loop {
            match config.open() {
                Err(e) if lock_held(&e) && attempts < 40 => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                other => break other.map_err(|e| OpenError::from_sled(path, e))?,
            }
        };
        restrict_files(path);
        let setup = |e: anyhow::Error| OpenError::Setup { path: path.to_path_buf(), source: e };
        let store = Store::from_db(db, path).map_err(setup)?;
        migrate::run(&store).map_err(setup)?;
        Ok(store)
    }

    fn from_db(db: sled::Db, path: &Path) -> anyhow::Result<Store> {
        let t = |name: &str| db.open_tree(name).with_context(|| format!("opening tree {name}"));
        Ok(Store {
            meta: t(trees::META)?,
            presets: Typed::new(t(trees::PRESETS)?),
            photos: t(trees::PHOTOS)?,
            members: Typed::new(t(trees::MEMBERS)?),
            queue: Typed::new(t(trees::QUEUE)?),
            dead: Typed::new(t(trees::DEAD)?),
            seen: Typed::new(t(trees::SEEN)?),
            tokens: TokenTree::new(t(trees::TOKENS)?),
            rates: Typed::new(t(trees::RATES)?),
            emoji: Typed::new(t(trees::EMOJI)?),
            avatars: Typed::new(t(trees::AVATARS)?),
            oauth_states: Typed::new(t(trees::OAUTH_STATES)?),
            metric_history: Typed::new(t(trees::METRIC_HISTORY)?),
            timers: Typed::new(t(trees::TIMERS)?),
            team_presets: Typed::new(t(trees::TEAM_PRESETS)?),
            emoji_images: t(trees::EMOJI_IMAGES)?,
            photo_files: Typed::new(t(trees::PHOTO_FILES)?),
            previews: Typed::new(t(trees::PREVIEWS)?),
            db,
            path: path.to_path_buf(),
            health: Arc::default(),
            member_locks: Arc::default(),
        })
    }

    /// Waits until everything written so far is on disk.
    ///
    /// Not sled's `flush_async`: that runs the flush on sled's own small thread pool, and with
    /// enough flushes at once (one per envelope in a burst) every pool thread waits for an
    /// IO-buffer write queued behind them on that same pool, and the whole bot freezes (found by
    /// tests/torture.rs). tokio's blocking pool keeps sled's free to do the writes.
    pub async fn flush(&self) -> anyhow::Result<()> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush()).await.context("the flush task failed")??;
        Ok(())
    }

    pub fn flush_blocking(&self) -> anyhow::Result<()> {
        self.db.flush()?;
        Ok(())
    }

    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// Is the database writable? (health checks) A failed write starts an unwritable episode.
    pub fn writable(&self) -> bool {
        if !self.health.is_writable() {
            return false;
        }
        match self.meta.insert("health", now_ms().to_be_bytes().to_vec()) {
            Ok(_) => true,
            Err(e) => {
                self.health.report_failure(&e);
                false
            }
        }
    }

    /// Whether the store can be written, as the health monitor last decided.
    pub fn health(&self) -> &health::Health {
        &self.health
    }

    /// One probe for the health monitor: a write and a flush; if either fails, is there room?
    async fn probe(&self) -> health::Probe {
        let wrote = self.meta.insert("health", now_ms().to_be_bytes().to_vec()).is_ok();
        if wrote && self.flush().await.is_ok() {
            return health::Probe::Ok;
        }
        let dir = self.path.clone();
        let room = tokio::task::spawn_blocking(move || health::has_room(&dir)).await.unwrap_or(false);
        health::Probe::Failed { room }
    }

    /// Runs the health monitor (see [`health`]) until shutdown, or until it asks for a restart
    /// by tripping `shutdown` after the store stayed unwritable for `exit_after`.
    pub async fn watch_health(&self, exit_after: std::time::Duration, shutdown: crate::shutdown::Shutdown) {
        health::monitor(&self.health, health::Policy::new(exit_after), || self.probe(), shutdown).await
    }

    // ---- dedupe ----

    /// Records `id` as handled; true if it was new. Survives restarts.
    pub fn first_sighting(&self, id: &str) -> anyhow::Result<bool> {
        let prev = self.seen.raw().compare_and_swap(id.as_bytes(), None as Option<&[u8]>, Some(serde_json::to_vec(&now_ms())?))?;
        Ok(prev.is_ok())
    }

    /// Forgets ids seen more than `max_age_ms` ago; returns how many went.
    pub fn expire_seen(&self, max_age_ms: u64) -> anyhow::Result<usize> {
        self.seen.remove_older(max_age_ms, |at| *at)
    }

    // ---- presets ----

    pub fn preset(&self, member: &str, emoji: &str) -> anyhow::Result<Option<Preset>> {
        self.presets.get(preset_key(member, emoji))
    }

    pub fn presets_of(&self, member: &str) -> anyhow::Result<Vec<Preset>> {
        let mut p: Vec<Preset> = self.presets.scan_prefix(member_prefix(member))?.into_iter().map(|(_, v)| v).collect();
        p.sort_by(|a, b| a.emoji.cmp(&b.emoji));
        Ok(p)
    }

    pub fn has_presets(&self, member: &str) -> anyhow::Result<bool> {
        Ok(self.presets.raw().scan_prefix(member_prefix(member)).next().transpose()?.is_some())
    }

    pub fn put_preset(&self, p: &Preset) -> anyhow::Result<()> {
        self.presets.insert(preset_key(&p.member, &p.emoji), p)
    }

    pub fn remove_preset(&self, member: &str, emoji: &str) -> anyhow::Result<Option<Preset>> {
        self.presets.remove(preset_key(member, emoji))
    }

    /// Members who have at least one preset.
    pub fn members_with_presets(&self) -> anyhow::Result<usize> {
        let mut n = 0;
        let mut last: Option<String> = None;
        for kv in self.presets.raw().iter() {
            let (k, _) = kv?;
            let m = k.split(|b| *b == 0).next().map(|m| String::from_utf8_lossy(m).to_string());
            if m != last {
                n += 1;
                last = m;
            }
        }
        Ok(n)
    }

    // ---- photos (content addressed) ----

    /// Stores bytes under their hash (once) and returns the hash.
    pub fn put_photo(&self, bytes: &[u8]) -> anyhow::Result<String> {
        let hash = photo_hash(bytes);
        // Stamped before the bytes land, so a collection running between this
        // write and the preset/baseline that refers to it spares the photo.
        self.meta.insert(photo_stamp_key(&hash), now_ms().to_be_bytes().to_vec())?;
        if !self.photos.contains_key(hash.as_bytes())? {
            self.photos.insert(hash.as_bytes(), bytes)?;
        }
        Ok(hash)
    }

    pub fn photo(&self, hash: &str) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.photos.get(hash.as_bytes())?.map(|v| v.to_vec()))
    }

    /// Drops photos no preset (own or team), baseline or Home preview refers to any more, and
    /// returns how many went and the Slack files of those that had one (kept as orphans for the
    /// upkeep to delete on Slack: [`photo_files::orphans`]).
    pub fn collect_photos(&self) -> anyhow::Result<Collected> {
        let mut live = photo_files::live_previews(self)?;
        for (_, p) in self.presets.iter()? {
            if let Some(h) = p.photo {
                live.insert(h);
            }
        }
        live.extend(team::all(self)?.into_iter().filter_map(|p| p.photo));
        for (_, m) in self.members.iter()? {
            if let Some(b) = m.baseline {
                live.extend(b.photo);
                live.extend(b.default_photo);
            }
            if let Some(r) = m.rendered {
                live.insert(r.hash);
            }
            if let Some(h) = m.applied.photo {
                live.insert(h);
            }
        }
        let mut files = Vec::new();
        let now = now_ms();
        for kv in self.photos.iter() {
            let (k, _) = kv?;
            let hash = String::from_utf8_lossy(&k).to_string();
            if live.contains(&hash) {
                continue;
            }
            let stamp = self.meta.get(photo_stamp_key(&hash))?.and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok()).map(u64::from_be_bytes);
            if stamp.is_some_and(|t| now.saturating_sub(t) < PHOTO_GRACE_MS) {
                continue;
            }
            self.photos.remove(&k)?;
            self.meta.remove(photo_stamp_key(&hash))?;
            files.push(photo_files::orphan_file(self, &hash)?);
        }
        Ok(Collected { photos: files.len(), files: files.into_iter().flatten().collect() })
    }

    // ---- members (see members.rs for the writes) ----

    pub fn member(&self, member: &str) -> anyhow::Result<MemberState> {
        Ok(self.members.get(member)?.unwrap_or_default())
    }

    /// Forgets cached profiles not refreshed for `max_age_ms` (members who left, or who
    /// never come back); the next use refetches one. Returns how many went.
    pub fn expire_avatars(&self, max_age_ms: u64) -> anyhow::Result<usize> {
        self.avatars.remove_older(max_age_ms, |p| p.fetched_ms)
    }
}

/// What a photo collection removed.
#[derive(Debug, Default)]
pub struct Collected {
    pub photos: usize,
    /// The Slack files (ids) of the removed photos that had one.
    pub files: Vec<String>,
}

/// Dead letters kept per member, newest first.
pub const DEAD_PER_MEMBER: usize = 20;

/// A photo nothing refers to yet is kept this long (it is about to be).
const PHOTO_GRACE_MS: u64 = 10 * 60 * 1000;

fn photo_stamp_key(hash: &str) -> String {
    format!("photo_added:{hash}")
}

pub fn preset_key(member: &str, emoji: &str) -> Vec<u8> {
    let mut k = member_prefix(member);
    k.extend_from_slice(emoji.as_bytes());
    k
}

pub fn member_prefix(member: &str) -> Vec<u8> {
    let mut k = member.as_bytes().to_vec();
    k.push(0);
    k
}

pub fn photo_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Wall-clock milliseconds since the epoch: what the store stamps and expires by.
///
/// Under tokio's paused test clock, time skipped with `tokio::time::advance` moves this clock
/// too, so a soak test can run weeks of expiry in a second (tests/soak.rs). Outside a paused
/// runtime tokio's clock is the system's monotonic clock and the offset is always 0.
pub fn now_ms() -> u64 {
    let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let skipped = tokio::time::Instant::now().into_std().saturating_duration_since(std::time::Instant::now());
    wall.saturating_add(skipped.as_millis() as u64)
}

#[cfg(unix)]
fn prepare_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !path.exists() {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path)?;
    } else if path.is_dir() {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

#[cfg(not(unix))]
fn prepare_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)
}

/// sled creates its files with the process umask; tighten them to 0600.
#[cfg(unix)]
fn restrict_files(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fn walk(p: &Path) {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700));
                    walk(&p);
                } else {
                    let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
                }
            }
        }
    }
    walk(path);
}

#[cfg(not(unix))]
fn restrict_files(_: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_per_member_and_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db")).unwrap();
        for (m, e) in [("U1", "palm_tree"), ("U1", "car"), ("U2", "palm_tree"), ("U10", "x")] {
            s.put_preset(&Preset::new(m, e)).unwrap();
        }
        let got: Vec<_> = s.presets_of("U1").unwrap().into_iter().map(|p| p.emoji).collect();
        assert_eq!(got, vec!["car", "palm_tree"]);
        assert_eq!(s.members_with_presets().unwrap(), 3);
        assert!(s.remove_preset("U1", "car").unwrap().is_some());
        assert_eq!(s.presets_of("U1").unwrap().len(), 1);
    }

    #[test]
    fn first_sighting_is_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db")).unwrap();
        assert!(s.first_sighting("Ev1").unwrap());
        assert!(!s.first_sighting("Ev1").unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn database_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let s = Store::open(&path).unwrap();
        s.flush_blocking().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o700);
        for e in std::fs::read_dir(&path).unwrap().flatten() {
            if e.path().is_file() {
                assert_eq!(e.metadata().unwrap().permissions().mode() & 0o077, 0, "{:?}", e.path());
            }
        }
    }
}
