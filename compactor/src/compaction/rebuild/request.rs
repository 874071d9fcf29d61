//! A rebuild's request: the days an operator asks for, checked, and kept in the lake with the next day to
//! rebuild, replaced only by a write conditional on the version read, so two rebuilds never both advance it.

use bytes::Bytes;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::RebuildError;
use crate::store::{Condition, LakeStore, StoreError};

/// The most days one request rebuilds: ten years.
pub const MAX_DAYS: u64 = 3660;

/// The days to rebuild, both ends included, and the next one to rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebuildRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) next: Option<NaiveDate>,
}

/// An invocation's event asked for a rebuild it cannot have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RebuildRefused {
    #[error(r#"a rebuild is asked for as {{"rebuild": {{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}}}}: {0}"#)]
    Shape(String),
    #[error("the rebuild's from ({from}) is after its to ({to})")]
    Backwards { from: NaiveDate, to: NaiveDate },
    #[error("a rebuild takes at most {MAX_DAYS} days; {from} to {to} is more")]
    TooLong { from: NaiveDate, to: NaiveDate },
}

impl RebuildRequest {
    /// The rebuild the event asks for: `Ok(None)` for an event without `rebuild` (the schedule's).
    pub fn from_event(event: &Value) -> Result<Option<Self>, RebuildRefused> {
        let Some(asked) = event.get("rebuild") else { return Ok(None) };
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Asked {
            from: NaiveDate,
            to: NaiveDate,
        }
        let Asked { from, to } = Asked::deserialize(asked).map_err(|error| RebuildRefused::Shape(error.to_string()))?;
        if from > to {
            return Err(RebuildRefused::Backwards { from, to });
        }
        if to.signed_duration_since(from).num_days() >= MAX_DAYS as i64 {
            return Err(RebuildRefused::TooLong { from, to });
        }
        Ok(Some(Self { from, to, next: None }))
    }

    /// The first day not rebuilt yet.
    pub(super) fn next(&self) -> NaiveDate {
        self.next.unwrap_or(self.from)
    }
}

/// The request kept in the lake, and the ETag a later write names it by.
pub(super) struct Kept {
    pub(super) request: RebuildRequest,
    pub(super) etag: String,
}

/// The request under way, if any.
pub(super) async fn read<S: LakeStore>(lake: &S, key: &str) -> Result<Option<Kept>, RebuildError> {
    let Some(found) = lake.get(key).await.map_err(RebuildError::Store)? else { return Ok(None) };
    let request =
        serde_json::from_slice(&found.body).map_err(|source| RebuildError::Request { key: key.to_owned(), source })?;
    Ok(Some(Kept { request, etag: found.etag }))
}

/// Writes `request` if `condition` holds: `Ok(None)` when another rebuild replaced it since it was read.
pub(super) async fn save<S: LakeStore>(
    lake: &S,
    key: &str,
    request: RebuildRequest,
    condition: Condition,
) -> Result<Option<Kept>, RebuildError> {
    // A request of dates always serialises.
    let body = serde_json::to_vec(&request).unwrap_or_default();
    match lake.put(key, Bytes::from(body), condition).await {
        Ok(etag) => Ok(Some(Kept { request, etag })),
        Err(StoreError::Changed { .. }) => Ok(None),
        Err(error) => Err(RebuildError::Store(error)),
    }
}

/// Deletes the request once its last day is done, unless another rebuild replaced it since.
pub(super) async fn finish<S: LakeStore>(lake: &S, key: &str, kept: &Kept) -> Result<(), RebuildError> {
    match read(lake, key).await? {
        Some(current) if current.etag == kept.etag => lake.delete(key).await.map_err(RebuildError::Store),
        _ => Ok(()),
    }
}
