//! Where the consumer's JSON array keeps its history, and what its objects say of the days they hold: the
//! consumer writes both, and the compactor's rebuild reads them.

use chrono::NaiveDate;

/// User metadata (`x-amz-meta-first-day`) of the live array and of each sealed segment: the earliest day
/// of its records' `accessed_at`, `YYYY-MM-DD`.
pub const FIRST_DAY_METADATA: &str = "first-day";
/// The latest day of its records' `accessed_at`, beside [`FIRST_DAY_METADATA`].
pub const LAST_DAY_METADATA: &str = "last-day";

/// The key of sealed segment `number` of the live array at `key`: `streaming_data.json` seals as
/// `streaming_data/00000001.json`, `streaming_data/00000002.json`, ...
pub fn segment_key(key: &str, number: u64) -> String {
    let (stem, extension) = stem_and_extension(key);
    format!("{stem}/{number:08}.{extension}")
}

/// The prefix every sealed segment of the live array at `key` is under.
pub fn segment_prefix(key: &str) -> String {
    format!("{}/", stem_and_extension(key).0)
}

fn stem_and_extension(key: &str) -> (&str, &str) {
    match key.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() && !extension.contains('/') => (stem, extension),
        _ => (key, "json"),
    }
}

/// The days of an array's or a segment's records (their `accessed_at`), first to last, both included.
/// Days rather than timestamps, so the metadata changes rarely: the consumer's retry after a lost race
/// completes the upload it left open only while the metadata is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Days {
    /// The range covering `days`; `None` when there are none.
    pub fn of(days: impl IntoIterator<Item = NaiveDate>) -> Option<Self> {
        days.into_iter().fold(None, |range, day| Some(Self { first: day, last: day }.widened(range)))
    }

    /// This range widened to cover `other` too.
    pub fn widened(self, other: Option<Self>) -> Self {
        match other {
            Some(other) => Self { first: self.first.min(other.first), last: self.last.max(other.last) },
            None => self,
        }
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        (self.first..=self.last).contains(&day)
    }

    /// The range an object's `first-day` and `last-day` metadata give. `None` when either is missing, does
    /// not parse, or the range runs backwards: unknown, the object may hold any day.
    pub fn parse(first: Option<&str>, last: Option<&str>) -> Option<Self> {
        let day = |text: Option<&str>| NaiveDate::parse_from_str(text?, "%Y-%m-%d").ok();
        let (first, last) = (day(first)?, day(last)?);
        (first <= last).then_some(Self { first, last })
    }

    /// The metadata that gives this range.
    pub fn metadata(self) -> [(String, String); 2] {
        [
            (FIRST_DAY_METADATA.to_owned(), self.first.format("%Y-%m-%d").to_string()),
            (LAST_DAY_METADATA.to_owned(), self.last.format("%Y-%m-%d").to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_sit_under_the_array_stem() {
        assert_eq!(segment_key("streaming_data.json", 2), "streaming_data/00000002.json");
        assert_eq!(segment_prefix("streaming_data.json"), "streaming_data/");
        assert_eq!(segment_key("a/b", 1), "a/b/00000001.json");
        assert_eq!(segment_prefix("dir.v1/array"), "dir.v1/array/");
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a day")
    }

    #[test]
    fn days_are_written_and_parsed_back_and_anything_else_is_unknown() {
        let days = Days { first: day("2026-11-28"), last: day("2026-11-29") };
        let [(first_name, first), (last_name, last)] = days.metadata();
        assert_eq!((first_name.as_str(), first.as_str()), ("first-day", "2026-11-28"));
        assert_eq!((last_name.as_str(), last.as_str()), ("last-day", "2026-11-29"));
        assert_eq!(Days::parse(Some(&first), Some(&last)), Some(days));
        assert!(days.contains(day("2026-11-29")) && !days.contains(day("2026-11-30")));
        assert_eq!(Days::parse(Some("2026-11-30"), Some("2026-11-29")), None, "backwards");
        assert_eq!(Days::parse(Some("yesterday"), Some("2026-11-29")), None);
        assert_eq!(Days::parse(Some("2026-11-29"), None), None);
    }

    #[test]
    fn a_range_covers_its_days_and_widens_to_cover_more() {
        assert_eq!(Days::of([]), None);
        let range = Days::of([day("2024-03-05"), day("2024-03-01"), day("2024-03-03")]);
        assert_eq!(range, Some(Days { first: day("2024-03-01"), last: day("2024-03-05") }));
        let narrow = Days { first: day("2024-03-02"), last: day("2024-03-03") };
        assert_eq!(narrow.widened(range), Days { first: day("2024-03-01"), last: day("2024-03-05") });
        assert_eq!(narrow.widened(None), narrow);
    }
}
