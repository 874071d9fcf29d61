//! The array's history a rebuild reads: the sealed segments and the live array in the raw bucket, each with
//! the days its metadata says it holds (`shared::array`).

use chrono::{NaiveDate, NaiveTime};
use futures::{StreamExt, TryStreamExt};
use shared::array::{Days, FIRST_DAY_METADATA, LAST_DAY_METADATA, segment_prefix};

use crate::compaction::Run;
use crate::store::{LakeStore, Listed, StoreError};

/// HEADs of the history's objects in flight at once.
const HEADS_AT_ONCE: usize = 16;
/// How long before a day an object may be last written and still hold a record of it: a day, as the consumer
/// refuses a record more than a day after SQS took its message, and a day more for records taken before it
/// did and for the clocks.
const WRITTEN_BEFORE_DAYS: i64 = 2;

/// An object of the history and the days it holds (`None`: it does not say, so any).
pub(super) struct HistoryObject {
    pub(super) listed: Listed,
    pub(super) days: Option<Days>,
}

impl HistoryObject {
    pub(super) fn may_hold(&self, day: NaiveDate) -> bool {
        self.days.is_none_or(|days| days.contains(day))
    }
}

/// The history's objects that can hold `from` or a later day, and how many were passed over by their time
/// alone.
///
/// An object last written more than a day before `from` holds no record of it: each of its records was
/// appended before that write, after SQS took its message, and the consumer refuses a record more than a day
/// after that; a second day covers the clocks. So years of segments cost a listing, and HEADs only of
/// those written since.
pub(super) async fn history<S: LakeStore>(
    raw: &S,
    run: &Run<'_>,
    from: NaiveDate,
) -> Result<(Vec<HistoryObject>, u64), StoreError> {
    let array_key = &run.layout.array_key;
    let mut listed = raw.list(&segment_prefix(array_key)).await?;
    listed.extend(raw.list(array_key).await?.into_iter().filter(|object| &object.key == array_key));
    let since = from.and_time(NaiveTime::MIN).and_utc() - chrono::Duration::days(WRITTEN_BEFORE_DAYS);
    let total = listed.len();
    listed.retain(|object| object.last_modified >= since);
    let written_before = (total - listed.len()) as u64;
    let heads: Vec<Option<HistoryObject>> = futures::stream::iter(listed)
        .map(|object| async move {
            let metadata = raw.metadata(&object.key).await?;
            Ok::<_, StoreError>(metadata.map(|metadata| {
                let day = |name| metadata.get(name).map(String::as_str);
                HistoryObject { days: Days::parse(day(FIRST_DAY_METADATA), day(LAST_DAY_METADATA)), listed: object }
            }))
        })
        .buffered(HEADS_AT_ONCE)
        .try_collect()
        .await?;
    // An object gone since the listing was sealed (the live array) or expired (a segment).
    Ok((heads.into_iter().flatten().collect(), written_before))
}
