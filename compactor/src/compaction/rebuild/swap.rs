//! A rebuilt day made the partition: the shadow replaces the day's state in one write conditional on the
//! state read, if it holds every landed object the state lists and every record the day holds.

use std::collections::{BTreeSet, HashSet};
use std::time::Instant;

use bytes::Bytes;
use chrono::NaiveDate;
use tracing::{info, warn};

use super::RebuildReport;
use crate::compaction::partition::{publish, read_at, read_state};
use crate::compaction::{CompactError, Run, orphans};
use crate::lake::state::{FileEntry, PartitionState, RetiredFile};
use crate::store::{Condition, LakeStore, StoreError, Stores};
use crate::table::reader::{for_each_unique_id, time_range};
use crate::table::upgrade::upgrade_id;

pub(super) enum Swap {
    /// Swapped in, or the day kept as it was (its history lost records), or nothing on either side.
    Done,
    /// The day's state lists a landed object the shadow has not compacted, or changed under the swap: the
    /// shadow takes the landing zone in again first.
    Behind,
    /// The check of the day's records did not end within the run's time: the next run swaps.
    OutOfTime,
}

/// Makes the shadow of `day` its partition.
pub(super) async fn swap<S: LakeStore>(
    stores: &Stores<S>,
    run: &Run<'_>,
    day: NaiveDate,
    report: &mut RebuildReport,
) -> Result<Swap, CompactError> {
    let lake = &stores.lake;
    // The state first, then the landing zone: a landed object the state lists is in the listing unless it
    // expired, and one compacted after the state was read changes the state, so the swap's write fails.
    let current = read_state(lake, run, day).await?;
    let landed = stores.landing.list(&run.layout.landing_day_prefix(day)).await?;
    let landed: BTreeSet<&str> = landed.iter().map(|object| object.key.as_str()).collect();
    let shadow_key = run.layout.shadow_state_key(day);
    let shadow = read_at(lake, &shadow_key).await?;
    if current.etag.is_none() && shadow.etag.is_none() {
        return Ok(Swap::Done);
    }
    // An object the state read in part counts as one it compacted.
    let listed = current.state.compacted.iter().chain(current.state.partial.keys());
    let behind = listed.into_iter().any(|key| landed.contains(key.as_str()) && !shadow.state.compacted.contains(key));
    if behind {
        return Ok(Swap::Behind);
    }
    // A rebuild never loses a record: if the history lost some the day holds (segments past their retention,
    // the landing zone expired), the day stays as it was and its shadow goes.
    let Some(missing) = missing(lake, run, &current.state, &shadow.state).await? else {
        return Ok(Swap::OutOfTime);
    };
    if missing > 0 {
        warn!(%day, missing, "the history lacks records the day holds; the day is kept as it was");
        report.days_kept.push(day);
        lake.delete(&shadow_key).await?;
        return Ok(Swap::Done);
    }
    let cutoff = orphans::cutoff(run);
    let kept: BTreeSet<&str> = shadow.state.files.iter().map(|file| file.key.as_str()).collect();
    let mut retired: Vec<RetiredFile> =
        current.state.retired.iter().chain(&shadow.state.retired).filter(|file| file.at >= cutoff).cloned().collect();
    retired.extend(
        current
            .state
            .files
            .iter()
            .filter(|file| !kept.contains(file.key.as_str()))
            .map(|file| RetiredFile { key: file.key.clone(), at: run.now }),
    );
    let in_landing = |key: &&String| landed.contains(key.as_str());
    let state = PartitionState {
        generation: current.state.generation + 1,
        files: shadow.state.files.clone(),
        compacted: shadow.state.compacted.iter().filter(in_landing).cloned().collect(),
        retired,
        partial: shadow.state.partial.iter().filter(|(key, _)| in_landing(key)).map(|(k, v)| (k.clone(), *v)).collect(),
    };
    let condition = match current.etag {
        Some(etag) => Condition::IfMatch(etag),
        None => Condition::IfAbsent,
    };
    match lake.put(&run.layout.state_key(day), Bytes::from(state.to_json()), condition).await {
        Ok(_) => {}
        Err(StoreError::Changed { .. }) => return Ok(Swap::Behind),
        Err(error) => return Err(error.into()),
    }
    info!(%day, generation = state.generation, files = state.files.len(), records = state.records(), "day rebuilt");
    report.days_rebuilt += 1;
    publish(lake, run, day, state).await?;
    lake.delete(&shadow_key).await?;
    Ok(Swap::Done)
}

/// How many records of `current` the shadow lacks, by id as this version writes it (a raw id of a file
/// written before the stack pseudonymised is its token); `None` when the run's time to take work ended
/// first. A file's ids are held one file at a time, against the shadow's files whose times meet its own
/// (from its row groups' statistics when the state does not give them), so memory is one file's ids
/// whatever the day's size.
async fn missing<S: LakeStore>(
    lake: &S,
    run: &Run<'_>,
    current: &PartitionState,
    shadow: &PartitionState,
) -> Result<Option<u64>, CompactError> {
    let mut missing = 0;
    for file in &current.files {
        if Instant::now() >= run.take_until {
            return Ok(None);
        }
        let mut file = file.clone();
        if file.accessed.is_none() {
            file.accessed = time_range(lake, &file.key, file.bytes).await?;
        }
        let file = &file;
        let mut ids = HashSet::new();
        for_each_unique_id(lake, &file.key, file.bytes, |id| {
            ids.insert(upgrade_id(id, run.personal).into_owned());
        })
        .await?;
        for other in shadow.files.iter().filter(|other| meet(file, other)) {
            for_each_unique_id(lake, &other.key, other.bytes, |id| {
                ids.remove(upgrade_id(id, run.personal).as_ref());
            })
            .await?;
        }
        missing += ids.len() as u64;
    }
    Ok(Some(missing))
}

/// Whether two files' times meet; a file whose state does not give its times meets any.
fn meet(a: &FileEntry, b: &FileEntry) -> bool {
    match (a.accessed, b.accessed) {
        (Some(a), Some(b)) => a.first <= b.last && b.first <= a.last,
        _ => true,
    }
}
