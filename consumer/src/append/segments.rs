//! Sealed segments: where they sit beside the live array, and the labels (S3 user metadata) that tie
//! the live array and its segments together, and the days their records fall on.
//!
//! The live array carries the number it will be sealed under and an id of its own; a segment carries
//! the id of the live array it was sealed from, so a writer that finds the number taken can tell
//! whether it finds its own earlier seal (resume) or another array's (take the next number). Both
//! carry the range of days of their records' `accessed_at`, so the compactor rebuilding a day reads
//! only the segments that can hold it.

pub(crate) use shared::array::Days;
use shared::array::{FIRST_DAY_METADATA, LAST_DAY_METADATA};
use uuid::Uuid;

use crate::store::Metadata;

const SEGMENT: &str = "segment";
const ARRAY: &str = "array";
pub use shared::array::segment_key;

/// What a live array's metadata says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Label {
    /// The number it is sealed under; arrays written before segments existed become number 1.
    pub(crate) segment: u64,
    /// Its id. An array written without one (before segments existed, or from outside) takes one from
    /// its ETag, which every writer reads alike and our first write to it keeps.
    pub(crate) array: String,
}

impl Label {
    /// The label of a new live array, sealed under `segment` once full.
    pub(crate) fn new(segment: u64) -> Self {
        Self { segment, array: Uuid::new_v4().simple().to_string() }
    }

    /// The label of the live array version with `metadata` and `etag`.
    pub(crate) fn read(metadata: &Metadata, etag: &str) -> Self {
        let array = match metadata.get(ARRAY).filter(|array| !array.is_empty()) {
            Some(array) => array.clone(),
            None => format!("etag-{}", etag.chars().filter(char::is_ascii_alphanumeric).collect::<String>()),
        };
        let segment = metadata.get(SEGMENT).and_then(|number| number.parse().ok()).filter(|n| *n > 0).unwrap_or(1);
        Self { segment, array }
    }

    /// The live array's metadata, with the range of days of its records when it is known.
    pub(crate) fn metadata(&self, days: Option<Days>) -> Metadata {
        let mut metadata =
            Metadata::from([(SEGMENT.to_owned(), self.segment.to_string()), (ARRAY.to_owned(), self.array.clone())]);
        if let Some(days) = days {
            metadata.extend(days.metadata());
        }
        metadata
    }

    /// A segment's metadata: the array it was sealed from, and the range of days of its records when
    /// the version sealed knew it.
    pub(crate) fn sealed_metadata(&self, days: Option<Days>) -> Metadata {
        let mut metadata = Metadata::from([(ARRAY.to_owned(), self.array.clone())]);
        if let Some(days) = days {
            metadata.extend(days.metadata());
        }
        metadata
    }

    /// Whether `metadata`, a segment's, says it was sealed from this array.
    pub(crate) fn sealed_from_this(&self, metadata: &Metadata) -> bool {
        metadata.get(ARRAY).map_or("", String::as_str) == self.array
    }
}

/// The metadata an erasure writes on the array it blanked records in (`compactor::erasure::REVISION_METADATA`):
/// an id of that writing.
const REVISION: &str = "revision";

/// `metadata` for a write that continues the version read with `read`: the erasure's revision it carries
/// is kept. An upload left open by a lost race then completes only over the same revision (its metadata
/// must equal the retry's), never over bytes an erasure blanked since its parts were copied.
pub(crate) fn keep_revision(mut metadata: Metadata, read: &Metadata) -> Metadata {
    if let Some(revision) = read.get(REVISION) {
        metadata.insert(REVISION.to_owned(), revision.clone());
    }
    metadata
}

/// The range of days `metadata` carries (`shared::array::Days`). `None` when it carries none, or one
/// that does not parse or runs backwards: unknown, so the array may hold any day; never an error that
/// would stop appends.
///
/// Kept apart from the [`Label`], whose equality tells one array from another: another writer widening
/// the range leaves the array the same one. An array holding records but no range (written before
/// ranges existed, or the seed's) may hold any day, and keeps no range until it is sealed, nor does its
/// segment: one covering only the records appended to it would claim its older records are not there.
pub(crate) fn read_days(metadata: &Metadata) -> Option<Days> {
    Days::parse(
        metadata.get(FIRST_DAY_METADATA).map(String::as_str),
        metadata.get(LAST_DAY_METADATA).map(String::as_str),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_sit_under_the_keys_stem_numbered_in_order() {
        assert_eq!(segment_key("streaming_data.json", 1), "streaming_data/00000001.json");
        assert_eq!(segment_key("lake/raw.json", 12), "lake/raw/00000012.json");
        assert_eq!(segment_key("data", 3), "data/00000003.json");
        assert_eq!(segment_key("dir.d/data", 3), "dir.d/data/00000003.json");
    }

    #[test]
    fn labels_round_trip_and_arrays_without_one_are_segment_one_named_by_their_etag() {
        let label = Label::new(7);
        assert_eq!(Label::read(&label.metadata(None), "\"e\""), label);
        assert_eq!(Label::read(&Metadata::new(), "\"3b-2\""), Label { segment: 1, array: "etag-3b2".into() });
        assert!(label.sealed_from_this(&label.sealed_metadata(None)));
        assert!(!Label::new(7).sealed_from_this(&label.sealed_metadata(None)));
    }

    fn day(text: &str) -> chrono::NaiveDate {
        text.parse().expect("a day")
    }

    fn days(first: &str, last: &str) -> Days {
        Days { first: day(first), last: day(last) }
    }

    #[test]
    fn days_are_written_as_first_day_and_last_day_and_read_back() {
        let range = days("2024-02-28", "2024-03-01");
        let metadata = Label::new(3).metadata(Some(range));
        assert_eq!(metadata.get("first-day").map(String::as_str), Some("2024-02-28"));
        assert_eq!(metadata.get("last-day").map(String::as_str), Some("2024-03-01"));
        assert_eq!(read_days(&metadata), Some(range));
        let sealed = Label::new(3).sealed_metadata(Some(range));
        assert_eq!(read_days(&sealed), Some(range));
        assert_eq!(read_days(&Label::new(3).metadata(None)), None);
        assert_eq!(read_days(&Label::new(3).sealed_metadata(None)), None);
    }

    #[test]
    fn a_missing_partial_or_unparseable_range_reads_as_unknown() {
        let with = |pairs: &[(&str, &str)]| {
            let metadata: Metadata =
                pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
            read_days(&metadata)
        };
        assert_eq!(with(&[]), None);
        assert_eq!(with(&[("first-day", "2024-03-01")]), None);
        assert_eq!(with(&[("first-day", "2024-03-01"), ("last-day", "soon")]), None);
        assert_eq!(with(&[("first-day", "2024-13-01"), ("last-day", "2024-03-01")]), None);
        assert_eq!(with(&[("first-day", "2024-03-02"), ("last-day", "2024-03-01")]), None, "backwards");
        assert_eq!(
            with(&[("first-day", "2024-03-01"), ("last-day", "2024-03-01")]),
            Some(days("2024-03-01", "2024-03-01"))
        );
    }

    #[test]
    fn an_erasures_revision_is_kept_by_the_writes_that_continue_the_array() {
        let label = Label::new(2);
        let read = Metadata::from([("revision".to_owned(), "r1".to_owned())]);
        let kept = keep_revision(label.metadata(None), &read);
        assert_eq!(kept.get("revision").map(String::as_str), Some("r1"));
        assert_eq!(Label::read(&kept, "\"e\""), label, "no part of the array's identity");
        assert_eq!(keep_revision(label.metadata(None), &Metadata::new()), label.metadata(None));
    }

    #[test]
    fn the_range_is_no_part_of_the_arrays_identity() {
        let label = Label::new(4);
        let narrow = label.metadata(Some(days("2024-03-01", "2024-03-01")));
        let wide = label.metadata(Some(days("2024-02-01", "2024-03-09")));
        assert_eq!(Label::read(&narrow, "\"a\""), Label::read(&wide, "\"b\""));
        assert_eq!(Label::read(&label.metadata(None), "\"c\""), Label::read(&wide, "\"d\""));
        assert!(label.sealed_from_this(&label.sealed_metadata(Some(days("2024-01-01", "2024-01-02")))));
    }
}
