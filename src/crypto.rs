//! Encryption at rest for members' user tokens.
//!
//! The `tokens` tree goes through a [`TokenTree`]: the same typed accessors as
//! every other tree, but when a key is set (from `STATUSINATOR_KEY`) each
//! [`TokenRecord`] is sealed with XChaCha20-Poly1305 — a random 24-byte nonce
//! per write, and the member id as associated data so a record cannot be moved
//! to another member — before it reaches sled. Without a key records are plain
//! JSON, as before. [`unlock`] runs at start-up: it refuses a database whose
//! tokens are sealed when the key is missing or wrong, and seals the tokens
//! that were written without one.
//!
//! Stored value: `0x01 ‖ nonce (24) ‖ ciphertext+tag`, or JSON (starts with `{`).

use std::path::Path;
use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use crate::config::ConfigError;
use crate::store::TokenRecord;

/// The environment variable holding the key.
pub const KEY_VAR: &str = "STATUSINATOR_KEY";

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const AAD_PREFIX: &[u8] = b"statusinator token v1\0";

/// A 32-byte key from what the operator set: 64 hex digits are the key itself,
/// anything else is hashed with SHA-256.
pub fn derive_key(raw: &str) -> [u8; 32] {
    let raw = raw.trim();
    if raw.len() == 64 {
        if let Ok(bytes) = hex::decode(raw) {
            if let Ok(k) = <[u8; 32]>::try_from(bytes.as_slice()) {
                return k;
            }
        }
    }
    use sha2::Digest;
    sha2::Sha256::digest(raw.as_bytes()).into()
}

/// Why a stored token could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is encrypted and no {KEY_VAR} is set")]
    Locked,
    #[error("the token does not decrypt with this {KEY_VAR} (wrong key, or damaged)")]
    Undecryptable,
}

/// Whether a stored value is sealed (rather than plain JSON).
pub fn is_sealed(bytes: &[u8]) -> bool {
    bytes.first() == Some(&VERSION)
}

fn aad(member_key: &[u8]) -> Vec<u8> {
    let mut a = AAD_PREFIX.to_vec();
    a.extend_from_slice(member_key);
    a
}

fn seal(cipher: &XChaCha20Poly1305, member_key: &[u8], plain: &[u8]) -> anyhow::Result<Vec<u8>> {
    let nonce: [u8; NONCE_LEN] = rand::random();
    let aad = aad(member_key);
    let ct = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad: &aad })
        .map_err(|_| anyhow::anyhow!("encrypting a token failed"))?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

fn open(cipher: &XChaCha20Poly1305, member_key: &[u8], sealed: &[u8]) -> Result<Vec<u8>, TokenError> {
    if sealed.len() < 1 + NONCE_LEN {
        return Err(TokenError::Undecryptable);
    }
    let (nonce, ct) = sealed[1..].split_at(NONCE_LEN);
    let aad = aad(member_key);
    cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad }).map_err(|_| TokenError::Undecryptable)
}

/// The `tokens` tree: member → [`TokenRecord`], sealed when a key is set.
/// Cheap to clone; clones share the key.
#[derive(Clone)]
pub struct TokenTree {
    tree: sled::Tree,
    cipher: Arc<RwLock<Option<Arc<XChaCha20Poly1305>>>>,
}

impl std::fmt::Debug for TokenTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenTree").field("len", &self.tree.len()).field("encrypted", &self.is_encrypting()).finish()
    }
}

impl TokenTree {
    pub fn new(tree: sled::Tree) -> TokenTree {
        TokenTree { tree, cipher: Arc::default() }
    }

    /// Seals every later write with this key (None: plain JSON).
    pub fn set_key(&self, key: Option<[u8; 32]>) {
        let cipher = key.map(|k| Arc::new(XChaCha20Poly1305::new(Key::from_slice(&k))));
        *self.cipher.write().unwrap_or_else(|e| e.into_inner()) = cipher;
    }

    pub fn is_encrypting(&self) -> bool {
        self.cipher().is_some()
    }

    fn cipher(&self) -> Option<Arc<XChaCha20Poly1305>> {
        self.cipher.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn encode(&self, cipher: Option<&XChaCha20Poly1305>, member_key: &[u8], rec: &TokenRecord) -> anyhow::Result<Vec<u8>> {
        let json = serde_json::to_vec(rec)?;
        match cipher {
            Some(c) => seal(c, member_key, &json),
            None => Ok(json),
        }
    }

    fn decode(&self, cipher: Option<&XChaCha20Poly1305>, member_key: &[u8], bytes: &[u8]) -> anyhow::Result<TokenRecord> {
        if is_sealed(bytes) {
            let c = cipher.ok_or(TokenError::Locked)?;
            let plain = open(c, member_key, bytes)?;
            return serde_json::from_slice(&plain).context("decoding a decrypted token record");
        }
        serde_json::from_slice(bytes).context("decoding a value in tree tokens")
    }

    pub fn get(&self, key: impl AsRef<[u8]>) -> anyhow::Result<Option<TokenRecord>> {
        let key = key.as_ref();
        match self.tree.get(key)? {
            None => Ok(None),
            Some(v) => Ok(Some(self.decode(self.cipher().as_deref(), key, &v)?)),
        }
    }

    pub fn insert(&self, key: impl AsRef<[u8]>, value: &TokenRecord) -> anyhow::Result<()> {
        let key = key.as_ref();
        let bytes = self.encode(self.cipher().as_deref(), key, value)?;
        self.tree.insert(key, bytes)?;
        Ok(())
    }

    /// Removes the record; returns it when it could still be read.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> anyhow::Result<Option<TokenRecord>> {
        let key = key.as_ref();
        match self.tree.remove(key)? {
            None => Ok(None),
            Some(v) => match self.decode(self.cipher().as_deref(), key, &v) {
                Ok(r) => Ok(Some(r)),
                Err(e) => {
                    tracing::warn!(error = %e, "removed a token record that could not be read");
                    Ok(None)
                }
            },
        }
    }

    pub fn contains(&self, key: impl AsRef<[u8]>) -> anyhow::Result<bool> {
        Ok(self.tree.contains_key(key.as_ref())?)
    }

    /// Atomically replaces the record with what `f` returns (None removes it).
    /// `f` may run more than once under contention, so it must be pure. A
    /// record that cannot be read is left as it is and the error returned.
    pub fn update(
        &self,
        key: impl AsRef<[u8]>,
        mut f: impl FnMut(Option<TokenRecord>) -> Option<TokenRecord>,
    ) -> anyhow::Result<Option<TokenRecord>> {
        let key = key.as_ref();
        let cipher = self.cipher();
        let mut err: Option<anyhow::Error> = None;
        let out = self.tree.update_and_fetch(key, |old| {
            err = None;
            let cur = match old.map(|b| self.decode(cipher.as_deref(), key, b)).transpose() {
                Ok(c) => c,
                Err(e) => {
                    err = Some(e);
                    return old.map(|o| o.to_vec());
                }
            };
            match f(cur) {
                None => None,
                Some(v) => match self.encode(cipher.as_deref(), key, &v) {
                    Ok(b) => Some(b),
                    Err(e) => {
                        err = Some(e);
                        old.map(|o| o.to_vec())
                    }
                },
            }
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        out.map(|v| self.decode(cipher.as_deref(), key, &v)).transpose()
    }

    /// Records whose key starts with `prefix`, skipping (and logging) any that
    /// cannot be read rather than failing the whole listing.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> anyhow::Result<Vec<(Vec<u8>, TokenRecord)>> {
        let cipher = self.cipher();
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix(prefix.as_ref()) {
            let (k, v) = kv?;
            match self.decode(cipher.as_deref(), &k, &v) {
                Ok(t) => out.push((k.to_vec(), t)),
                Err(e) => tracing::warn!(key = %String::from_utf8_lossy(&k), error = %e, "skipping an unreadable token record"),
            }
        }
        Ok(out)
    }

    pub fn iter(&self) -> anyhow::Result<Vec<(Vec<u8>, TokenRecord)>> {
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

/// What [`unlock`] found and did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Unlocked {
    /// Records that were already sealed (and open with the key).
    pub sealed: usize,
    /// Plain records sealed now.
    pub migrated: usize,
    /// Plain records left plain (no key).
    pub plain: usize,
}

/// Sets the tokens tree up for this run. With a key: every sealed record must
/// open with it, and plain ones are sealed now. Without one: sealed records
/// make this a configuration error, so the bot refuses to start rather than
/// run as if those members had never connected.
pub fn unlock(tokens: &TokenTree, raw_key: Option<&str>, db: &Path) -> anyhow::Result<Unlocked> {
    let key = raw_key.map(str::trim).filter(|k| !k.is_empty()).map(derive_key);
    let cipher = key.map(|k| XChaCha20Poly1305::new(Key::from_slice(&k)));
    let mut out = Unlocked::default();
    let mut plain_keys = Vec::new();
    for kv in tokens.raw().iter() {
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
        if open(c, &k, &v).is_err() {
            return Err(ConfigError(format!(
                "{KEY_VAR} is not the key the member tokens in the database at {} were encrypted with: set it to the original key",
                db.display()
            ))
            .into());
        }
        out.sealed += 1;
    }
    tokens.set_key(key);
    match &cipher {
        None => out.plain = plain_keys.len(),
        Some(c) => {
            for k in plain_keys {
                // Re-read under compare-and-swap so a concurrent write is never lost.
                let Some(cur) = tokens.raw().get(&k)? else { continue };
                if is_sealed(&cur) {
                    continue;
                }
                let sealed = seal(c, &k, &cur)?;
                if tokens.raw().compare_and_swap(&k, Some(&cur), Some(sealed))?.is_ok() {
                    out.migrated += 1;
                }
            }
            if out.migrated > 0 {
                tokens.raw().flush()?;
            }
        }
    }
    Ok(out)
}

/// [`unlock`] with the key from `STATUSINATOR_KEY` (empty counts as unset), logged.
pub fn unlock_from_env(tokens: &TokenTree, db: &Path) -> anyhow::Result<Unlocked> {
    use crate::config::Env as _;
    let key = crate::config::ProcessEnv.var(KEY_VAR);
    let u = unlock(tokens, key.as_deref(), db)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::store::TokenSource;

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

    #[test]
    fn keys_are_hex_or_hashed() {
        let hex_key = "00".repeat(31) + "ff";
        assert_eq!(derive_key(&hex_key)[31], 0xff);
        assert_eq!(derive_key("correct horse"), derive_key("  correct horse \n"));
        assert_ne!(derive_key("a"), derive_key("b"));
    }

    #[test]
    fn sealed_records_round_trip_and_hide_the_token() {
        let (_d, _db, t) = tree();
        t.set_key(Some(derive_key("k1")));
        t.insert("U1", &rec("xoxp-very-secret")).unwrap();
        let raw = t.raw().get("U1").unwrap().unwrap();
        assert!(is_sealed(&raw));
        assert!(!contains(&raw, b"xoxp-very-secret") && !contains(&raw, b"refresh-secret"));
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
        assert_ne!(t.raw().get("U2").unwrap().unwrap()[1..25], t.raw().get("U3").unwrap().unwrap()[1..25]);
    }

    #[test]
    fn a_record_cannot_be_moved_to_another_member() {
        let (_d, _db, t) = tree();
        t.set_key(Some(derive_key("k1")));
        t.insert("U1", &rec("xoxp-a")).unwrap();
        let raw = t.raw().get("U1").unwrap().unwrap();
        t.raw().insert("U2", raw).unwrap();
        assert!(t.get("U2").is_err());
    }

    #[test]
    fn unlock_migrates_refuses_missing_and_wrong_keys() {
        let (_d, _db, t) = tree();
        t.insert("U1", &rec("xoxp-plain")).unwrap();
        assert_eq!(unlock(&t, None, Path::new("db")).unwrap(), Unlocked { plain: 1, ..Default::default() });
        assert_eq!(unlock(&t, Some("k1"), Path::new("db")).unwrap(), Unlocked { migrated: 1, ..Default::default() });
        assert!(is_sealed(&t.raw().get("U1").unwrap().unwrap()));
        assert_eq!(t.get("U1").unwrap().unwrap().token.expose(), "xoxp-plain");

        let e = unlock(&t, None, Path::new("db")).unwrap_err();
        assert!(e.downcast_ref::<ConfigError>().is_some_and(|c| c.0.contains("STATUSINATOR_KEY is not set")), "{e}");
        let e = unlock(&t, Some("k2"), Path::new("db")).unwrap_err();
        assert!(e.downcast_ref::<ConfigError>().is_some_and(|c| c.0.contains("is not the key")), "{e}");
        assert_eq!(unlock(&t, Some("k1"), Path::new("db")).unwrap(), Unlocked { sealed: 1, ..Default::default() });
    }

    #[test]
    fn without_a_key_sealed_records_are_locked() {
        let (_d, _db, t) = tree();
        t.set_key(Some(derive_key("k1")));
        t.insert("U1", &rec("xoxp-a")).unwrap();
        t.set_key(None);
        let e = t.get("U1").unwrap_err();
        assert!(e.downcast_ref::<TokenError>().is_some(), "{e}");
        assert!(t.iter().unwrap().is_empty());
        assert!(t.update("U1", |r| r).is_err());
        assert!(t.raw().get("U1").unwrap().is_some(), "an unreadable record is kept, not dropped");
    }
}
