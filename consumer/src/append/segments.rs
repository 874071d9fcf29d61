//! Sealed segments: where they sit beside the live array, and the labels (S3 user metadata) that tie
//! the live array and its segments together, and the days their records fall on.
//!
//! The live array carries the number it will be sealed under and an id of its own; a segment carries
//! the id of the live array it was sealed from, so a writer that finds the number taken can tell
//! whether it finds its own earlier seal (resume) or another array's (take the next number). Both
//! carry the range of days of their records' `accessed_at`, so the compactor rebuilding a day reads
//! only the segments that can hold it.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::store::Metadata;

const SEGMENT: &str = "segment";
const ARRAY: &str = "array";
const FIRST_DAY: &str = "first-day";
const LAST_DAY: &str = "last-day";

/// The key of sealed segment `number` of the live array at `key`: `streaming_data.json` seals as
/// `streaming_data/00000001.json`, `streaming_data/00000002.json`, ...
pub fn segment_key(key: &str, number: u64) -> String {
    let (stem, extension) = match key.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() && !extension.contains('/') => (stem, extension),
        _ => (key, "json"),
    };
    format!("{stem}/{number:08}.{extension}")
}

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
            days.write(&mut metadata);
        }
        metadata
    }

    /// A segment's metadata: the array it was sealed from, and the range of days of its records when
    /// the version sealed knew it.
    pub(crate) fn sealed_metadata(&self, days: Option<Days>) -> Metadata {
        let mut metadata = Metadata::from([(ARRAY.to_owned(), self.array.clone())]);
        if let Some(days) = days {
            days.write(&mut metadata);
        }
        metadata
    }

    /// Whether `metadata`, a segment's, says it was sealed from this array.
    pub(crate) fn sealed_from_this(&self, metadata: &Metadata) -> bool {
        metadata.get(ARRAY).map_or("", String::as_str) == self.array
    }
}

/// The days of an array's or a segment's records (their `accessed_at`), first to last: the metadata
/// `first-day` and `last-day`, `YYYY-MM-DD` each. Days rather than timestamps, so the metadata changes
/// rarely: a retry after a lost race completes the upload it left open only while the metadata is
/// unchanged.
///
/// Kept apart from the [`Label`], whose equality tells one array from another: another writer widening
/// the range leaves the array the same one. An array without a range (written before ranges existed,
/// or the seed's) may hold any day, and keeps no range until it is sealed: one covering only the
/// records appended to it would claim its older records are not there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Days {
    pub(crate) first: NaiveDate,
    pub(crate) last: NaiveDate,
}

impl Days {
    /// The range covering `days`; `None` when there are none.
    pub(crate) fn of(days: impl IntoIterator<Item = NaiveDate>) -> Option<Self> {
        days.into_iter().fold(None, |range, day| Some(Self { first: day, last: day }.widened(range)))
    }

    /// This range widened to cover `other` too.
    pub(crate) fn widened(self, other: Option<Self>) -> Self {
        match other {
            Some(other) => Self { first: self.first.min(other.first), last: self.last.max(other.last) },
            None => self,
        }
    }

    /// The range `metadata` carries. `None` when it carries none, or one that does not parse or runs
    /// backwards: unknown, so the array may hold any day; never an error that would stop appends.
    pub(crate) fn read(metadata: &Metadata) -> Option<Self> {
        let day = |name| metadata.get(name).and_then(|text| text.parse::<NaiveDate>().ok());
        let (first, last) = (day(FIRST_DAY)?, day(LAST_DAY)?);
        (first <= last).then_some(Self { first, last })
    }

    fn write(self, metadata: &mut Metadata) {
        metadata.insert(FIRST_DAY.to_owned(), self.first.to_string());
        metadata.insert(LAST_DAY.to_owned(), self.last.to_string());
    }
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

    fn day(text: &str) -> NaiveDate {
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
        assert_eq!(Days::read(&metadata), Some(range));
        let sealed = Label::new(3).sealed_metadata(Some(range));
        assert_eq!(Days::read(&sealed), Some(range));
        assert_eq!(Days::read(&Label::new(3).metadata(None)), None);
        assert_eq!(Days::read(&Label::new(3).sealed_metadata(None)), None);
    }

    #[test]
    fn a_missing_partial_or_unparseable_range_reads_as_unknown() {
        let with = |pairs: &[(&str, &str)]| {
            let metadata: Metadata =
                pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
            Days::read(&metadata)
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
    fn a_range_covers_its_days_and_widens_to_cover_more() {
        assert_eq!(Days::of([]), None);
        let range = Days::of([day("2024-03-05"), day("2024-03-01"), day("2024-03-03")]);
        assert_eq!(range, Some(days("2024-03-01", "2024-03-05")));
        assert_eq!(days("2024-03-02", "2024-03-03").widened(range), days("2024-03-01", "2024-03-05"));
        assert_eq!(days("2024-03-02", "2024-03-03").widened(None), days("2024-03-02", "2024-03-03"));
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
