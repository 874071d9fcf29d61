//! Sealing the live array as a segment, idempotently: a seal that finds its segment already written
//! from this array (by itself before a crash, or by another writer) takes it as done, or replaces it
//! with the later, longer version it reads; a number taken by another array's segment is skipped. The
//! segment keeps the range of days the version sealed carries, or none if it carries none.

use crate::store::{CopyRequest, Expect, ObjectStore, ReadRange, StoreError, Tail};

use super::AppendError;
use super::segments::{Label, read_days, segment_key};

/// Segment numbers tried past the live array's own before giving up.
const MAX_PROBES: u64 = 64;

/// Copies the version of the live array at `key` that `tail` was read from to its segment, and answers
/// the segment's number. The live array is left as it is; replacing it is the caller's next write.
pub(crate) async fn seal<S: ObjectStore>(store: &S, key: &str, tail: &Tail, label: &Label) -> Result<u64, AppendError> {
    let last = label.segment.saturating_add(MAX_PROBES - 1);
    let days = read_days(&tail.metadata);
    for number in label.segment..=last {
        let target = segment_key(key, number);
        // The copy of the version read to the segment, if the segment is what `expect` says.
        let copy = |expect| CopyRequest {
            from: key,
            etag: &tail.etag,
            size: tail.size,
            to: &target,
            expect,
            metadata: label.sealed_metadata(days),
        };
        let Some(existing) = store.read(&target, ReadRange::Last(1)).await? else {
            store.copy(copy(Expect::Absent)).await?;
            return Ok(number);
        };
        if !label.sealed_from_this(&existing.metadata) {
            continue;
        }
        // Versions of one live array only grow: an equal size is this version, a shorter one an earlier
        // version sealed while a writer with another rollover size went on appending, a longer one a
        // later version than this read.
        if existing.size == tail.size {
            return Ok(number);
        }
        if existing.size > tail.size {
            return Err(StoreError::Changed { key: key.to_owned() }.into());
        }
        store.copy(copy(Expect::Version(existing.etag))).await?;
        return Ok(number);
    }
    Err(AppendError::NoSegmentFree { key: key.to_owned(), from: label.segment, to: last })
}
