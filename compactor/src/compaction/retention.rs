//! The curated lake's retention: a partition whose date is older than the retention goes whole. Its manifest
//! goes first, so readers stop seeing the partition before any file it lists goes; then its data files; its
//! state last, so a run that stops half way finds the partition again and finishes it.

use chrono::NaiveDate;

use crate::lake::layout::Layout;
use crate::store::{LakeStore, StoreError};

/// The dates of the committed partitions older than `keep_from`.
pub(super) async fn expired<S: LakeStore>(
    lake: &S,
    layout: &Layout,
    keep_from: NaiveDate,
) -> Result<Vec<NaiveDate>, StoreError> {
    let states = lake.list(&layout.state_prefix()).await?;
    Ok(states.iter().filter_map(|state| layout.state_date(&state.key)).filter(|date| *date < keep_from).collect())
}

/// Deletes the partition of `date`: manifest, data files, state.
pub(super) async fn expire<S: LakeStore>(lake: &S, layout: &Layout, date: NaiveDate) -> Result<(), StoreError> {
    lake.delete(&layout.manifest_key(date)).await?;
    for file in lake.list(&layout.data_prefix(date)).await? {
        lake.delete(&file.key).await?;
    }
    lake.delete(&layout.state_key(date)).await
}
