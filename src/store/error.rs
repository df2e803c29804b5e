//! `StoreError`: why a store operation failed, typed, for the store's public API.

use crate::config::ConfigError;

/// The environment variable holding the key the tokens are sealed with.
pub(crate) const KEY_VAR: &str = "STATUSINATOR_KEY";

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database failed: {0}")]
    Db(#[from] sled::Error),
    #[error("decoding a value in tree {tree}: {source}")]
    Decode { tree: &'static str, source: serde_json::Error },
    #[error("encoding a value for tree {tree}: {source}")]
    Encode { tree: &'static str, source: serde_json::Error },
    #[error("the token is encrypted and no {KEY_VAR} is set")]
    Locked,
    #[error("the token does not decrypt with this {KEY_VAR} (wrong key, or damaged)")]
    Undecryptable,
    #[error("encrypting a token failed")]
    Seal,
    /// The database cannot be used with this configuration (the bot must not start).
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl StoreError {
    /// As an `anyhow` error that keeps a [`ConfigError`] on top, so the command line still
    /// recognises it (and exits with the configuration-error code).
    pub(crate) fn into_anyhow(self) -> anyhow::Error {
        match self {
            StoreError::Config(c) => c.into(),
            e => e.into(),
        }
    }
}
