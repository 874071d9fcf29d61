//! Data files no state lists: a run that died before its commit, or files a rewrite replaced. They are
//! deleted once the orphan age has passed since they stopped being of use: since they were written, for a
//! file no state ever listed (no run still writing could commit it), and since they were replaced, for a
//! file a manifest listed (no query that read that manifest still reads it).

use std::collections::HashSet;

use chrono::NaiveDate;

use super::partition::read_at;
use crate::compaction::{CompactError, Run};
use crate::store::LakeStore;

/// Deletes the partition's unlisted data files older than the orphan age, and counts them. A file a
/// rebuild's shadow lists is kept too. The shadow is read before the state: a swap between the two reads
/// moves the shadow's files into the state, so each listed file is in one of them.
pub(super) async fn delete<S: LakeStore>(store: &S, run: &Run<'_>, date: NaiveDate) -> Result<u64, CompactError> {
    let cutoff = cutoff(run);
    let shadow = read_at(store, &run.layout.shadow_state_key(date)).await?.state;
    let state = read_at(store, &run.layout.state_key(date)).await?.state;
    let mut kept: HashSet<&str> = state.files.iter().chain(&shadow.files).map(|file| file.key.as_str()).collect();
    kept.extend(
        state.retired.iter().chain(&shadow.retired).filter(|file| file.at >= cutoff).map(|file| file.key.as_str()),
    );
    let mut deleted = 0;
    for object in store.list(&run.layout.data_prefix(date)).await? {
        if !kept.contains(object.key.as_str()) && object.last_modified < cutoff {
            store.delete(&object.key).await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// Files stopped being of use before this are deleted.
pub(super) fn cutoff(run: &Run<'_>) -> chrono::DateTime<chrono::Utc> {
    let age = chrono::Duration::from_std(run.settings.orphan_age).unwrap_or(chrono::Duration::MAX);
    run.now.checked_sub_signed(age).unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
}
