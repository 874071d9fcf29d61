//! The rows a commit adds: curated from the landed records, each `unique_id` once, less those the
//! partition's files already hold.

use std::collections::HashMap;

use uuid::Uuid;

use crate::curate::{CuratedRecord, PersonalData, curate};
use shared::UserSession;

#[derive(Debug, Default)]
pub(super) struct NewRows {
    rows: HashMap<Uuid, CuratedRecord>,
    /// Records offered, repeats included.
    pub(super) offered: u64,
}

impl NewRows {
    /// Adds the record unless its `unique_id` is in already; the first copy stays.
    pub(super) fn offer(&mut self, record: &UserSession, personal: &PersonalData) {
        self.offered += 1;
        self.rows.entry(record.unique_id).or_insert_with(|| curate(record, personal));
    }

    /// Drops the row of a `unique_id` the partition holds.
    pub(super) fn forget(&mut self, unique_id: &str) {
        if let Ok(id) = Uuid::parse_str(unique_id) {
            self.rows.remove(&id);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    /// The rows in `accessed_at` order (then by id), so the same records always make the same file and
    /// a file's time range is narrow for readers that prune by it.
    pub(super) fn into_sorted(self) -> Vec<CuratedRecord> {
        let mut rows: Vec<CuratedRecord> = self.rows.into_values().collect();
        rows.sort_unstable_by_key(|row| (row.accessed_at, row.unique_id));
        rows
    }
}
