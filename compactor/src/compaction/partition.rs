//! One partition: read its state, compact the landed objects it does not list, commit the new state only
//! if no other run committed since it was read, then publish the manifest readers use.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::NaiveDate;
use tracing::{error, info, warn};

use super::new_rows::NewRows;
use super::{CompactError, PartitionReport, Run, orphans};
use crate::lake::landing;
use crate::lake::state::{FileEntry, PartitionState, RetiredFile};
use crate::store::{Condition, LakeStore, Listed, StoreError, Stores};
use crate::table::reader::{for_each_batch, for_each_unique_id, may_hold_any};
use crate::table::schema::to_batch;
use crate::table::upgrade::{CURATION, upgrade, upgrade_id};
use crate::table::writer::{DataFile, DataFileWriter};

/// New rows in a full file's time range up to which its Bloom filters are asked first: beyond, a false
/// positive is likely (1% a row) and the ids are read anyway.
const BLOOM_PROBE_ROWS: usize = 64;

/// Rows turned into one Arrow batch at a time.
const BATCH_ROWS: usize = 8192;

/// The state as read, with the ETag a commit must match (`None`: no state yet).
pub(super) struct Read {
    pub(super) state: PartitionState,
    pub(super) etag: Option<String>,
}

enum Commit {
    /// Committed: what it did, and the state it made.
    Done(Box<(PartitionReport, PartitionState)>),
    /// The state changed since it was read: another run committed first, or this commit's own write took
    /// effect and its answer was lost. Read again either way; no state lists this attempt's files.
    Lost,
}

/// Where a compaction commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// The partition readers see, through its manifest.
    Partition,
    /// A rebuild's shadow of it, which no manifest lists until it is swapped in.
    Shadow,
}

impl Target {
    pub(super) fn state_key(self, run: &Run<'_>, date: NaiveDate) -> String {
        match self {
            Self::Partition => run.layout.state_key(date),
            Self::Shadow => run.layout.shadow_state_key(date),
        }
    }
}

/// The landed objects older than the grace, oldest first: records land about when they happen, so a
/// commit's rows span a short time and so do its files, and a later commit searches few of them for copies.
pub(super) fn ready<'a>(run: &Run<'_>, landed: &'a [Listed]) -> Vec<&'a Listed> {
    let grace = chrono::Duration::from_std(run.settings.grace).unwrap_or(chrono::Duration::MAX);
    oldest_first(landed.iter().filter(|object| run.now.signed_duration_since(object.last_modified) >= grace))
}

/// `objects` oldest first, then by key.
pub(super) fn oldest_first<'a>(objects: impl Iterator<Item = &'a Listed>) -> Vec<&'a Listed> {
    let mut sorted: Vec<&Listed> = objects.collect();
    sorted.sort_by(|a, b| (a.last_modified, &a.key).cmp(&(b.last_modified, &b.key)));
    sorted
}

/// Compacts the `ready` objects not compacted yet into `date`'s `target`; `present` is every object that
/// may be listed as compacted (a key no longer there expired, and is forgotten).
pub(super) async fn compact<S: LakeStore>(
    stores: &Stores<S>,
    run: &Run<'_>,
    date: NaiveDate,
    target: Target,
    present: &BTreeSet<&str>,
    ready: &[&Listed],
) -> Result<PartitionReport, CompactError> {
    let mut report = PartitionReport::default();
    let mut conflicts = 0;
    let store = &stores.lake;
    loop {
        let read = read_at(store, &target.state_key(run, date)).await?;
        let todo: Vec<&Listed> =
            ready.iter().copied().filter(|object| !read.state.compacted.contains(&object.key)).collect();
        if todo.is_empty() || Instant::now() >= run.stop_at {
            report.objects_left = todo.len() as u64;
            if read.etag.is_some() && target == Target::Partition {
                publish(store, run, date, read.state.clone()).await?;
                report.orphans_deleted += orphans::delete(store, run, date).await?;
            }
            report.files = read.state.files.len() as u64;
            report.records = read.state.records();
            return Ok(report);
        }
        let chunk = take_chunk(&todo, run.settings.input_bytes_per_commit);
        match commit(stores, run, date, target, read, chunk, present).await? {
            Commit::Done(done) => {
                let (committed, state) = *done;
                conflicts = 0;
                report.add(&committed);
                // Readers see each commit as it lands, not only once a run has got through them all; a
                // shadow's commits they see only once the whole day is in and swapped.
                if target == Target::Partition {
                    publish(store, run, date, state).await?;
                }
            }
            Commit::Lost => {
                conflicts += 1;
                report.conflicts += 1;
                warn!(%date, conflicts, "the partition's state changed since it was read; reading it again");
                if conflicts >= run.settings.max_conflicts {
                    return Err(CompactError::Contended { date, conflicts });
                }
                tokio::time::sleep(Duration::from_millis(50 * u64::from(conflicts))).await;
            }
        }
    }
}

/// How much larger NDJSON is than its gzip, about: a compressed object's records take this much more room.
const GZIP_RATIO: u64 = 4;

/// The first objects of `todo` up to `budget` bytes of NDJSON, at least one.
fn take_chunk<'a>(todo: &[&'a Listed], budget: u64) -> Vec<&'a Listed> {
    let mut total = 0;
    let mut chunk = Vec::new();
    for object in todo {
        let size = if object.key.ends_with(".gz") { object.size * GZIP_RATIO } else { object.size };
        if !chunk.is_empty() && total + size > budget {
            break;
        }
        total += size;
        chunk.push(*object);
    }
    chunk
}

pub(super) async fn read_state<S: LakeStore>(store: &S, run: &Run<'_>, date: NaiveDate) -> Result<Read, CompactError> {
    read_at(store, &run.layout.state_key(date)).await
}

/// The state at `key`, or the empty one when there is none.
pub(super) async fn read_at<S: LakeStore>(store: &S, key: &str) -> Result<Read, CompactError> {
    Ok(match store.get(key).await? {
        None => Read { state: PartitionState::default(), etag: None },
        Some(fetched) => Read { state: PartitionState::from_json(key, &fetched.body)?, etag: Some(fetched.etag) },
    })
}

/// Compacts `chunk` on top of `read` and commits it.
async fn commit<S: LakeStore>(
    stores: &Stores<S>,
    run: &Run<'_>,
    date: NaiveDate,
    target: Target,
    read: Read,
    chunk: Vec<&Listed>,
    present: &BTreeSet<&str>,
) -> Result<Commit, CompactError> {
    let store = &stores.lake;
    let mut report = PartitionReport { commits: 1, ..PartitionReport::default() };
    let mut rows = NewRows::default();
    // Read at each commit: a person erased while a run goes on is left out of its next commit.
    let erased = crate::erasure::erased_persons(&stores.landing).await?;
    let budget = run.settings.input_bytes_per_commit;
    // The chunk was sized on an estimate of what its objects inflate to. Each object may take what is left
    // of the budget: one that would go beyond waits for the next commit, where it comes first and may take
    // the whole budget; only an object beyond the whole budget is refused. So a commit holds one budget of
    // text at most, whatever the compression.
    let mut inflated = 0;
    let mut taken = 0;
    let mut partial = read.state.partial.clone();
    for object in &chunk {
        // Past `take_until` the commit goes on with what it took, at least one object.
        if inflated >= budget || (taken > 0 && Instant::now() >= run.take_until) {
            break;
        }
        let left = budget - inflated;
        let from = partial.get(&object.key).copied().unwrap_or(0);
        let body = if !object.key.ends_with(".gz") && (from > 0 || object.size > left) {
            // Larger than what is left of the budget (an array's segment, for a rebuild): read a budget at
            // a time, to its last whole line, and the state keeps how far; the next commit goes on from there.
            if inflated > 0 {
                break;
            }
            match read_part(&stores.landing, object, from, left.max(MIN_PART_BYTES)).await? {
                Part::Lines { body, end, whole } => {
                    if whole {
                        partial.remove(&object.key);
                    } else {
                        partial.insert(object.key.clone(), end);
                    }
                    body
                }
                Part::LineTooLong => {
                    error!(%date, key = %object.key, "a line longer than the input budget; the object is left out");
                    report.objects_too_large += 1;
                    partial.remove(&object.key);
                    taken += 1;
                    continue;
                }
            }
        } else {
            // Gone since the listing: it expired, and every record it held was compacted long ago.
            let Some(fetched) = stores.landing.get(&object.key).await? else {
                partial.remove(&object.key);
                taken += 1;
                continue;
            };
            fetched.body
        };
        let landed = landing::records(&object.key, &body, left, date);
        if inflated > 0 && landed.text_bytes > left {
            break;
        }
        // An object read in part is not compacted yet.
        if !partial.contains_key(&object.key) {
            taken += 1;
        }
        report.landed_objects += 1;
        report.other_days += landed.other_days;
        report.landed_bytes += body.len() as u64;
        inflated += landed.text_bytes;
        for rejected in &landed.rejected {
            // The consumer lands only valid records: a line that is not one, or an object that inflates
            // without end, is damage or an attack, for an operator. The error names the object (and the
            // line), never what it holds; the object stays in the landing zone until it expires.
            if let landing::LandingError::TooLarge { .. } = rejected {
                error!(%date, error = %rejected, "a landed object inflates beyond the input budget; left out");
                report.objects_too_large += 1;
            } else {
                error!(%date, error = %rejected, "a landed line is not a record; left out");
                report.rejected_lines += 1;
            }
        }
        for record in &landed.records {
            rows.offer(record, run.personal, &erased);
        }
        // An object read in part used the budget, and `compacted` below takes the objects before it only.
        if partial.contains_key(&object.key) {
            break;
        }
    }
    // Ids as this version writes them, so a row of an earlier version's file (a raw id) is found too. The
    // ids of this version's files are kept while a file of an earlier one waits to be rewritten, so that its
    // rows are not written a second time beside them.
    let upgrading = read.state.files.iter().any(|file| file.curation < CURATION);
    let mut held = HashSet::new();
    let times = rows.times();
    let target_bytes = run.settings.target_file_bytes as u64;
    for file in &read.state.files {
        let keep = upgrading && file.curation >= CURATION;
        // A copy of a record carries its time, so only a file whose rows span a new row's time can hold
        // one: the others are not read, and a commit costs what it adds, not what the partition holds. A
        // small file (rewritten below) and one whose times the state does not give are read whatever.
        let small = file.bytes < target_bytes;
        let meeting = file.accessed.map(|range| times.within(range));
        if !keep && !small && meeting.as_ref().is_some_and(|ids| ids.is_empty()) {
            continue;
        }
        // A few rows in a full file's range (records late by hours) are looked up in its ids' Bloom filters
        // first, a few megabytes instead of the id column's tens; the filter says for sure when none is there.
        // Each row is looked up by its id as written now and as it came, which a file written while the
        // stack kept personal data raw holds.
        if let (false, false, Some(ids)) = (keep, small, &meeting)
            && ids.len() <= BLOOM_PROBE_ROWS
            && !may_hold_any(
                store,
                &file.key,
                file.bytes,
                &ids.iter().flat_map(|(row, raw)| [*row, *raw]).collect::<Vec<_>>(),
            )
            .await?
        {
            report.files_ruled_out += 1;
            continue;
        }
        report.files_searched += 1;
        for_each_unique_id(store, &file.key, file.bytes, |id| {
            let id = upgrade_id(id, run.personal);
            rows.forget(&id);
            if keep {
                held.insert(id.into_owned());
            }
        })
        .await?;
    }
    report.records_read = rows.offered;
    report.erased = rows.erased;
    report.duplicates = rows.offered - rows.erased - rows.len() as u64;
    report.records_written = rows.len() as u64;
    report.without_county = rows.without_county();

    let mut files = read.state.files.clone();
    let cutoff = orphans::cutoff(run);
    let mut retired: Vec<RetiredFile> = read.state.retired.iter().filter(|file| file.at >= cutoff).cloned().collect();
    if rows.len() > 0 {
        // Files below the target are rewritten with the new rows, so a partition fed a little at a time
        // still ends as files of the target size and one smaller file at most.
        let (small, large): (Vec<FileEntry>, Vec<FileEntry>) =
            files.into_iter().partition(|file| file.bytes < run.settings.target_file_bytes as u64);
        files = large;
        retired.extend(small.iter().map(|file| RetiredFile { key: file.key.clone(), at: run.now }));
        let mut writer = DataFileWriter::new(run.settings.target_file_bytes);
        for file in &small {
            let old = file.curation < CURATION;
            for_each_batch(store, &file.key, file.bytes, |batch| {
                writer.write(&if old { upgrade(&batch, run.personal, &held)? } else { batch })
            })
            .await?;
            files.extend(store_files(store, run, date, writer.take_finished(), &mut report).await?);
        }
        report.files_merged = small.len() as u64;
        for batch_rows in rows.into_sorted().chunks(BATCH_ROWS) {
            writer.write(&to_batch(batch_rows)?)?;
            files.extend(store_files(store, run, date, writer.take_finished(), &mut report).await?);
        }
        files.extend(store_files(store, run, date, writer.finish()?, &mut report).await?);
    }

    let mut compacted: BTreeSet<String> =
        read.state.compacted.iter().filter(|key| present.contains(key.as_str())).cloned().collect();
    compacted.extend(chunk[..taken].iter().map(|object| object.key.clone()));
    partial.retain(|key, _| present.contains(key.as_str()));
    let state = PartitionState { generation: read.state.generation + 1, files, compacted, retired, partial };
    let condition = match read.etag {
        Some(etag) => Condition::IfMatch(etag),
        None => Condition::IfAbsent,
    };
    match store.put(&target.state_key(run, date), Bytes::from(state.to_json()), condition).await {
        Ok(_) => {}
        Err(crate::store::StoreError::Changed { .. }) => return Ok(Commit::Lost),
        Err(error) => return Err(error.into()),
    }
    info!(%date, generation = state.generation, files = state.files.len(), records = state.records(), "committed");
    Ok(Commit::Done(Box::new((report, state))))
}

/// The least a part of an object holds, above any record's line (SQS takes messages up to 1 MiB), so a
/// commit with little budget left still takes a whole line.
const MIN_PART_BYTES: u64 = 2 << 20;

/// A part of an object read by range.
pub(super) enum Part {
    /// Whole lines, the offset after them, and whether they reach the object's end.
    Lines { body: Bytes, end: u64, whole: bool },
    /// No line ends within the budget.
    LineTooLong,
}

/// Up to `budget` bytes of `object` from `from`, cut after its last whole line (the consumer ends every
/// object with one). A part that does not begin a line (the object changed since `from` was kept: a live
/// array sealed and begun again) starts again at 0.
pub(super) async fn read_part<S: LakeStore>(
    raw: &S,
    object: &Listed,
    from: u64,
    budget: u64,
) -> Result<Part, StoreError> {
    let from = if from > 0 && from <= object.size {
        let before = raw.get_range(&object.key, from - 1..from).await?;
        if before.as_ref() == b"\n" { from } else { 0 }
    } else {
        0
    };
    let bytes = raw.get_range(&object.key, from..(from + budget).min(object.size)).await?;
    let whole = from + bytes.len() as u64 >= object.size;
    Ok(match bytes.iter().rposition(|byte| *byte == b'\n') {
        Some(at) => Part::Lines { body: bytes.slice(..at + 1), end: from + at as u64 + 1, whole },
        None if whole => Part::Lines { body: bytes, end: object.size, whole },
        None => Part::LineTooLong,
    })
}

/// Stores finished data files, each named by the run's start and its content. The run's part keeps a name
/// from ever coming back: an orphan older than the orphan age can then never be a file a later commit lists,
/// so deleting it cannot race with a run that writes the same rows again.
pub(super) async fn store_files<S: LakeStore>(
    store: &S,
    run: &Run<'_>,
    date: NaiveDate,
    finished: Vec<DataFile>,
    report: &mut PartitionReport,
) -> Result<Vec<FileEntry>, CompactError> {
    let mut entries = Vec::with_capacity(finished.len());
    for file in finished {
        let name = format!("{}-{}", run.now.format("%Y%m%dT%H%M%S%3fZ"), file.name);
        let key = run.layout.data_key(date, &name);
        let bytes = file.bytes.len() as u64;
        store.put(&key, file.bytes, Condition::Always).await?;
        report.files_written += 1;
        report.bytes_written += bytes;
        entries.push(FileEntry {
            key,
            records: file.records,
            bytes,
            curation: CURATION,
            accessed: Some(file.accessed),
        });
    }
    Ok(entries)
}

/// Publishes the manifest of `state`, stamped with its generation, unless a manifest of that generation or
/// a later one is there: a manifest never goes back. The write is conditional on the manifest read, so a
/// write that lands late (a retry whose first answer was lost, or a run that read before another published)
/// fails instead of replacing a newer one; the manifest is then read again. Once written, the state is read
/// again, and a commit that landed meanwhile is published too, so the last manifest is of the latest state.
pub(super) async fn publish<S: LakeStore>(
    store: &S,
    run: &Run<'_>,
    date: NaiveDate,
    mut state: PartitionState,
) -> Result<(), CompactError> {
    let key = run.layout.manifest_key(date);
    let mut lost = 0;
    loop {
        let condition = match store.get(&key).await? {
            Some(current) if current.generation.is_some_and(|generation| generation >= state.generation) => {
                return Ok(());
            }
            Some(current) => Condition::IfMatch(current.etag),
            None => Condition::IfAbsent,
        };
        let manifest = Bytes::from(state.manifest(run.layout));
        match store.put_stamped(&key, manifest, condition, state.generation).await {
            Ok(_) => {}
            Err(crate::store::StoreError::Changed { .. }) => {
                lost += 1;
                if lost >= run.settings.max_conflicts {
                    return Err(CompactError::Contended { date, conflicts: lost });
                }
                continue;
            }
            Err(error) => return Err(error.into()),
        }
        let latest = read_state(store, run, date).await?.state;
        if latest.generation <= state.generation {
            return Ok(());
        }
        state = latest;
    }
}
