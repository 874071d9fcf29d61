//! The rows a commit adds: curated from the landed records, each `unique_id` once, less those the
//! partition's files already hold.

use std::collections::HashMap;

use crate::curate::{CuratedRecord, PersonalData, curate, row_id};
use crate::erasure::ErasedPersons;
use crate::table::writer::TimeRange;
use shared::UserSession;

#[derive(Debug, Default)]
pub(super) struct NewRows {
    /// By the row's `unique_id` column: the record's id as a token, or as it came when personal data is raw.
    rows: HashMap<String, CuratedRecord>,
    /// The record's id as it came, by the row's, where the two differ.
    raw_ids: HashMap<String, String>,
    /// Records offered, repeats included.
    pub(super) offered: u64,
    /// Records offered of persons erased on request, left out.
    pub(super) erased: u64,
}

impl NewRows {
    /// Adds the record unless its `unique_id` is in already (the first copy stays) or it is of a person
    /// `erased` names.
    pub(super) fn offer(&mut self, record: &UserSession, personal: &PersonalData, erased: &ErasedPersons) {
        self.offered += 1;
        let id = row_id(record, personal);
        if !self.rows.contains_key(&id) {
            let row = curate(record, personal);
            if erased.holds(&row, personal) {
                self.erased += 1;
                return;
            }
            let raw = record.unique_id.to_string();
            if raw != id {
                self.raw_ids.insert(id.clone(), raw);
            }
            self.rows.insert(id, row);
        }
    }

    /// Drops the row of a `unique_id` (as the table holds it) that the partition holds.
    pub(super) fn forget(&mut self, unique_id: &str) {
        self.rows.remove(unique_id);
        self.raw_ids.remove(unique_id);
    }

    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    /// The rows' `accessed_at` in microseconds with their ids (as written, and as they came), sorted: what a
    /// file must span to hold a copy of one.
    pub(super) fn times(&self) -> RowTimes {
        let mut times: Vec<(i64, String, String)> = self
            .rows
            .iter()
            .map(|(id, row)| {
                let raw = self.raw_ids.get(id).unwrap_or(id);
                (row.accessed_at.and_utc().timestamp_micros(), id.clone(), raw.clone())
            })
            .collect();
        times.sort_unstable();
        RowTimes(times)
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

/// The new rows' times and ids (as written, and as they came), sorted by time.
#[derive(Debug)]
pub(super) struct RowTimes(Vec<(i64, String, String)>);

impl RowTimes {
    /// The ids of the rows whose time is in `range`, each as written and as it came.
    pub(super) fn within(&self, range: TimeRange) -> Vec<(&str, &str)> {
        let from = self.0.partition_point(|(at, _, _)| *at < range.first);
        let to = self.0.partition_point(|(at, _, _)| *at <= range.last);
        self.0[from..to.max(from)].iter().map(|(_, id, raw)| (id.as_str(), raw.as_str())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_gives_the_ids_of_the_rows_whose_times_it_holds() {
        let row = |at, id: &str| (at, id.to_owned(), id.to_uppercase());
        let times = RowTimes(vec![row(10, "a"), row(20, "b"), row(20, "c"), row(30, "d")]);
        let within = |first, last| {
            let ids = times.within(TimeRange { first, last });
            assert!(ids.iter().all(|(id, raw)| raw == &id.to_uppercase()));
            ids.iter().map(|(id, _)| *id).collect::<String>()
        };
        for (first, last, ids) in
            [(0, 9, ""), (0, 10, "a"), (11, 19, ""), (15, 25, "bc"), (20, 40, "bcd"), (31, 99, "")]
        {
            assert_eq!(within(first, last), ids, "{first}..={last}");
        }
        assert!(RowTimes(Vec::new()).within(TimeRange { first: i64::MIN, last: i64::MAX }).is_empty());
        assert_eq!(within(30, 10), "", "a range backwards");
    }
}
