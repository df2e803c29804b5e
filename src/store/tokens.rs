//! The `tokens` tree: member → [`TokenRecord`], and the only module that writes it.
//!
//! When a key is set (from `STATUSINATOR_KEY`) each record is sealed by
//! [`sealed`](super::sealed) before it reaches sled, bound to its member; without one
//! records are plain JSON, as before. [`TokenTree::unlock`] runs at start-up: it
//! refuses a database whose tokens are sealed when the key is missing or wrong,
//! and seals the tokens that were written without one.
//!
//! Writes are named for what they mean ([`TokenTree::save_grant`],
//! [`TokenTree::mark_disconnected`], [`TokenTree::forget`], ...), so every rule
//! about a token's life lives here.

use std::path::Path;
use std::sync::{Arc, RwLock};

use super::sealed::{derive_key, is_sealed, Cipher};
use super::{StoreError, TokenRecord, TokenSource, KEY_VAR};
use crate::config::ConfigError;
use crate::secret::Secret;

const TREE: &str = "tokens";

/// The `tokens` tree, sealed when a key is set. Cheap to clone; clones share the key.
#[derive(Clone)]
pub struct TokenTree {
    tree: sled::Tree,
    cipher: Arc<RwLock<Option<Arc<Cipher>>>>,
}

impl std::fmt::Debug for TokenTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenTree").field("len", &self.tree.len()).field("encrypted", &self.cipher().is_some()).finish()
    }
}

/// What [`TokenTree::unlock`] found and did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Unlocked {
    /// Records that were already sealed (and open with the key).
    pub sealed: usize,
    /// Plain records sealed now.
    pub(crate) migrated: usize,
    /// Plain records left plain (no key).
    pub plain: usize,
}

// ---- reads ----

impl TokenTree {
    pub(crate) fn new(tree: sled::Tree) -> TokenTree {
        TokenTree { tree, cipher: Arc::default() }
    }

    fn cipher(&self) -> Option<Arc<Cipher>> {
        self.cipher.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Seals every later write with this key (None: plain JSON).
    fn set_key(&self, key: Option<[u8; 32]>) {
        *self.cipher.write().unwrap_or_else(|e| e.into_inner()) = key.map(|k| Arc::new(Cipher::new(&k)));
    }

    fn encode(cipher: Option<&Cipher>, member_key: &[u8], rec: &TokenRecord) -> Result<Vec<u8>, StoreError> {
        let json = serde_json::to_vec(rec).map_err(|source| StoreError::Encode { tree: TREE, source })?;
        match cipher {
            Some(c) => c.seal(member_key, &json),
            None => Ok(json),
        }
    }

    fn decode(cipher: Option<&Cipher>, member_key: &[u8], bytes: &[u8]) -> Result<TokenRecord, StoreError> {
        let decode = |b: &[u8]| serde_json::from_slice(b).map_err(|source| StoreError::Decode { tree: TREE, source });
        if is_sealed(bytes) {
            let c = cipher.ok_or(StoreError::Locked)?;
            return decode(&c.open(member_key, bytes)?);
        }
        decode(bytes)
    }

    pub fn get(&self, member: &str) -> Result<Option<TokenRecord>, StoreError> {
        match self.tree.get(member.as_bytes())? {
            None => Ok(None),
            Some(v) => Ok(Some(Self::decode(self.cipher().as_deref(), member.as_bytes(), &v)?)),
        }
    }

    pub fn contains(&self, member: &str) -> Result<bool, StoreError> {
        Ok(self.tree.contains_key(member.as_bytes())?)
    }

    /// Records whose key starts with `prefix`, skipping (and logging) any that
    /// cannot be read rather than failing the whole listing.
    pub(crate) fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Vec<(Vec<u8>, TokenRecord)>, StoreError> {
        let cipher = self.cipher();
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix(prefix.as_ref()) {
            let (k, v) = kv?;
            match Self::decode(cipher.as_deref(), &k, &v) {
                Ok(t) => out.push((k.to_vec(), t)),
                Err(e) => tracing::warn!(key = %String::from_utf8_lossy(&k), error = %e, "skipping an unreadable token record"),
            }
        }
        Ok(out)
    }

    pub fn iter(&self) -> Result<Vec<(Vec<u8>, TokenRecord)>, StoreError> {
        self.scan_prefix([])
    }

    pub fn len(&self) -> usize {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// The member's record as stored (sealed or JSON), for checks on what is at rest.
    pub fn stored_bytes(&self, member: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree.get(member.as_bytes())?.map(|v| v.to_vec()))
    }
}

// ---- the only writes ----

impl TokenTree {
    fn insert(&self, member: &str, rec: &TokenRecord) -> Result<(), StoreError> {
        let bytes = Self::encode(self.cipher().as_deref(), member.as_bytes(), rec)?;
        self.tree.insert(member.as_bytes(), bytes)?;
        Ok(())
    }

    /// Atomically replaces the record with what `f` returns (None removes it).
    /// `f` may run more than once under contention, so it must be pure. A
    /// record that cannot be read is left as it is and the error returned.
    fn update(
        &self,
        member: &str,
        mut f: impl FnMut(Option<TokenRecord>) -> Option<TokenRecord>,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let key = member.as_bytes();
        let cipher = self.cipher();
        let mut err: Option<StoreError> = None;
        let out = self.tree.update_and_fetch(key, |old| {
            err = None;
            let cur = match old.map(|b| Self::decode(cipher.as_deref(), key, b)).transpose() {
                Ok(c) => c,
                Err(e) => {
                    err = Some(e);
                    return old.map(|o| o.to_vec());
                }
            };
            match f(cur).map(|v| Self::encode(cipher.as_deref(), key, &v)) {
                None => None,
                Some(Ok(b)) => Some(b),
                Some(Err(e)) => {
                    err = Some(e);
                    old.map(|o| o.to_vec())
                }
            }
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        out.map(|v| Self::decode(cipher.as_deref(), key, &v)).transpose()
    }

    /// Changes the member's record, if there is one; returns what `f` said about it
    /// (`None` when there is no record). `f` may run more than once: keep it pure.
    fn change<T>(&self, member: &str, mut f: impl FnMut(&mut TokenRecord) -> T) -> Result<Option<T>, StoreError> {
        let mut said = None;
        self.update(member, |t| {
            said = None;
            t.map(|mut t| {
                said = Some(f(&mut t));
                t
            })
        })?;
        Ok(said)
    }

    /// The member authorised the bot (OAuth): their new record replaces any old one.
    pub(crate) fn save_grant(&self, member: &str, rec: &TokenRecord) -> Result<(), StoreError> {
        self.insert(member, rec)
    }

    /// The single-user token from the configuration belongs to `owner`.
    pub(crate) fn save_config_token(&self, owner: &str, token: Secret, scopes: Vec<String>) -> Result<(), StoreError> {
        let rec = TokenRecord {
            token,
            refresh_token: None,
            expires_at_ms: None,
            scopes,
            source: TokenSource::Config,
            disconnected: false,
            disconnect_reason: None,
            disconnect_notified: false,
        };
        self.insert(owner, &rec)
    }

    /// Forgets configuration tokens of anyone but `owner` (the token changed hands or was
    /// removed from the configuration); returns how many went.
    pub(crate) fn forget_config_tokens_except(&self, owner: Option<&str>) -> Result<usize, StoreError> {
        let mut n = 0;
        for (k, rec) in self.iter()? {
            let member = String::from_utf8_lossy(&k);
            if rec.source == TokenSource::Config && owner != Some(&*member) {
                self.tree.remove(&k)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Forgets the member's token; returns it when it could still be read.
    pub(crate) fn forget(&self, member: &str) -> Result<Option<TokenRecord>, StoreError> {
        match self.tree.remove(member.as_bytes())? {
            None => Ok(None),
            Some(v) => match Self::decode(self.cipher().as_deref(), member.as_bytes(), &v) {
                Ok(r) => Ok(Some(r)),
                Err(e) => {
                    tracing::warn!(error = %e, "removed a token record that could not be read");
                    Ok(None)
                }
            },
        }
    }

    /// Slack refused the token (or it was revoked): never use it again, and let the member
    /// be told later. Returns whether the member had a token.
    pub(crate) fn mark_disconnected(&self, member: &str, reason: &str) -> Result<bool, StoreError> {
        let had = self.change(member, |t| {
            t.disconnected = true;
            t.disconnect_reason = Some(reason.to_string());
        })?;
        Ok(had.is_some())
    }

    /// As [`mark_disconnected`](Self::mark_disconnected), but the member is being told now
    /// (or needs no telling). Returns whether this is news: the token was neither
    /// disconnected nor announced before.
    pub(crate) fn mark_disconnected_and_told(&self, member: &str, reason: &str) -> Result<bool, StoreError> {
        let newly = self.change(member, |t| {
            let newly = !t.disconnected && !t.disconnect_notified;
            t.disconnected = true;
            t.disconnect_reason = Some(reason.to_string());
            t.disconnect_notified = true;
            newly
        })?;
        Ok(newly == Some(true))
    }

    /// The member is being told their token stopped working. Returns whether they were not
    /// told before (the token is disconnected and had not been announced).
    pub(crate) fn mark_notified(&self, member: &str) -> Result<bool, StoreError> {
        let first = self.change(member, |t| {
            let first = t.disconnected && !t.disconnect_notified;
            t.disconnect_notified = true;
            first
        })?;
        Ok(first == Some(true))
    }

    /// Stores a refreshed rotating token in place of the one refreshed with `spent`, only if
    /// nobody reconnected or disconnected meanwhile (a `revivable` record may still be the
    /// expired one). Empty `fresh` scopes keep `fallback_scopes`. Returns whether it was stored.
    pub(crate) fn save_refreshed(
        &self,
        member: &str,
        fresh: &TokenRecord,
        spent: &Secret,
        revivable: bool,
        fallback_scopes: &[String],
    ) -> Result<bool, StoreError> {
        let mut saved = false;
        self.update(member, |cur| {
            saved = false;
            match cur {
                Some(c)
                    if (!c.disconnected || (revivable && c.disconnect_reason.as_deref() == Some("token_expired")))
                        && c.refresh_token.as_ref() == Some(spent) =>
                {
                    saved = true;
                    let mut f = fresh.clone();
                    if f.scopes.is_empty() {
                        f.scopes = fallback_scopes.to_vec();
                    }
                    Some(f)
                }
                other => other,
            }
        })?;
        Ok(saved)
    }
}

// ---- the key ----

impl TokenTree {
    /// Sets the tree up for this run. With a key: every sealed record must open with it,
    /// and plain ones are sealed now. Without one: sealed records make this a configuration
    /// error, so the bot refuses to start rather than run as if those members had never
    /// connected.
    pub fn unlock(&self, raw_key: Option<&str>, db: &Path) -> Result<Unlocked, StoreError> {
        let key = raw_key.map(str::trim).filter(|k| !k.is_empty()).map(derive_key);
        let cipher = key.map(|k| Cipher::new(&k));
        let mut out = Unlocked::default();
        let mut plain_keys = Vec::new();
        for kv in self.tree.iter() {
            let (k, v) = kv?;
            if !is_sealed(&v) {
                plain_keys.push(k);
                continue;
            }
            let Some(c) = &cipher else {
                return Err(ConfigError(format!(
                    "{KEY_VAR} is not set, but the database at {} holds encrypted member tokens: set {KEY_VAR} to the key they were encrypted with",
                    db.display()
                ))
                .into());
            };
            if c.open(&k, &v).is_err() {
                return Err(ConfigError(format!(
                    "{KEY_VAR} is not the key the member tokens in the database at {} were encrypted with: set it to the original key",
                    db.display()
                ))
                .into());
            }
            out.sealed += 1;
        }
        self.set_key(key);
        match &cipher {
            None => out.plain = plain_keys.len(),
            Some(c) => out.migrated = self.seal_plain(c, plain_keys)?,
        }
        Ok(out)
    }

    /// Seals the records at `keys` that are still plain; returns how many were sealed.
    fn seal_plain(&self, c: &Cipher, keys: Vec<sled::IVec>) -> Result<usize, StoreError> {
        let mut migrated = 0;
        for k in keys {
            // Re-read under compare-and-swap so a concurrent write is never lost.
            let Some(cur) = self.tree.get(&k)? else { continue };
            if is_sealed(&cur) {
                continue;
            }
            let sealed = c.seal(&k, &cur)?;
            if self.tree.compare_and_swap(&k, Some(&cur), Some(sealed))?.is_ok() {
                migrated += 1;
            }
        }
        if migrated > 0 {
            self.tree.flush()?;
        }
        Ok(migrated)
    }

    /// [`unlock`](Self::unlock) with the key from `STATUSINATOR_KEY` (empty counts as unset), logged.
    pub(crate) fn unlock_from_env(&self, db: &Path) -> Result<Unlocked, StoreError> {
        use crate::config::Env as _;
        let key = crate::config::ProcessEnv.var(KEY_VAR);
        let u = self.unlock(key.as_deref(), db)?;
        if key.is_some() {
            tracing::info!(sealed = u.sealed, migrated = u.migrated, "member tokens are encrypted at rest");
            if u.migrated > 0 {
                tracing::warn!(
                    migrated = u.migrated,
                    "encrypted tokens that were stored in plain text; old copies may linger in the database files until sled reuses that space"
                );
            }
        } else if u.plain > 0 {
            tracing::info!(tokens = u.plain, "member tokens are stored unencrypted: set {KEY_VAR} to encrypt them");
        }
        Ok(u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(token: &str) -> TokenRecord {
        TokenRecord {
            token: Secret::new(token),
            refresh_token: Some(Secret::new("xoxe-1-refresh-secret")),
            expires_at_ms: Some(1),
            scopes: vec!["users.profile:write".into()],
            source: TokenSource::Oauth,
            disconnected: false,
            disconnect_reason: None,
            disconnect_notified: false,
        }
    }

    fn tree() -> (tempfile::TempDir, sled::Db, TokenTree) {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path().join("db")).open().unwrap();
        let t = TokenTree::new(db.open_tree("tokens").unwrap());
        (dir, db, t)
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    fn raw(t: &TokenTree, member: &str) -> Vec<u8> {
        t.stored_bytes(member).unwrap().unwrap()
    }

    #[test]
    fn sealed_records_round_trip_and_hide_the_token() {
        let (_d, _db, t) = tree();
        t.set_key(Some(derive_key("k1")));
        t.insert("U1", &rec("xoxp-very-secret")).unwrap();
        let raw1 = raw(&t, "U1");
        assert!(is_sealed(&raw1));
        assert!(!contains(&raw1, b"xoxp-very-secret") && !contains(&raw1, b"refresh-secret"));
        assert_eq!(t.get("U1").unwrap().unwrap().token.expose(), "xoxp-very-secret");
        let after = t.update("U1", |r| {
            r.map(|mut r| {
                r.disconnected = true;
                r
            })
        });
        assert!(after.unwrap().unwrap().disconnected);
        assert_eq!(t.iter().unwrap().len(), 1);
        // Two writes of the same record differ (fresh nonce).
        t.insert("U2", &rec("xoxp-very-secret")).unwrap();
        t.insert("U3", &rec("xoxp-very-secret")).unwrap();
        assert_ne!(raw(&t, "U2")[1..25], raw(&t, "U3")[1..25]);
    }

    #[test]
    fn a_record_cannot_be_moved_to_another_member() {
        let (_d, _db, t) = tree();
        t.set_key(Some(derive_key("k1")));
        t.insert("U1", &rec("xoxp-a")).unwrap();
        t.tree.insert("U2", raw(&t, "U1")).unwrap();
        assert!(t.get("U2").is_err());
    }

    #[test]
    fn unlock_migrates_refuses_missing_and_wrong_keys() {
        let (_d, _db, t) = tree();
        t.insert("U1", &rec("xoxp-plain")).unwrap();
        assert_eq!(t.unlock(None, Path::new("db")).unwrap(), Unlocked { plain: 1, ..Default::default() });
        assert_eq!(t.unlock(Some("k1"), Path::new("db")).unwrap(), Unlocked { migrated: 1, ..Default::default() });
        assert!(is_sealed(&raw(&t, "U1")));
        assert_eq!(t.get("U1").unwrap().unwrap().token.expose(), "xoxp-plain");

        let e = t.unlock(None, Path::new("db")).unwrap_err();
        assert!(matches!(&e, StoreError::Config(c) if c.0.contains("STATUSINATOR_KEY is not set")), "{e}");
        let e = e.into_anyhow();
        assert!(e.downcast_ref::<ConfigError>().is_some_and(|c| c.0.contains("STATUSINATOR_KEY is not set")), "{e}");
        let e = t.unlock(Some("k2"), Path::new("db")).unwrap_err().into_anyhow();
        assert!(e.downcast_ref::<ConfigError>().is_some_and(|c| c.0.contains("is not the key")), "{e}");
        assert_eq!(t.unlock(Some("k1"), Path::new("db")).unwrap(), Unlocked { sealed: 1, ..Default::default() });
    }

    #[test]
    fn without_a_key_sealed_records_are_locked() {
        let (_d, _db, t) = tree();
        t.set_key(Some(derive_key("k1")));
        t.insert("U1", &rec("xoxp-a")).unwrap();
        t.set_key(None);
        let e = t.get("U1").unwrap_err();
        assert!(matches!(e, StoreError::Locked), "{e}");
        assert!(t.iter().unwrap().is_empty());
        assert!(t.update("U1", |r| r).is_err());
        assert!(matches!(t.mark_disconnected("U1", "x"), Err(StoreError::Locked)));
        assert!(t.stored_bytes("U1").unwrap().is_some(), "an unreadable record is kept, not dropped");
    }

    #[test]
    fn disconnecting_and_telling_are_reported_once() {
        let (_d, _db, t) = tree();
        assert!(!t.mark_disconnected("U1", "token_revoked").unwrap(), "no record, nothing marked");
        assert!(t.get("U1").unwrap().is_none());
        t.save_grant("U1", &rec("xoxp-a")).unwrap();
        assert!(t.mark_disconnected("U1", "token_revoked").unwrap());
        let r = t.get("U1").unwrap().unwrap();
        assert!(r.disconnected && !r.disconnect_notified && r.disconnect_reason.as_deref() == Some("token_revoked"));
        assert!(t.mark_notified("U1").unwrap());
        assert!(!t.mark_notified("U1").unwrap(), "told once");

        t.save_grant("U2", &rec("xoxp-b")).unwrap();
        assert!(!t.mark_notified("U2").unwrap(), "a working token is not announced");
        t.save_grant("U2", &rec("xoxp-b")).unwrap();
        assert!(t.mark_disconnected_and_told("U2", "refresh_failed: invalid_refresh_token").unwrap());
        assert!(!t.mark_disconnected_and_told("U2", "again").unwrap());
        let r = t.get("U2").unwrap().unwrap();
        assert!(r.disconnected && r.disconnect_notified && r.disconnect_reason.as_deref() == Some("again"));
        assert!(t.forget("U2").unwrap().is_some());
        assert!(t.forget("U2").unwrap().is_none());
    }

    #[test]
    fn a_refresh_lands_only_on_the_token_it_refreshed() {
        let (_d, _db, t) = tree();
        let spent = Secret::new("xoxe-1-refresh-secret");
        let mut fresh = rec("xoxp-new");
        fresh.scopes.clear();
        assert!(!t.save_refreshed("U1", &fresh, &spent, false, &[]).unwrap(), "no record: nothing stored");
        t.save_grant("U1", &rec("xoxp-old")).unwrap();
        assert!(t.save_refreshed("U1", &fresh, &spent, false, &["a".into()]).unwrap());
        let r = t.get("U1").unwrap().unwrap();
        assert_eq!((r.token.expose(), r.scopes), ("xoxp-new", vec!["a".to_string()]));
        assert!(!t.save_refreshed("U1", &fresh, &Secret::new("other"), false, &[]).unwrap(), "reconnected meanwhile");

        t.mark_disconnected("U1", "token_expired").unwrap();
        assert!(!t.save_refreshed("U1", &fresh, &spent, false, &[]).unwrap());
        assert!(t.save_refreshed("U1", &fresh, &spent, true, &[]).unwrap(), "an expired token revives");
        t.mark_disconnected("U1", "token_revoked").unwrap();
        assert!(!t.save_refreshed("U1", &fresh, &spent, true, &[]).unwrap(), "a revoked one does not");
    }

    #[test]
    fn config_tokens_of_others_are_forgotten() {
        let (_d, _db, t) = tree();
        t.save_config_token("U1", Secret::new("xoxp-1"), vec![]).unwrap();
        t.save_config_token("U2", Secret::new("xoxp-2"), vec![]).unwrap();
        t.save_grant("U3", &rec("xoxp-3")).unwrap();
        assert_eq!(t.forget_config_tokens_except(Some("U1")).unwrap(), 1);
        assert!(t.contains("U1").unwrap() && !t.contains("U2").unwrap() && t.contains("U3").unwrap());
        assert_eq!(t.get("U1").unwrap().unwrap().source, TokenSource::Config);
        assert_eq!(t.forget_config_tokens_except(None).unwrap(), 1);
        assert_eq!(t.len(), 1);
    }
}
