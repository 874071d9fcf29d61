//! The rows a commit adds: curated from the landed records, each `unique_id` once, less those the
//! partition's files already hold.

use std::collections::HashMap;

use crate::curate::{CuratedRecord, PersonalData, curate, row_id};
use shared::UserSession;

#[derive(Debug, Default)]
pub(super) struct NewRows {
    /// By the row's `unique_id` column: the record's id as a token, or as it came when personal data is raw.
    rows: HashMap<String, CuratedRecord>,
    /// Records offered, repeats included.
    pub(super) offered: u64,
}

impl NewRows {
    /// Adds the record unless its `unique_id` is in already; the first copy stays.
    pub(super) fn offer(&mut self, record: &UserSession, personal: &PersonalData) {
        self.offered += 1;
        self.rows.entry(row_id(record, personal)).or_insert_with(|| curate(record, personal));
    }

    /// Drops the row of a `unique_id` (as the table holds it) that the partition holds.
    pub(super) fn forget(&mut self, unique_id: &str) {
        self.rows.remove(unique_id);
    }

    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Rows whose address named no county of the fixed list.
    pub(super) fn without_county(&self) -> u64 {
        self.rows.values().filter(|row| row.county.is_none()).count() as u64
    }

    /// The rows in `accessed_at` order (then by id), so the same records always make the same file and
    /// a file's time range is narrow for readers that prune by it.
    pub(super) fn into_sorted(self) -> Vec<CuratedRecord> {
        let mut rows: Vec<CuratedRecord> = self.rows.into_values().collect();
        rows.sort_unstable_by(|a, b| (a.accessed_at, &a.unique_id).cmp(&(b.accessed_at, &b.unique_id)));
        rows
    }
}
