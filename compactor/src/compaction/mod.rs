//! A compaction run: every landed object older than the grace that no run compacted yet goes into its
//! partition's curated files, each `unique_id` once, committed per partition with a conditional write.
//! docs/curated-lake.md gives the design and why it holds under retries, overlap and crashes.

pub(crate) mod erase;
mod keys;
mod new_rows;
mod old_files;
mod orphans;
mod partition;
pub mod rebuild;
mod retention;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;
use tracing::{error, info};

use self::partition::Target;
use self::rebuild::{RebuildError, RebuildReport, RebuildRequest};
use crate::curate::PersonalData;
use crate::lake::keys::{KeyRefused, LedgerError};
use crate::lake::layout::Layout;
use crate::lake::state::StateError;
use crate::store::{LakeStore, Listed, StoreError, Stores};
use crate::table::TableError;

/// How a run compacts.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Landed objects younger than this wait for a later run.
    pub grace: Duration,
    /// A data file is finished once it reaches this size.
    pub target_file_bytes: usize,
    /// Landed bytes read before a commit; bounds a run's memory whatever a partition's size.
    pub input_bytes_per_commit: u64,
    /// Data files no state lists are deleted once this old: past any run still writing, and past any
    /// query still reading a replaced manifest.
    pub orphan_age: Duration,
    /// Commits lost to other runs before a partition is left for the next run.
    pub max_conflicts: u32,
    /// Days a curated partition is kept, counted from its date; `None` keeps every partition.
    pub retention_days: Option<u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(300),
            target_file_bytes: 128 << 20,
            input_bytes_per_commit: 128 << 20,
            orphan_age: Duration::from_secs(24 * 3600),
            max_conflicts: 8,
            retention_days: None,
        }
    }
}

/// What a run needs besides the stores.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    pub layout: &'a Layout,
    pub settings: &'a Settings,
    pub personal: &'a PersonalData,
    /// The run's clock, read once.
    pub now: DateTime<Utc>,
    /// No new commit is started after this.
    pub stop_at: Instant,
    /// A commit takes no more landed objects after this and commits those it took, so one begun just before
    /// `stop_at` still ends in time, whatever the store's speed.
    pub take_until: Instant,
}

/// One partition's share of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartitionReport {
    pub landed_objects: u64,
    pub landed_bytes: u64,
    pub records_read: u64,
    /// Records dropped because the partition or the same run already held their `unique_id`.
    pub duplicates: u64,
    /// Records of persons erased on request, left out.
    pub erased: u64,
    pub records_written: u64,
    pub files_written: u64,
    pub bytes_written: u64,
    /// Data files whose ids a commit read to leave out copies: those whose rows' times meet a new row's,
    /// and the small ones it rewrites.
    pub files_searched: u64,
    /// Full files a few new rows' times met, whose Bloom filters said none of them is there.
    pub files_ruled_out: u64,
    /// Small files rewritten into a larger one.
    pub files_merged: u64,
    /// Files of earlier curation rules rewritten under this version's (a lake compacted before ids were
    /// tokens).
    pub files_upgraded: u64,
    /// Records of other days in the objects read (a rebuild reads the array's, which hold every day).
    pub other_days: u64,
    /// Landed lines that are not records (or gzip that is not), left out and logged.
    pub rejected_lines: u64,
    /// Landed gzip objects that inflate beyond the input budget, refused whole and left in place.
    pub objects_too_large: u64,
    /// Rows written whose address named none of Romania's counties: their `county` is null.
    pub without_county: u64,
    pub commits: u64,
    /// Commits another run won first.
    pub conflicts: u64,
    pub orphans_deleted: u64,
    /// Landed objects left for the next run (out of time).
    pub objects_left: u64,
    /// After the run: the partition's files and records.
    pub files: u64,
    pub records: u64,
}

impl PartitionReport {
    fn add(&mut self, other: &PartitionReport) {
        self.landed_objects += other.landed_objects;
        self.landed_bytes += other.landed_bytes;
        self.records_read += other.records_read;
        self.duplicates += other.duplicates;
        self.erased += other.erased;
        self.records_written += other.records_written;
        self.files_written += other.files_written;
        self.bytes_written += other.bytes_written;
        self.files_searched += other.files_searched;
        self.files_ruled_out += other.files_ruled_out;
        self.files_merged += other.files_merged;
        self.files_upgraded += other.files_upgraded;
        self.other_days += other.other_days;
        self.rejected_lines += other.rejected_lines;
        self.objects_too_large += other.objects_too_large;
        self.without_county += other.without_county;
        self.commits += other.commits;
        self.conflicts += other.conflicts;
        self.orphans_deleted += other.orphans_deleted;
        self.objects_left += other.objects_left;
        self.files += other.files;
        self.records += other.records;
    }
}

/// A run's account: its totals, and the partitions it could not finish.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub partitions: u64,
    /// Partitions older than the retention, deleted whole.
    pub partitions_expired: u64,
    /// Partitions past the retention left for the next run (out of time).
    pub expiries_left: u64,
    /// The curated partitions could not be listed for the retention; the next run tries again.
    pub retention_unlisted: bool,
    /// Data files of earlier curation rules are left for the next run.
    pub upgrade_unfinished: bool,
    /// Landed objects of days older than the retention, left to expire uncompacted.
    pub landed_past_retention: u64,
    #[serde(flatten)]
    pub totals: PartitionReport,
    pub failed_partitions: Vec<NaiveDate>,
    /// The rebuild under way, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebuild: Option<RebuildReport>,
    /// Erasure on request: the requests taken, finished and refused, and the sweep.
    pub erasure: crate::erasure::ErasureReport,
}

/// Why a partition was not compacted. Its committed state is whole; the next run takes it up.
#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("partition {date}: {conflicts} commits in a row lost to other runs; left for the next run")]
    Contended { date: NaiveDate, conflicts: u32 },
    /// The persons erased on request could not be read, so no commit could leave them out.
    #[error(transparent)]
    Erased(#[from] crate::erasure::ledger::LedgerError),
}

/// Why a run compacted nothing. What earlier runs committed stays as it is.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("listing the landed objects failed: {0}")]
    List(#[source] StoreError),
    #[error("the key ledger: {0}")]
    KeyLedgerStore(#[source] StoreError),
    #[error(transparent)]
    KeyLedger(#[from] LedgerError),
    #[error("the key ledger changed under every attempt to add this key; left for the next run")]
    KeyLedgerContended,
    #[error(transparent)]
    KeyRefused(#[from] KeyRefused),
}

/// Compacts every partition with landed objects, one partition at a time, then deletes the partitions past
/// the retention. A partition that fails is reported and the others go on. A pseudonym key the lake's key
/// ledger refuses stops the run before it writes anything.
pub async fn compact<S: LakeStore>(stores: &Stores<S>, run: &Run<'_>) -> Result<Report, RunError> {
    if let PersonalData::Pseudonymised(key) = run.personal {
        keys::admit(&stores.lake, run.layout, key, run.now).await?;
    }
    let keep_from = keep_from(run);
    let landed = stores.landing.list(&run.layout.landing_prefix).await.map_err(RunError::List)?;
    let mut report = Report::default();
    let mut by_date: BTreeMap<NaiveDate, Vec<Listed>> = BTreeMap::new();
    for object in landed {
        match run.layout.landing_date(&object.key) {
            // Its partition would be deleted as soon as it was made; the landing zone's own expiry takes it.
            Some(date) if keep_from.is_some_and(|from| date < from) => report.landed_past_retention += 1,
            Some(date) => by_date.entry(date).or_default().push(object),
            None => {}
        }
    }
    for (date, objects) in by_date {
        report.partitions += 1;
        let present = objects.iter().map(|object| object.key.as_str()).collect();
        let ready = partition::ready(run, &objects);
        match partition::compact(stores, run, date, Target::Partition, &present, &ready).await {
            Ok(partition) => {
                info!(%date, files = partition.files, records = partition.records, written = partition.records_written,
                    duplicates = partition.duplicates, "partition compacted");
                report.totals.add(&partition);
            }
            Err(failure) => {
                error!(%date, error = %failure, "partition not compacted");
                report.failed_partitions.push(date);
            }
        }
    }
    upgrade_old_files(&stores.lake, run, keep_from, &mut report).await;
    if let Some(keep_from) = keep_from {
        expire(&stores.lake, run, keep_from, &mut report).await;
    }
    Ok(report)
}

/// Starts the rebuild `asked` for, or goes on with the one under way, with the run's time left.
pub async fn rebuild<S: LakeStore>(
    stores: &Stores<S>,
    run: &Run<'_>,
    asked: Option<RebuildRequest>,
) -> Result<Option<RebuildReport>, RebuildError> {
    rebuild::run(stores, run, keep_from(run), asked).await
}

/// The first day the retention keeps, if it keeps days.
fn keep_from(run: &Run<'_>) -> Option<NaiveDate> {
    run.settings.retention_days.and_then(|days| run.now.date_naive().checked_sub_days(Days::new(days)))
}

/// Rewrites the lake's files of earlier curation rules while time is left, until a pass finds none.
async fn upgrade_old_files<S: LakeStore>(lake: &S, run: &Run<'_>, keep_from: Option<NaiveDate>, report: &mut Report) {
    let listed = match old_files::all_current(lake, run).await {
        Ok(true) => return,
        Ok(false) => lake.list(&run.layout.state_prefix()).await,
        Err(failure) => Err(failure),
    };
    let states = match listed {
        Ok(states) => states,
        Err(failure) => {
            error!(error = %failure, "looking for data files of earlier curation rules failed");
            report.upgrade_unfinished = true;
            return;
        }
    };
    // Days past the retention are about to go whole.
    let dates = states.iter().filter_map(|state| run.layout.state_date(&state.key));
    let mut finished = true;
    for date in dates.filter(|date| keep_from.is_none_or(|from| *date >= from)) {
        match old_files::upgrade_partition(lake, run, date, &mut report.totals).await {
            Ok(true) => {}
            Ok(false) => {
                finished = false;
                break;
            }
            Err(failure) => {
                error!(%date, error = %failure, "old data files not rewritten");
                report.failed_partitions.push(date);
                finished = false;
            }
        }
    }
    if !finished {
        report.upgrade_unfinished = true;
    } else if let Err(failure) = old_files::mark_all_current(lake, run).await {
        error!(error = %failure, "writing the curation marker failed; the next run looks again");
    }
}

/// Deletes the partitions older than `keep_from` while time is left; one that fails is reported, and the
/// next run goes on with what is left.
async fn expire<S: LakeStore>(lake: &S, run: &Run<'_>, keep_from: NaiveDate, report: &mut Report) {
    let dates = match retention::expired(lake, run.layout, keep_from).await {
        Ok(dates) => dates,
        Err(failure) => {
            error!(error = %failure, "listing the partitions past the retention failed");
            report.retention_unlisted = true;
            return;
        }
    };
    for (done, date) in dates.iter().copied().enumerate() {
        if Instant::now() >= run.stop_at {
            report.expiries_left = (dates.len() - done) as u64;
            break;
        }
        match retention::expire(lake, run.layout, date).await {
            Ok(()) => {
                info!(%date, "partition past the retention deleted");
                report.partitions_expired += 1;
            }
            Err(failure) => {
                error!(%date, error = %failure, "partition past the retention not deleted");
                report.failed_partitions.push(date);
            }
        }
    }
}
