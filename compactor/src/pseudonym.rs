//! Keyed pseudonyms: an identifier becomes `k<version>.<token>`, the token the first 96 bits of
//! HMAC-SHA256 under the stack's secret key, in base64url. The same identifier gives the same token under
//! one key, so analysts count and join people across days; without the key no one can test a guess, which
//! an unkeyed hash of a CNP (about 3.8 billion values) would allow in seconds. The version names the key,
//! so a rotated key's tokens are told apart from the old ones.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The shortest secret accepted: HMAC-SHA256's full strength.
pub const MIN_SECRET_BYTES: usize = 32;
/// Bytes of the HMAC kept in a token: 96 bits. Two of the 3.8 billion possible CNPs share a token with a
/// chance of about 1 in 10^10, and no one without the key can compute one. Each kept byte is a byte of the
/// curated table a record, which 128 bits would take from about 108 to about 132 (six tokens a record of
/// random text do not compress); docs/curated-lake.md has the measurement.
const TOKEN_BYTES: usize = 12;

/// The secret key and its version. Its `Debug` shows the version only.
#[derive(Clone)]
pub struct PseudonymKey {
    version: u32,
    mac: Hmac<Sha256>,
}

/// A key that cannot be used, named without its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the pseudonym key has {0} bytes; it needs at least {MIN_SECRET_BYTES}")]
    TooShort(usize),
}

impl PseudonymKey {
    /// The key `secret` as version `version`.
    pub fn new(version: u32, secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(KeyError::TooShort(secret.len()));
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| KeyError::TooShort(secret.len()))?;
        Ok(Self { version, mac })
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// The token of `value` as the identifier `kind` (a column name). The kind is part of the MAC's input,
    /// so the same text as two kinds of identifier gives two unrelated tokens.
    pub fn token(&self, kind: &str, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(kind.as_bytes());
        // A byte no kind contains ends it, so ("ab", "c") and ("a", "bc") differ.
        mac.update(&[0x1f]);
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut token = format!("k{}.", self.version);
        URL_SAFE_NO_PAD.encode_string(&digest[..TOKEN_BYTES], &mut token);
        token
    }
}

impl PseudonymKey {
    /// A name for the key's bytes that tells two keys apart and gives nothing of either: the HMAC of a fixed
    /// text under the key, in base64url. The lake's key ledger keeps it, never the key.
    pub fn fingerprint(&self) -> String {
        let mut mac = self.mac.clone();
        mac.update(b"pseudonym key fingerprint");
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("PseudonymKey").field("version", &self.version).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(version: u32, byte: u8) -> PseudonymKey {
        PseudonymKey::new(version, &[byte; 32]).expect("a valid key")
    }

    #[test]
    fn a_token_is_stable_versioned_and_96_bits_of_base64url() {
        let token = key(1, 7).token("personal_number", "1900101120013");
        assert_eq!(token, key(1, 7).token("personal_number", "1900101120013"));
        let (prefix, body) = token.split_once('.').expect("version and token");
        assert_eq!(prefix, "k1");
        assert_eq!(body.len(), 16, "12 bytes in base64url without padding");
        assert!(body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn tokens_differ_by_key_version_kind_and_value() {
        let base = key(1, 7).token("email", "ana@example.ro");
        assert_ne!(base, key(1, 8).token("email", "ana@example.ro"), "another secret");
        assert_ne!(base, key(2, 7).token("email", "ana@example.ro"), "another version");
        assert_ne!(base, key(1, 7).token("phone_number", "ana@example.ro"), "another kind");
        assert_ne!(base, key(1, 7).token("email", "ana@example.com"), "another value");
        assert_ne!(key(1, 7).token("ab", "c"), key(1, 7).token("a", "bc"));
    }

    #[test]
    fn a_fingerprint_tells_keys_apart_and_not_versions() {
        assert_eq!(key(1, 7).fingerprint(), key(2, 7).fingerprint());
        assert_ne!(key(1, 7).fingerprint(), key(1, 8).fingerprint());
        assert_eq!(key(1, 7).fingerprint().len(), 43);
    }

    #[test]
    fn a_short_key_is_refused_and_no_key_is_ever_printed() {
        assert_eq!(PseudonymKey::new(1, &[1; 16]).err(), Some(KeyError::TooShort(16)));
        let printed = format!("{:?}", key(3, 0xab));
        assert_eq!(printed, "PseudonymKey { version: 3, .. }");
    }
}
