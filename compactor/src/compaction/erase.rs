//! Rows of erased persons removed from a partition through the committed state, as a compaction commits: the
//! files holding one are written again without it, the state naming the new files replaces the one read
//! only if no other run committed since, and the manifest follows. So a reader sees the old files or the
//! new ones, never a mix, and every other row stays exactly once. The replaced files are deleted at once
//! rather than after the orphan age: a query still reading the old manifest fails instead of reading rows
//! of a person who asked to be erased; so are unlisted files of the day that hold one (a merge's replaced
//! files, a failed run's).

use std::collections::{BTreeMap, BTreeSet};

use arrow_array::cast::AsArray;
use arrow_array::{Array, BooleanArray, RecordBatch};
use arrow_select::filter::filter_record_batch;
use tracing::warn;

use super::partition::{Target, publish, read_at, store_files};
use super::{CompactError, PartitionReport, Run};
use crate::lake::state::PartitionState;
use crate::store::{Condition, LakeStore, StoreError};
use crate::table::TableError;
use crate::table::reader::{for_each_batch, for_each_row_of};
use crate::table::writer::DataFileWriter;

/// How old an unlisted data file is before it is taken for no commit's: longer than a run.
const IN_FLIGHT_MINUTES: i64 = 20;

/// Whose rows a row is, by the values of the identifier columns it is asked about.
pub(crate) trait RowOwners {
    /// The identifier columns, in the order [`RowOwners::owners`] takes their values.
    fn columns(&self) -> &[&'static str];
    /// The persons (by index) the row with `values` belongs to; none for a row that stays.
    fn owners(&self, values: &[Option<&str>]) -> Vec<usize>;
}

/// What removing the rows of one partition's state did.
#[derive(Debug, Default)]
pub(crate) struct RowsErased {
    /// Rows removed, by person.
    pub(crate) by_person: BTreeMap<usize, u64>,
    /// The data files replaced (and deleted).
    pub(crate) files: Vec<String>,
    /// Data files whose identifier columns were read.
    pub(crate) files_read: u64,
}

/// Removes the rows `owners` names from the partition (or rebuild shadow) whose state is `state_key`.
pub(crate) async fn erase_rows<S: LakeStore>(
    lake: &S,
    run: &Run<'_>,
    state_key: &str,
    owners: &impl RowOwners,
) -> Result<RowsErased, CompactError> {
    let (date, target) = match (run.layout.state_date(state_key), run.layout.shadow_state_date(state_key)) {
        (Some(date), _) => (date, Target::Partition),
        (None, Some(date)) => (date, Target::Shadow),
        (None, None) => return Ok(RowsErased::default()),
    };
    let mut lost = 0;
    loop {
        let read = read_at(lake, state_key).await?;
        let Some(etag) = read.etag else { return Ok(RowsErased::default()) };
        let mut erased = RowsErased::default();
        let mut holding = Vec::new();
        for file in &read.state.files {
            erased.files_read += 1;
            let mut holds = false;
            for_each_row_of(lake, &file.key, file.bytes, owners.columns(), |values| {
                for person in owners.owners(values) {
                    *erased.by_person.entry(person).or_default() += 1;
                    holds = true;
                }
            })
            .await?;
            if holds {
                holding.push(file.clone());
            }
        }
        if holding.is_empty() {
            if target == Target::Partition {
                // A commit of an earlier attempt whose manifest was not written yet: written now (a manifest
                // never goes back, so this costs a read when it is there).
                publish(lake, run, date, read.state.clone()).await?;
                erase_unlisted(lake, run, date, &read.state, owners, &mut erased).await?;
            }
            return Ok(erased);
        }
        let mut report = PartitionReport::default();
        let mut files: Vec<_> =
            read.state.files.iter().filter(|file| !holding.iter().any(|gone| gone.key == file.key)).cloned().collect();
        for file in &holding {
            let mut writer = DataFileWriter::new(run.settings.target_file_bytes);
            for_each_batch(lake, &file.key, file.bytes, |batch| writer.write(&without(&batch, owners)?)).await?;
            files.extend(store_files(lake, run, date, writer.finish()?, &mut report).await?);
        }
        let mut state = read.state.clone();
        state.generation += 1;
        state.files = files;
        match lake.put(state_key, bytes::Bytes::from(state.to_json()), Condition::IfMatch(etag)).await {
            Ok(_) => {}
            Err(StoreError::Changed { .. }) => {
                lost += 1;
                if lost >= run.settings.max_conflicts {
                    return Err(CompactError::Contended { date, conflicts: lost });
                }
                continue;
            }
            Err(error) => return Err(error.into()),
        }
        for file in holding {
            if let Err(error) = lake.delete(&file.key).await {
                warn!(%date, key = %file.key, error = %error, "a replaced file was not deleted; the next pass will");
            }
            erased.files.push(file.key);
        }
        if target == Target::Partition {
            publish(lake, run, date, state.clone()).await?;
            erase_unlisted(lake, run, date, &state, owners, &mut erased).await?;
        }
        return Ok(erased);
    }
}

/// Deletes the data files of `date` that neither `state` nor the day's rebuild shadow lists and that hold a row
/// `owners` names: files a merge replaced (kept for readers of an older manifest until the orphan age), a
/// failed run's, or one an earlier erasure could not delete. No manifest lists them, but they are objects of
/// the bucket holding the person.
async fn erase_unlisted<S: LakeStore>(
    lake: &S,
    run: &Run<'_>,
    date: chrono::NaiveDate,
    state: &PartitionState,
    owners: &impl RowOwners,
    erased: &mut RowsErased,
) -> Result<(), CompactError> {
    let shadow = read_at(lake, &run.layout.shadow_state_key(date)).await?.state;
    let listed: BTreeSet<&str> = state.files.iter().chain(&shadow.files).map(|file| file.key.as_str()).collect();
    // A younger file no state names may be a commit's in flight, about to be listed: that commit left erased
    // persons out. A file the state retired is a merge's, whatever its age.
    let settled = run.now - chrono::Duration::minutes(IN_FLIGHT_MINUTES);
    let retired: BTreeSet<&str> = state.retired.iter().map(|file| file.key.as_str()).collect();
    for object in lake.list(&run.layout.data_prefix(date)).await? {
        let in_flight = object.last_modified > settled && !retired.contains(object.key.as_str());
        if listed.contains(object.key.as_str()) || in_flight {
            continue;
        }
        erased.files_read += 1;
        let mut holds = false;
        for_each_row_of(lake, &object.key, object.size, owners.columns(), |values| {
            holds |= !owners.owners(values).is_empty();
        })
        .await?;
        if holds {
            lake.delete(&object.key).await?;
            erased.files.push(object.key);
        }
    }
    Ok(())
}

/// `batch` without the rows `owners` names.
fn without(batch: &RecordBatch, owners: &impl RowOwners) -> Result<RecordBatch, TableError> {
    let columns: Vec<_> = owners
        .columns()
        .iter()
        .map(|name| batch.column_by_name(name).and_then(|column| column.as_string_opt::<i32>()))
        .collect();
    let mut values = vec![None; columns.len()];
    let keep: BooleanArray = (0..batch.num_rows())
        .map(|row| {
            for (value, column) in values.iter_mut().zip(&columns) {
                *value = column.filter(|column| column.is_valid(row)).map(|column| column.value(row));
            }
            Some(owners.owners(&values).is_empty())
        })
        .collect();
    Ok(filter_record_batch(batch, &keep)?)
}
