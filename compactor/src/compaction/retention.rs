//! The curated lake's retention: a partition whose date is older than the retention goes whole. Its manifest
//! goes first, so readers stop seeing the partition before any file it lists goes; then its data files; its
//! state last, so a run that stops half way finds the partition again and finishes it.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::lake::layout::Layout;
use crate::store::{LakeStore, StoreError};

/// The dates older than `keep_from` of the partitions with a state or a manifest. A manifest without a state
/// is one a run published for a day another run was expiring at the same time (runs either side of
/// midnight disagree on the day); it is found and deleted too.
pub(super) async fn expired<S: LakeStore>(
    lake: &S,
    layout: &Layout,
    keep_from: NaiveDate,
) -> Result<BTreeSet<NaiveDate>, StoreError> {
    let states = lake.list(&layout.state_prefix()).await?;
    let manifests = lake.list(&layout.manifest_prefix()).await?;
    let dates = states.iter().filter_map(|state| layout.state_date(&state.key));
    let published = manifests.iter().filter_map(|manifest| layout.manifest_date(&manifest.key));
    Ok(dates.chain(published).filter(|date| *date < keep_from).collect())
}

/// Deletes the partition of `date`: manifest, data files, state.
pub(super) async fn expire<S: LakeStore>(lake: &S, layout: &Layout, date: NaiveDate) -> Result<(), StoreError> {
    lake.delete(&layout.manifest_key(date)).await?;
    for file in lake.list(&layout.data_prefix(date)).await? {
        lake.delete(&file.key).await?;
    }
    lake.delete(&layout.shadow_state_key(date)).await?;
    lake.delete(&layout.state_key(date)).await
}
