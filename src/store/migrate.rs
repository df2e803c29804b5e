//! Schema migrations, applied in order at start-up.
//!
//! The `meta` tree's `schema_version` says which have run. Each migration is a
//! function from the previous layout to the next; a database newer than this
//! binary is refused rather than half-understood.

use anyhow::{bail, Context as _};

use super::Store;

pub(crate) const SCHEMA_VERSION: u32 = 3;

const KEY: &str = "schema_version";

type Migration = fn(&Store) -> anyhow::Result<()>;

/// `MIGRATIONS[i]` takes a database from version `i` to `i + 1`.
const MIGRATIONS: &[Migration] = &[v0_create, v1_presets_keyed_by_member, v2_photo_files];

pub fn current(store: &Store) -> anyhow::Result<u32> {
    Ok(match store.meta.get(KEY)? {
        None => 0,
        Some(v) => {
            let b: [u8; 4] = v.as_ref().try_into().context("schema_version is not 4 bytes")?;
            u32::from_be_bytes(b)
        }
    })
}

fn set(store: &Store, v: u32) -> anyhow::Result<()> {
    store.meta.insert(KEY, v.to_be_bytes().to_vec())?;
    Ok(())
}

/// Brings the database to [`SCHEMA_VERSION`]; returns how many migrations ran.
pub fn run(store: &Store) -> anyhow::Result<u32> {
    let mut v = current(store)?;
    if store.meta.get(KEY)?.is_none() && store.presets.is_empty() && store.members.is_empty() && store.tokens.is_empty() {
        // A brand-new database: nothing to migrate, it starts at the current layout.
        tracing::info!(version = SCHEMA_VERSION, "created a new database");
        set(store, SCHEMA_VERSION)?;
        return Ok(0);
    }
    if v > SCHEMA_VERSION {
        bail!("the database has schema version {v}, newer than this statusinator understands ({SCHEMA_VERSION}); use a newer release");
    }
    let from = v;
    while (v as usize) < MIGRATIONS.len() {
        tracing::info!(from = v, to = v + 1, "migrating the database");
        MIGRATIONS[v as usize](store).with_context(|| format!("migrating the database from version {v}"))?;
        v += 1;
        set(store, v)?;
    }
    Ok(v - from)
}

/// Version 1: the first layout. Nothing to move; trees are created on open.
fn v0_create(_: &Store) -> anyhow::Result<()> {
    Ok(())
}

/// Version 3: photos gain their Slack file (the `photo_files` tree, beside `photos`) and generated
/// presets their Home previews (`previews`). Nothing existing changes shape: every photo starts
/// without a file and is uploaded at its first publish. The version still moves, because an older
/// binary's photo collection would drop photos without deleting their files on Slack.
fn v2_photo_files(store: &Store) -> anyhow::Result<()> {
    tracing::info!(photos = store.photos.len(), "photos will be uploaded once each for the App Home tab");
    Ok(())
}

/// Version 2: presets were keyed `member:emoji` (a colon can appear in neither,
/// but a NUL separator makes prefix scans exact: `U1` no longer matches `U10`).
fn v1_presets_keyed_by_member(store: &Store) -> anyhow::Result<()> {
    let tree = store.presets.raw();
    for kv in tree.iter() {
        let (k, v) = kv?;
        if k.contains(&0) {
            continue;
        }
        if let Some(pos) = k.iter().position(|b| *b == b':') {
            let mut nk = k[..pos].to_vec();
            nk.push(0);
            nk.extend_from_slice(&k[pos + 1..]);
            tree.insert(nk, v)?;
            tree.remove(k)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Preset;

    #[test]
    fn opening_a_version_1_database_migrates_its_presets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            // Write a database the way version 1 did.
            let db = sled::open(&path).unwrap();
            db.open_tree("meta").unwrap().insert(KEY, 1u32.to_be_bytes().to_vec()).unwrap();
            let p = Preset::new("U1", "palm_tree");
            db.open_tree("presets").unwrap().insert("U1:palm_tree", serde_json::to_vec(&p).unwrap()).unwrap();
            db.flush().unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(current(&store).unwrap(), SCHEMA_VERSION);
        store.meta.insert(KEY, 1u32.to_be_bytes().to_vec()).unwrap();
        assert_eq!(run(&store).unwrap(), 2, "version 1 → 3 is two migrations");
        let got = store.preset("U1", "palm_tree").unwrap().expect("migrated preset");
        assert_eq!(got.emoji, "palm_tree");
        assert!(store.presets.raw().get("U1:palm_tree").unwrap().is_none());
    }

    /// A version 2 database (before photos had Slack files) opens at version 3 with its photos
    /// intact and none of them with a file yet.
    #[test]
    fn a_version_2_database_gains_photo_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let db = sled::open(&path).unwrap();
            db.open_tree("meta").unwrap().insert(KEY, 2u32.to_be_bytes().to_vec()).unwrap();
            db.open_tree("photos").unwrap().insert("h1", b"jpeg".to_vec()).unwrap();
            let p = Preset { photo: Some("h1".into()), ..Preset::new("U1", "palm_tree") };
            db.open_tree("presets").unwrap().insert(crate::store::preset_key("U1", "palm_tree"), serde_json::to_vec(&p).unwrap()).unwrap();
            db.flush().unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(current(&store).unwrap(), 3);
        assert_eq!(store.photo("h1").unwrap().as_deref(), Some(&b"jpeg"[..]));
        assert!(crate::store::photo_files::file_of(&store, "h1").unwrap().is_none());
        crate::store::photo_files::put_file(&store, "h1", "F1").unwrap();
        assert_eq!(crate::store::photo_files::file_count(&store), 1);
    }

    /// Regression: a brand-new database logged "migrating the database from 0 to 1".
    #[test]
    fn a_new_database_starts_at_the_current_version_without_migrating() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path().join("db")).unwrap();
        let store = Store::from_db(db, &dir.path().join("db")).unwrap();
        assert_eq!(run(&store).unwrap(), 0);
        assert_eq!(current(&store).unwrap(), SCHEMA_VERSION);
        assert_eq!(run(&store).unwrap(), 0, "and the second open has nothing to do");
    }

    #[test]
    fn a_newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let db = sled::open(&path).unwrap();
            db.open_tree("meta").unwrap().insert(KEY, 99u32.to_be_bytes().to_vec()).unwrap();
            db.flush().unwrap();
        }
        let err = Store::open(&path).err().expect("refused").to_string();
        assert!(err.contains("newer"), "{err}");
    }
}
