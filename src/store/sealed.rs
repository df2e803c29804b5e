//! The encryption codec for values at rest: key derivation and seal/open of
//! bytes bound to the key they are stored under.
//!
//! A sealed value is `0x01 ‖ nonce (24) ‖ ciphertext+tag`: XChaCha20-Poly1305
//! with a random nonce per seal, and the record's key (the member id) in the
//! associated data so a sealed value cannot be moved to another key. This
//! module knows bytes only; what they mean is up to the caller (`tokens`).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use super::StoreError;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const AAD_PREFIX: &[u8] = b"statusinator token v1\0";

/// A 32-byte key from what the operator set: 64 hex digits are the key itself,
/// anything else is hashed with SHA-256.
pub(crate) fn derive_key(raw: &str) -> [u8; 32] {
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

/// Whether a stored value is sealed (rather than plain JSON).
pub fn is_sealed(bytes: &[u8]) -> bool {
    bytes.first() == Some(&VERSION)
}

/// A key ready to seal and open values.
pub(crate) struct Cipher(XChaCha20Poly1305);

impl Cipher {
    pub(crate) fn new(key: &[u8; 32]) -> Cipher {
        Cipher(XChaCha20Poly1305::new(Key::from_slice(key)))
    }

    /// Seals `plain` for the record stored under `record_key`.
    pub(crate) fn seal(&self, record_key: &[u8], plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let aad = aad(record_key);
        let ct = self.0.encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad: &aad }).map_err(|_| StoreError::Seal)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a value sealed for `record_key` (wrong key, wrong record or damage: `Undecryptable`).
    pub(crate) fn open(&self, record_key: &[u8], sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        if sealed.len() < 1 + NONCE_LEN {
            return Err(StoreError::Undecryptable);
        }
        let (nonce, ct) = sealed[1..].split_at(NONCE_LEN);
        let aad = aad(record_key);
        self.0.decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad }).map_err(|_| StoreError::Undecryptable)
    }
}

fn aad(record_key: &[u8]) -> Vec<u8> {
    let mut a = AAD_PREFIX.to_vec();
    a.extend_from_slice(record_key);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hex_or_hashed() {
        let hex_key = "00".repeat(31) + "ff";
        assert_eq!(derive_key(&hex_key)[31], 0xff);
        assert_eq!(derive_key("correct horse"), derive_key("  correct horse \n"));
        assert_ne!(derive_key("a"), derive_key("b"));
    }

    #[test]
    fn sealed_bytes_open_only_for_their_record_and_key() {
        let c = Cipher::new(&derive_key("k1"));
        let s = c.seal(b"U1", b"{\"x\":1}").unwrap();
        assert!(is_sealed(&s) && !is_sealed(b"{\"x\":1}"));
        assert_eq!(c.open(b"U1", &s).unwrap(), b"{\"x\":1}");
        assert!(matches!(c.open(b"U2", &s), Err(StoreError::Undecryptable)));
        assert!(matches!(Cipher::new(&derive_key("k2")).open(b"U1", &s), Err(StoreError::Undecryptable)));
        assert!(matches!(c.open(b"U1", &s[..10]), Err(StoreError::Undecryptable)));
        assert_ne!(c.seal(b"U1", b"same").unwrap()[1..25], c.seal(b"U1", b"same").unwrap()[1..25]);
    }
}
