//! The lake's key ledger: which pseudonym key versions wrote tokens into it, each by its fingerprint (never
//! the key). A key is taken only if it is one the ledger holds, or newer than all of them: a version reused
//! with other bytes, or an older version than one already used, would write tokens that look like the lake's
//! but do not join with them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One key version that wrote tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsedKey {
    pub version: u32,
    pub fingerprint: String,
    pub first_used: DateTime<Utc>,
}

/// Every key version that wrote tokens, in the order first used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyLedger {
    pub keys: Vec<UsedKey>,
}

/// A key the ledger does not let write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefused {
    #[error(
        "pseudonym key version {version} already wrote tokens with other key bytes; a new key needs a version above {highest}"
    )]
    VersionReused { version: u32, highest: u32 },
    #[error(
        "pseudonym key version {version} is older than version {highest}, which already wrote tokens; a new key needs a version above {highest}"
    )]
    Older { version: u32, highest: u32 },
}

/// What the ledger says of a key it lets write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// It holds this version with these bytes.
    Known,
    /// A version above every one it holds: add it.
    New,
}

/// The ledger could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the key ledger {key} is not valid: {source}")]
pub struct LedgerError {
    pub key: String,
    #[source]
    pub source: serde_json::Error,
}

impl KeyLedger {
    pub(crate) fn from_json(key: &str, bytes: &[u8]) -> Result<Self, LedgerError> {
        serde_json::from_slice(bytes).map_err(|source| LedgerError { key: key.to_owned(), source })
    }

    pub(crate) fn to_json(&self) -> Vec<u8> {
        // Strings, integers and times always serialise.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Whether the key `version` with `fingerprint` may write tokens.
    pub(crate) fn admit(&self, version: u32, fingerprint: &str) -> Result<Admission, KeyRefused> {
        let highest = self.keys.iter().map(|key| key.version).max();
        match self.keys.iter().find(|key| key.version == version) {
            Some(known) if known.fingerprint == fingerprint => Ok(Admission::Known),
            Some(_) => Err(KeyRefused::VersionReused { version, highest: highest.unwrap_or(version) }),
            None => match highest {
                Some(highest) if highest > version => Err(KeyRefused::Older { version, highest }),
                _ => Ok(Admission::New),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(keys: &[(u32, &str)]) -> KeyLedger {
        let keys = keys
            .iter()
            .map(|(version, fingerprint)| UsedKey {
                version: *version,
                fingerprint: (*fingerprint).to_owned(),
                first_used: DateTime::UNIX_EPOCH,
            })
            .collect();
        KeyLedger { keys }
    }

    #[test]
    fn known_keys_and_newer_versions_write_and_the_rest_is_refused() {
        let ledger = ledger(&[(1, "a"), (3, "c")]);
        assert_eq!(ledger.admit(1, "a"), Ok(Admission::Known), "a container still on the old key");
        assert_eq!(ledger.admit(3, "c"), Ok(Admission::Known));
        assert_eq!(ledger.admit(4, "d"), Ok(Admission::New));
        assert_eq!(ledger.admit(3, "x"), Err(KeyRefused::VersionReused { version: 3, highest: 3 }));
        assert_eq!(ledger.admit(1, "x"), Err(KeyRefused::VersionReused { version: 1, highest: 3 }));
        assert_eq!(ledger.admit(2, "b"), Err(KeyRefused::Older { version: 2, highest: 3 }));
        assert_eq!(KeyLedger::default().admit(1, "a"), Ok(Admission::New));
    }

    #[test]
    fn a_ledger_round_trips_and_a_damaged_one_is_named() {
        let ledger = ledger(&[(1, "a")]);
        assert_eq!(KeyLedger::from_json("k", &ledger.to_json()).expect("valid"), ledger);
        let error = KeyLedger::from_json("curated/state/keys.json", b"[").expect_err("damaged");
        assert!(error.to_string().starts_with("the key ledger curated/state/keys.json is not valid"), "{error}");
    }
}
