//! Data files written under earlier curation rules (raw ids, microseconds, free-text counties: a lake
//! compacted before ids were tokens) rewritten under this version's, in partitions no landed object brings a
//! run to. Each rewrite is a commit like any other: conditional on the state read, the replaced files retired,
//! the manifest published after it, and a row the partition already holds under its token left out. Once a
//! pass finds no such file, a marker saves later runs the listing.

use std::collections::HashSet;
use std::time::Instant;

use bytes::Bytes;
use chrono::NaiveDate;
use tracing::{info, warn};

use super::partition::{publish, read_state, store_files};
use super::{CompactError, PartitionReport, Run, orphans};
use crate::lake::state::{FileEntry, PartitionState, RetiredFile};
use crate::store::{Condition, LakeStore, StoreError};
use crate::table::reader::{for_each_batch, for_each_unique_id};
use crate::table::upgrade::{CURATION, upgrade};
use crate::table::writer::DataFileWriter;

/// What the marker holds: the curation every file of the lake was of when a pass found nothing older.
fn marker(curation: u32) -> String {
    format!("{{\"curation\":{curation}}}\n")
}

/// Whether the marker says the lake has no file of an earlier curation.
pub(super) async fn all_current<S: LakeStore>(lake: &S, run: &Run<'_>) -> Result<bool, StoreError> {
    let found = lake.get(&run.layout.curation_marker_key()).await?;
    Ok(found.is_some_and(|found| found.body == marker(CURATION).as_bytes()))
}

/// Writes the marker once no file of an earlier curation is left.
pub(super) async fn mark_all_current<S: LakeStore>(lake: &S, run: &Run<'_>) -> Result<(), StoreError> {
    lake.put(&run.layout.curation_marker_key(), Bytes::from(marker(CURATION)), Condition::Always).await.map(|_| ())
}

/// Rewrites the partition's files of earlier curations, a commit's input at a time, until none is left
/// (`Ok(true)`) or the run's time is up (`Ok(false)`).
pub(super) async fn upgrade_partition<S: LakeStore>(
    lake: &S,
    run: &Run<'_>,
    date: NaiveDate,
    report: &mut PartitionReport,
) -> Result<bool, CompactError> {
    loop {
        let read = read_state(lake, run, date).await?;
        let Some(etag) = read.etag else { return Ok(true) };
        let old: Vec<&FileEntry> = read.state.files.iter().filter(|file| file.curation < CURATION).collect();
        if old.is_empty() {
            return Ok(true);
        }
        if Instant::now() >= run.stop_at {
            return Ok(false);
        }
        let mut taken = Vec::new();
        let mut bytes = 0;
        for file in old {
            if !taken.is_empty() && bytes + file.bytes > run.settings.input_bytes_per_commit {
                break;
            }
            bytes += file.bytes;
            taken.push(file.clone());
        }
        // A row of an old file that a file of this version holds too (a copy of the record compacted again
        // after the upgrade) is left out.
        let mut held = HashSet::new();
        for file in read.state.files.iter().filter(|file| file.curation >= CURATION) {
            for_each_unique_id(lake, &file.key, file.bytes, |id| {
                held.insert(id.to_owned());
            })
            .await?;
        }
        let mut commit = PartitionReport { commits: 1, ..PartitionReport::default() };
        let mut writer = DataFileWriter::new(run.settings.target_file_bytes);
        let taken_keys: HashSet<&str> = taken.iter().map(|file| file.key.as_str()).collect();
        let mut files: Vec<FileEntry> =
            read.state.files.iter().filter(|file| !taken_keys.contains(file.key.as_str())).cloned().collect();
        for file in &taken {
            for_each_batch(lake, &file.key, file.bytes, |batch| writer.write(&upgrade(&batch, run.personal, &held)?))
                .await?;
            files.extend(store_files(lake, run, date, writer.take_finished(), &mut commit).await?);
        }
        files.extend(store_files(lake, run, date, writer.finish()?, &mut commit).await?);
        let cutoff = orphans::cutoff(run);
        let mut retired: Vec<RetiredFile> =
            read.state.retired.iter().filter(|file| file.at >= cutoff).cloned().collect();
        retired.extend(taken.iter().map(|file| RetiredFile { key: file.key.clone(), at: run.now }));
        let state = PartitionState {
            generation: read.state.generation + 1,
            files,
            compacted: read.state.compacted.clone(),
            retired,
            partial: read.state.partial.clone(),
        };
        match lake.put(&run.layout.state_key(date), Bytes::from(state.to_json()), Condition::IfMatch(etag)).await {
            Ok(_) => {}
            Err(StoreError::Changed { .. }) => {
                // Another run committed first; this one's files are orphans, collected a day on.
                warn!(%date, "the partition's state changed while its old files were rewritten; reading it again");
                commit.conflicts += 1;
                report.add(&commit);
                continue;
            }
            Err(error) => return Err(error.into()),
        }
        info!(%date, files = taken.len(), generation = state.generation, "old files rewritten under this version's rules");
        commit.files_upgraded = taken.len() as u64;
        report.add(&commit);
        publish(lake, run, date, state).await?;
    }
}
