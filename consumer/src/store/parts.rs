//! S3's multipart rules, and how an object's bytes are cut into the parts that copy them.
//!
//! Every part but the last is 5 MiB to 5 GiB, an upload has at most 10,000 parts, so an object reaches
//! 48.8 TiB. Parts are cut near [`TARGET_PART_BYTES`] (objects below 256 MiB into up to four parts of
//! at least 5 MiB) and copied several at once, so a copy takes about as long as one part.

use std::ops::Range;

/// The smallest part but the last.
pub(crate) const MIN_PART_BYTES: u64 = 5 << 20;
/// The largest part.
pub(crate) const MAX_PART_BYTES: u64 = 5 << 30;
/// The most parts in one upload.
pub(crate) const MAX_PARTS: u64 = 10_000;
/// The size parts are cut near: S3 copies one in well under a second at 100 MB/s, and an append of an
/// array below 64 MiB makes a single copy request.
pub(crate) const TARGET_PART_BYTES: u64 = 64 << 20;

/// The most parts an object below four target parts is cut into.
const SMALL_OBJECT_PARTS: u64 = 4;

/// The bytes do not fit the parts S3 allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{bytes} bytes in at most {parts} parts of at most 5 GiB exceed S3's largest object")]
pub struct TooLarge {
    pub bytes: u64,
    pub parts: u64,
}

/// The ranges that copy the first `bytes` of an object as parts numbered from 1, leaving `reserved`
/// part numbers after them (for a suffix uploaded as the last part). With `reserved` parts following,
/// every range is a valid non-last part, so `bytes` must be at least [`MIN_PART_BYTES`]; with none,
/// the last range may be shorter.
pub(crate) fn copy_ranges(bytes: u64, reserved: u64) -> Result<Vec<Range<u64>>, TooLarge> {
    let most = MAX_PARTS.saturating_sub(reserved);
    // Small objects are cut into up to four parts of at least 5 MiB, copied side by side, so a copy
    // takes a quarter of the time for at most four requests.
    let quarters = (bytes / MIN_PART_BYTES).min(SMALL_OBJECT_PARTS);
    let count =
        bytes.div_ceil(TARGET_PART_BYTES).max(bytes.div_ceil(MAX_PART_BYTES)).max(quarters).clamp(1, most.max(1));
    if bytes.div_ceil(count) > MAX_PART_BYTES || most == 0 {
        return Err(TooLarge { bytes, parts: most });
    }
    // Sizes differ by at most one byte, so none falls below the minimum the average meets.
    let (base, longer) = (bytes / count, bytes % count);
    let mut start = 0;
    Ok((0..count)
        .map(|index| {
            let len = base + u64::from(index < longer);
            let range = start..start + len;
            start += len;
            range
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    #[test]
    fn small_objects_copy_in_one_part_to_four() {
        for (bytes, reserved) in [(5 * MIB, 1), (10 * MIB - 1, 1), (100, 0)] {
            let ranges = copy_ranges(bytes, reserved).expect("fits");
            assert_eq!((ranges.len(), ranges[0].start, ranges[0].end), (1, 0, bytes));
        }
    }

    #[test]
    fn objects_below_four_target_parts_are_cut_in_up_to_four() {
        assert_eq!(copy_ranges(10 * MIB, 1).expect("fits").len(), 2);
        assert_eq!(copy_ranges(64 * MIB, 1).expect("fits").len(), 4);
        assert_eq!(copy_ranges(256 * MIB, 1).expect("fits").len(), 4);
        assert_eq!(copy_ranges(256 * MIB + 1, 1).expect("fits").len(), 5);
    }

    #[test]
    fn large_objects_are_cut_into_even_parts_near_the_target() {
        let ranges = copy_ranges(6 * GIB, 1).expect("fits");
        assert_eq!(ranges.len(), 96);
        assert!(ranges.iter().all(|range| range.end - range.start == 64 * MIB));
        let lengths: Vec<u64> =
            copy_ranges(320 * MIB + 2, 1).expect("fits").iter().map(|range| range.end - range.start).collect();
        assert_eq!(lengths, vec![55_924_054, 55_924_054, 55_924_054, 55_924_054, 55_924_053, 55_924_053]);
    }

    #[test]
    fn beyond_the_target_part_count_parts_grow_up_to_five_gibibytes() {
        let bytes = 48 * 1024 * GIB;
        let ranges = copy_ranges(bytes, 1).expect("fits");
        assert_eq!(ranges.len() as u64, MAX_PARTS - 1);
        assert!(ranges.iter().all(|range| range.end - range.start <= MAX_PART_BYTES));
        assert!(copy_ranges(MAX_PARTS * MAX_PART_BYTES, 1).is_err(), "no room left for the suffix");
        assert!(copy_ranges(MAX_PARTS * MAX_PART_BYTES, 0).is_ok());
        assert!(copy_ranges(MAX_PARTS * MAX_PART_BYTES + 1, 0).is_err());
    }

    proptest! {
        #[test]
        fn ranges_cover_the_bytes_in_parts_s3_accepts(bytes in MIN_PART_BYTES..((MAX_PARTS - 1) * MAX_PART_BYTES), reserved in 0_u64..2) {
            let ranges = copy_ranges(bytes, reserved).expect("fits");
            prop_assert!(ranges.len() as u64 + reserved <= MAX_PARTS);
            prop_assert_eq!(ranges[0].start, 0);
            prop_assert_eq!(ranges[ranges.len() - 1].end, bytes);
            for pair in ranges.windows(2) {
                prop_assert_eq!(pair[0].end, pair[1].start);
            }
            for range in &ranges {
                let len = range.end - range.start;
                prop_assert!((MIN_PART_BYTES..=MAX_PART_BYTES).contains(&len), "{} bytes", len);
            }
        }
    }
}
