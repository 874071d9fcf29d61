//! Sealed segments: where they sit beside the live array, and the labels (S3 user metadata) that tie
//! the live array and its segments together.
//!
//! The live array carries the number it will be sealed under and an id of its own; a segment carries
//! the id of the live array it was sealed from, so a writer that finds the number taken can tell
//! whether it finds its own earlier seal (resume) or another array's (take the next number).

use uuid::Uuid;

use crate::store::Metadata;

const SEGMENT: &str = "segment";
const ARRAY: &str = "array";

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

    /// The live array's metadata.
    pub(crate) fn metadata(&self) -> Metadata {
        Metadata::from([(SEGMENT.to_owned(), self.segment.to_string()), (ARRAY.to_owned(), self.array.clone())])
    }

    /// A segment's metadata: the array it was sealed from.
    pub(crate) fn sealed_metadata(&self) -> Metadata {
        Metadata::from([(ARRAY.to_owned(), self.array.clone())])
    }

    /// Whether `metadata`, a segment's, says it was sealed from this array.
    pub(crate) fn sealed_from_this(&self, metadata: &Metadata) -> bool {
        metadata.get(ARRAY).map_or("", String::as_str) == self.array
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
        assert_eq!(Label::read(&label.metadata(), "\"e\""), label);
        assert_eq!(Label::read(&Metadata::new(), "\"3b-2\""), Label { segment: 1, array: "etag-3b2".into() });
        assert!(label.sealed_from_this(&label.sealed_metadata()));
        assert!(!Label::new(7).sealed_from_this(&label.sealed_metadata()));
    }
}
