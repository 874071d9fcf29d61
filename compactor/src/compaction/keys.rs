//! A run's check of its pseudonym key against the lake's key ledger, before it writes a token: a key the
//! ledger refuses stops the run; a newer one is added with a write conditional on the ledger read.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tracing::warn;

use super::RunError;
use crate::lake::keys::{Admission, KeyLedger, UsedKey};
use crate::lake::layout::Layout;
use crate::pseudonym::PseudonymKey;
use crate::store::{Condition, LakeStore, StoreError};

/// Ledger writes lost to other runs before the run gives up.
const MAX_CONFLICTS: u32 = 8;

/// Checks `key` against the ledger in `lake`, adding it when it is newer than every key there.
pub(super) async fn admit<S: LakeStore>(
    lake: &S,
    layout: &Layout,
    key: &PseudonymKey,
    now: DateTime<Utc>,
) -> Result<(), RunError> {
    let ledger_key = layout.key_ledger_key();
    let fingerprint = key.fingerprint();
    for _ in 0..MAX_CONFLICTS {
        let (mut ledger, condition) = match lake.get(&ledger_key).await.map_err(RunError::KeyLedgerStore)? {
            None => (KeyLedger::default(), Condition::IfAbsent),
            Some(fetched) => (KeyLedger::from_json(&ledger_key, &fetched.body)?, Condition::IfMatch(fetched.etag)),
        };
        if ledger.admit(key.version(), &fingerprint)? == Admission::Known {
            return Ok(());
        }
        ledger.keys.push(UsedKey { version: key.version(), fingerprint: fingerprint.clone(), first_used: now });
        match lake.put(&ledger_key, Bytes::from(ledger.to_json()), condition).await {
            Ok(_) => {
                // The template's PseudonymKeyAddedAlarm counts this line by its text.
                warn!(version = key.version(), "a new pseudonym key version entered the key ledger");
                return Ok(());
            }
            Err(StoreError::Changed { .. }) => continue,
            Err(error) => return Err(RunError::KeyLedgerStore(error)),
        }
    }
    Err(RunError::KeyLedgerContended)
}
