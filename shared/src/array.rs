//! Where the consumer's JSON array keeps its history, and what its objects say of the days they hold: the
//! consumer writes both, and the compactor's rebuild reads them.

use std::collections::HashMap;

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

/// The days an array object's records fall on, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Days {
    /// What an object's metadata says; `None` when it says nothing or nothing valid: it may hold any day.
    pub fn from_metadata(metadata: &HashMap<String, String>) -> Option<Self> {
        let day = |name: &str| NaiveDate::parse_from_str(metadata.get(name)?, "%Y-%m-%d").ok();
        let (first, last) = (day(FIRST_DAY_METADATA)?, day(LAST_DAY_METADATA)?);
        (first <= last).then_some(Self { first, last })
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        (self.first..=self.last).contains(&day)
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

    #[test]
    fn days_come_from_metadata_or_not_at_all() {
        let metadata = |first: &str, last: &str| {
            HashMap::from([(FIRST_DAY_METADATA.to_owned(), first.to_owned()), (LAST_DAY_METADATA.to_owned(), last.to_owned())])
        };
        let days = Days::from_metadata(&metadata("2026-11-28", "2026-11-29")).expect("days");
        assert!(days.contains(NaiveDate::from_ymd_opt(2026, 11, 29).expect("valid")));
        assert!(!days.contains(NaiveDate::from_ymd_opt(2026, 11, 30).expect("valid")));
        assert_eq!(Days::from_metadata(&metadata("2026-11-30", "2026-11-29")), None, "backwards");
        assert_eq!(Days::from_metadata(&metadata("yesterday", "2026-11-29")), None);
        assert_eq!(Days::from_metadata(&HashMap::new()), None);
    }
}
