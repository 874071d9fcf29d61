//! What a run tells its operators: one summary line with every total, which Logs Insights queries. The
//! function's Errors metric and alarm see a failed run through the invocation's error, so no metrics
//! document is written.

use tracing::info;

use crate::compaction::Report;

impl Report {
    /// Writes the run's summary line.
    pub(crate) fn log(&self) {
        let totals = &self.totals;
        info!(
            partitions = self.partitions,
            records_read = totals.records_read,
            records_written = totals.records_written,
            duplicates = totals.duplicates,
            files_written = totals.files_written,
            bytes_written = totals.bytes_written,
            conflicts = totals.conflicts,
            objects_left = totals.objects_left,
            rejected_lines = totals.rejected_lines,
            objects_too_large = totals.objects_too_large,
            without_county = totals.without_county,
            partitions_expired = self.partitions_expired,
            expiries_left = self.expiries_left,
            retention_unlisted = self.retention_unlisted,
            files_upgraded = totals.files_upgraded,
            upgrade_unfinished = self.upgrade_unfinished,
            landed_past_retention = self.landed_past_retention,
            files_searched = totals.files_searched,
            failed = self.failed_partitions.len(),
            erased = totals.erased,
            "run finished"
        );
        let erasure = &self.erasure;
        if !(erasure.pending.is_empty() && erasure.finished.is_empty() && erasure.refused.is_empty())
            || erasure.objects_swept > 0
        {
            // Request names are the operators' ticket names, never a person's (docs/erasure.md).
            info!(
                pending = ?erasure.pending,
                finished = ?erasure.finished,
                refused = ?erasure.refused,
                records_removed = erasure.records_removed,
                records_swept = erasure.records_swept,
                objects_swept = erasure.objects_swept,
                sweep_unfinished = erasure.sweep_unfinished,
                "erasure progressed"
            );
        }
        if let Some(rebuild) = &self.rebuild {
            info!(
                days_rebuilt = rebuild.days_rebuilt,
                days_left = rebuild.days_left,
                days_kept = rebuild.days_kept.len(),
                days_past_retention = rebuild.days_past_retention,
                history_objects = rebuild.history_objects,
                history_written_before = rebuild.history_written_before,
                history_passed_over = rebuild.history_passed_over,
                superseded = rebuild.superseded,
                records_written = rebuild.totals.records_written,
                duplicates = rebuild.totals.duplicates,
                "rebuild progressed"
            );
        }
    }
}
