//! A compaction run: every landed object older than the grace that no run compacted yet goes into its
//! partition's curated files, each `unique_id` once, committed per partition with a conditional write.
//! docs/curated-lake.md gives the design and why it holds under retries, overlap and crashes.

mod new_rows;
mod orphans;
mod partition;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tracing::{error, info};

use crate::curate::PersonalData;
use crate::lake::layout::Layout;
use crate::lake::state::StateError;
use crate::store::{LakeStore, Listed, StoreError};
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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(300),
            target_file_bytes: 128 << 20,
            input_bytes_per_commit: 128 << 20,
            orphan_age: Duration::from_secs(24 * 3600),
            max_conflicts: 8,
        }
    }
}

/// What a run needs besides the store.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    pub layout: &'a Layout,
    pub settings: &'a Settings,
    pub personal: &'a PersonalData,
    /// The run's clock, read once.
    pub now: DateTime<Utc>,
    /// No new commit is started after this.
    pub stop_at: Instant,
}

/// One partition's share of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartitionReport {
    pub landed_objects: u64,
    pub landed_bytes: u64,
    pub records_read: u64,
    /// Records dropped because the partition or the same run already held their `unique_id`.
    pub duplicates: u64,
    pub records_written: u64,
    pub files_written: u64,
    pub bytes_written: u64,
    /// Small files rewritten into a larger one.
    pub files_merged: u64,
    /// Landed lines that are not records (or gzip that is not), left out and logged.
    pub rejected_lines: u64,
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
        self.records_written += other.records_written;
        self.files_written += other.files_written;
        self.bytes_written += other.bytes_written;
        self.files_merged += other.files_merged;
        self.rejected_lines += other.rejected_lines;
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
    #[serde(flatten)]
    pub totals: PartitionReport,
    pub failed_partitions: Vec<NaiveDate>,
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
}

/// Compacts every partition with landed objects, one partition at a time. A partition that fails is
/// reported and the others go on.
pub async fn compact<S: LakeStore>(store: &S, run: &Run<'_>) -> Result<Report, StoreError> {
    let landed = store.list(&run.layout.landing_prefix).await?;
    let mut by_date: BTreeMap<NaiveDate, Vec<Listed>> = BTreeMap::new();
    for object in landed {
        if let Some(date) = run.layout.landing_date(&object.key) {
            by_date.entry(date).or_default().push(object);
        }
    }
    let mut report = Report::default();
    for (date, objects) in by_date {
        report.partitions += 1;
        match partition::compact(store, run, date, &objects).await {
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
    Ok(report)
}
