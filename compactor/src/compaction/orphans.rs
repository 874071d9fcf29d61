//! Data files no state lists: a run that died before its commit, or files a merge replaced. Readers never
//! see them; they are deleted once older than any run or query that could still use them.

use std::collections::HashSet;

use chrono::NaiveDate;

use crate::compaction::Run;
use crate::lake::state::PartitionState;
use crate::store::{LakeStore, StoreError};

/// Deletes the partition's unlisted data files older than the orphan age, and counts them.
pub(super) async fn delete<S: LakeStore>(
    store: &S,
    run: &Run<'_>,
    date: NaiveDate,
    state: &PartitionState,
) -> Result<u64, StoreError> {
    let listed: HashSet<&str> = state.files.iter().map(|file| file.key.as_str()).collect();
    let age = chrono::Duration::from_std(run.settings.orphan_age).unwrap_or(chrono::Duration::MAX);
    let cutoff = run.now.checked_sub_signed(age).unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    let mut deleted = 0;
    for object in store.list(&run.layout.data_prefix(date)).await? {
        if !listed.contains(object.key.as_str()) && object.last_modified < cutoff {
            store.delete(&object.key).await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}
