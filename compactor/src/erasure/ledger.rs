//! What an erasure keeps in the raw bucket under `erasure/`: the persons erased so far (tokens only), the
//! pass under way over the stores with its counts, each finished request's receipt, and each refused
//! request with its reason. Every object that more than one run may write is replaced only by a write
//! conditional on the version read.

use std::collections::BTreeSet;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::person::Tokens;
use crate::curate::{CuratedRecord, PersonalData, normalised};
use crate::store::{Condition, LakeStore, StoreError};

/// Where an operator puts a request.
pub const REQUESTS_PREFIX: &str = "erasure/requests/";
/// Where a refused request goes, with its reason.
pub const REFUSED_PREFIX: &str = "erasure/refused/";
/// Where a finished request's receipt goes.
pub const RECEIPTS_PREFIX: &str = "erasure/receipts/";
/// The persons erased so far.
pub const ERASED_KEY: &str = "erasure/erased.json";
/// The pass under way.
pub const PASS_KEY: &str = "erasure/pass.json";

/// An object of the ledger that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{key} is not valid: {source}")]
    Invalid {
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

/// The persons erased so far, as tokens: records of theirs that arrive later are removed too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Erased {
    pub(crate) persons: Tokens,
    /// Objects written since this time (less an overlap) are searched by the next sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) swept_at: Option<DateTime<Utc>>,
}

/// The erased persons a compaction leaves out of the rows it adds.
#[derive(Debug, Default)]
pub struct ErasedPersons {
    tokens: Option<Tokens>,
}

impl ErasedPersons {
    pub(crate) fn new(tokens: Tokens) -> Self {
        Self { tokens: (!tokens.is_empty()).then_some(tokens) }
    }

    /// Whether `row` is a record of an erased person.
    pub(crate) fn holds(&self, row: &CuratedRecord, personal: &PersonalData) -> bool {
        let Some(tokens) = &self.tokens else { return false };
        [
            (crate::curate::PERSONAL_NUMBER, &row.personal_number),
            (crate::curate::EMAIL, &row.email),
            (crate::curate::IBAN, &row.iban),
            (crate::curate::PHONE_NUMBER, &row.phone_number),
        ]
        .into_iter()
        .any(|(column, value)| {
            let set = tokens.column(column);
            match personal {
                PersonalData::Pseudonymised(_) => set.contains(value.as_str()),
                PersonalData::Raw => set.contains(&super::person::token(personal, column, &normalised(column, value))),
            }
        })
    }
}

/// Where a pass is: the stores are gone through in this order, each object by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stage {
    Errors,
    Landing,
    Segments,
    Array,
    Curated,
    /// The raw objects and partition states written since the pass began (less an overlap): a segment sealed
    /// from a version read before the array was erased, a landing object or a commit that came after its
    /// stage listed them.
    Since,
    Done,
}

/// Records removed from one kind of place, and the objects they were in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Place {
    pub(crate) records: u64,
    pub(crate) objects: BTreeSet<String>,
}

/// Every kind of place a person is removed from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Places {
    pub(crate) array: Place,
    pub(crate) segments: Place,
    pub(crate) landing: Place,
    pub(crate) errors: Place,
    pub(crate) curated: Place,
}

impl Places {
    pub(crate) fn at(&mut self, stage: Stage) -> &mut Place {
        match stage {
            Stage::Errors => &mut self.errors,
            Stage::Landing => &mut self.landing,
            Stage::Segments => &mut self.segments,
            Stage::Array => &mut self.array,
            Stage::Curated | Stage::Since | Stage::Done => &mut self.curated,
        }
    }

    pub(crate) fn records(&self) -> u64 {
        [&self.array, &self.segments, &self.landing, &self.errors, &self.curated]
            .iter()
            .map(|place| place.records)
            .sum()
    }
}

/// A request a pass works on: its name under [`REQUESTS_PREFIX`], its persons' tokens and what was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Taken {
    pub(crate) name: String,
    /// The version of the request taken: one put again under the same name meanwhile is another request.
    pub(crate) etag: String,
    pub(crate) received_at: DateTime<Utc>,
    pub(crate) persons: Tokens,
    pub(crate) places: Places,
}

/// The pass under way: the requests it took when it began, and how far it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pass {
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) requests: Vec<Taken>,
    pub(crate) stage: Stage,
    /// The last object of the stage gone through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) after: Option<String>,
}

/// What a finished request's receipt says: when, who (by tokens), and what was removed from where.
#[derive(Debug, Serialize)]
pub(crate) struct Receipt<'a> {
    pub(crate) request: &'a str,
    pub(crate) received_at: DateTime<Utc>,
    pub(crate) finished_at: DateTime<Utc>,
    pub(crate) persons: &'a Tokens,
    pub(crate) places: &'a Places,
}

/// A refused request: why, when, and the request as it came (raw; expires with the error output).
#[derive(Debug, Serialize)]
pub(crate) struct Refused<'a> {
    pub(crate) reason: String,
    pub(crate) refused_at: DateTime<Utc>,
    pub(crate) request: &'a str,
}

/// The ledger object `key` and its ETag, or `None`.
pub(crate) async fn read<S: LakeStore, T: DeserializeOwned>(
    raw: &S,
    key: &str,
) -> Result<Option<(T, String)>, LedgerError> {
    let Some(fetched) = raw.get(key).await? else { return Ok(None) };
    let value =
        serde_json::from_slice(&fetched.body).map_err(|source| LedgerError::Invalid { key: key.to_owned(), source })?;
    Ok(Some((value, fetched.etag)))
}

/// Writes `value` to `key` if `condition` holds; gives the new ETag.
pub(crate) async fn write<S: LakeStore, T: Serialize>(
    raw: &S,
    key: &str,
    value: &T,
    condition: Condition,
) -> Result<String, StoreError> {
    // The ledger's types are strings, numbers and times: they always serialise.
    let body = serde_json::to_vec_pretty(value).unwrap_or_default();
    raw.put(key, Bytes::from(body), condition).await
}
