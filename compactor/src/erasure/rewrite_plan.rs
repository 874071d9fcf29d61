//! How an object with a few blanked ranges is written again: the bytes around each range are read, blanked
//! and uploaded, everything else is copied on S3's side (UploadPartCopy), so removing a record from a
//! segment of gigabytes moves megabytes. S3's rules shape the parts: each but the last 5 MiB to 5 GiB, at
//! most 10,000; an uploaded part is kept near [`UPLOAD_PART_BYTES`] so memory stays small.

use std::ops::Range;

/// The smallest part but the last.
pub(crate) const MIN_PART_BYTES: u64 = 5 << 20;
/// The largest copied part: S3 allows 5 GiB; parts of 64 MiB copy side by side in about the time a consumer's
/// append takes (docs/append.md), so the erasure's write races the consumers' on equal terms.
const COPY_PART_BYTES: u64 = 64 << 20;
/// The largest uploaded part.
const UPLOAD_PART_BYTES: u64 = 16 << 20;
/// The most parts in one upload.
const MAX_PARTS: usize = 10_000;
/// An object this small is read and written whole: one request each way, no multipart upload.
pub(crate) const WHOLE_OBJECT_BYTES: u64 = 16 << 20;

/// One part of the new object, by the bytes of the old one it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PlannedPart {
    /// Copied on S3's side.
    Copy(Range<u64>),
    /// Read, blanked and uploaded.
    Upload(Range<u64>),
}

/// The object cannot be written again in the parts S3 allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rewriting {size} bytes around {ranges} blanked ranges needs more than {MAX_PARTS} parts")]
pub struct TooManyParts {
    pub size: u64,
    pub ranges: usize,
}

/// The parts that write an object of `size` bytes again with `blanked` (sorted, within the object) blanked.
/// An object of at most [`WHOLE_OBJECT_BYTES`] is one uploaded part.
pub(crate) fn plan(size: u64, blanked: &[Range<u64>]) -> Result<Vec<PlannedPart>, TooManyParts> {
    if size <= WHOLE_OBJECT_BYTES {
        return Ok(vec![PlannedPart::Upload(0..size)]);
    }
    // Each blanked range is uploaded within a window of at least the smallest part, cut at the object's end
    // (the last part may be short). Windows closer than the smallest part join, and so does a first one that
    // begins closer to the start, so every copied stretch before a window is a valid part too; the stretch
    // after the last window is the last part.
    let mut windows: Vec<Range<u64>> = Vec::new();
    for range in blanked.iter().filter(|range| !range.is_empty()) {
        let start = range.start.min(size);
        let end = range.end.max(start + MIN_PART_BYTES).min(size);
        match windows.last_mut() {
            Some(last) if start < last.end + MIN_PART_BYTES => last.end = last.end.max(end),
            _ => windows.push(if start < MIN_PART_BYTES { 0..end } else { start..end }),
        }
    }
    // Parts grow past 64 MiB only for objects beyond 600 GiB, so the upload stays within 10,000.
    let copy_part = COPY_PART_BYTES.max(size.div_ceil(MAX_PARTS as u64 - 1_000));
    let mut parts = Vec::new();
    let mut copied_to = 0;
    for window in windows {
        split(copied_to..window.start, copy_part, &mut parts, PlannedPart::Copy);
        split(window.clone(), UPLOAD_PART_BYTES, &mut parts, PlannedPart::Upload);
        copied_to = window.end;
    }
    split(copied_to..size, copy_part, &mut parts, PlannedPart::Copy);
    if parts.len() > MAX_PARTS {
        return Err(TooManyParts { size, ranges: blanked.len() });
    }
    Ok(parts)
}

/// `range` cut into near-equal parts of at most `most` bytes; a range of at least the smallest part gives
/// parts of at least that size.
fn split(range: Range<u64>, most: u64, parts: &mut Vec<PlannedPart>, part: fn(Range<u64>) -> PlannedPart) {
    let len = range.end.saturating_sub(range.start);
    if len == 0 {
        return;
    }
    let count = len.div_ceil(most);
    let (base, longer) = (len / count, len % count);
    let mut start = range.start;
    for index in 0..count {
        let end = start + base + u64::from(index < longer);
        parts.push(part(start..end));
        start = end;
    }
}

#[cfg(test)]
#[expect(clippy::single_range_in_vec_init, reason = "a list of one blanked span, not the span's numbers")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIB: u64 = 1 << 20;

    fn check(size: u64, blanked: &[Range<u64>], parts: &[PlannedPart]) {
        let mut at = 0;
        for (index, part) in parts.iter().enumerate() {
            let (range, uploaded) = match part {
                PlannedPart::Copy(range) => (range, false),
                PlannedPart::Upload(range) => (range, true),
            };
            assert_eq!(range.start, at, "parts follow each other");
            assert!(!range.is_empty());
            let last = index + 1 == parts.len();
            assert!(last || range.end - range.start >= MIN_PART_BYTES, "part {index} of {parts:?} is short");
            assert!(range.end - range.start <= 5 << 30);
            if !uploaded {
                assert!(blanked.iter().all(|blank| blank.end <= range.start || blank.start >= range.end));
            }
            at = range.end;
        }
        assert_eq!(at, size, "the parts cover the object");
    }

    #[test]
    fn a_small_object_is_written_whole() {
        assert_eq!(plan(100, &[3..9]).expect("fits"), vec![PlannedPart::Upload(0..100)]);
    }

    #[test]
    fn a_record_in_a_large_object_is_uploaded_with_five_mebibytes_around_it_and_the_rest_copied() {
        let size = 1 << 30;
        let parts = plan(size, &[500 * MIB..500 * MIB + 600]).expect("fits");
        check(size, &[500 * MIB..500 * MIB + 600], &parts);
        let uploaded: u64 = parts
            .iter()
            .map(|part| match part {
                PlannedPart::Upload(range) => range.end - range.start,
                PlannedPart::Copy(_) => 0,
            })
            .sum();
        assert_eq!(uploaded, MIN_PART_BYTES);
        let uploads = parts.iter().filter(|part| matches!(part, PlannedPart::Upload(_))).count();
        assert_eq!((uploads, parts.len()), (1, 8 + 1 + 9), "copies of at most 64 MiB either side");
    }

    #[test]
    fn records_near_the_ends_or_each_other_share_a_window() {
        let size = 100 * MIB;
        for blanked in [vec![10..20], vec![size - 30..size - 10], vec![40 * MIB..40 * MIB + 5, 43 * MIB..43 * MIB + 5]]
        {
            let parts = plan(size, &blanked).expect("fits");
            check(size, &blanked, &parts);
            assert_eq!(parts.iter().filter(|part| matches!(part, PlannedPart::Upload(_))).count(), 1, "{parts:?}");
        }
    }

    proptest! {
        #[test]
        fn every_plan_keeps_s3s_part_rules(
            size in 0u64..(3 << 30),
            starts in prop::collection::vec(0.0f64..1.0, 0..40),
            len in 1u64..4096,
        ) {
            let mut blanked: Vec<Range<u64>> = starts
                .iter()
                .map(|at| {
                    let start = (*at * size as f64) as u64;
                    start..(start + len).min(size)
                })
                .filter(|range| !range.is_empty())
                .collect();
            blanked.sort_by_key(|range| range.start);
            let parts = plan(size, &blanked).expect("fits");
            check(size, &blanked, &parts);
        }
    }
}
