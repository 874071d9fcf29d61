//! Multipart writes on S3's side: an object composed from ranged copies of itself and the new bytes,
//! an upload a lost race left open completed by the retry, and an object copied in parts.

use std::ops::Range;

use futures::{StreamExt, TryStreamExt, stream};
use tracing::{debug, warn};

use super::parts;
use super::s3_api::{Completion, PartCopy, S3Api};
use super::{CopyRequest, Expect, JSON, Metadata, StoreError, Tail};

/// Parts copied at once: an append to an array of up to 4 GiB copies all its parts in one round, one of
/// 50 GiB in 13.
pub(crate) const COPY_CONCURRENCY: usize = 64;

/// A multipart upload left open by an attempt that lost a race: its parts hold the object's first
/// `copied` bytes, which later versions with the same metadata keep, so a retry uploads only what
/// follows them.
#[derive(Debug, Default)]
pub struct OpenUpload {
    upload: Option<Upload>,
}

#[derive(Debug)]
struct Upload {
    key: String,
    id: String,
    metadata: Metadata,
    copied: u64,
    parts: Vec<(u32, String)>,
}

/// The most bytes other writers appended since an upload's copy that a retry sends again rather than
/// copying the object anew.
pub(crate) const MAX_RESENT_BYTES: u64 = 64 * 1024;

/// Copies version `etag` (of `size` bytes) of `from` to `to` in parts, if `to` is what `expect` says.
pub(super) async fn copy<A: S3Api>(api: &A, request: CopyRequest<'_>) -> Result<(), StoreError> {
    let CopyRequest { from, etag, size, to, expect, metadata } = request;
    let ranges = parts::copy_ranges(size, 0)?;
    let upload_id = api.create_upload(to, JSON, metadata).await?;
    let copied = async {
        let parts = copy_parts(api, to, &upload_id, from, etag, ranges).await?;
        api.complete_upload(Completion { key: to, upload_id: &upload_id, parts, expect }).await
    };
    finish_or_abort(api, to, &upload_id, copied.await).await
}

/// Replaces the version of `key` that `read` came from by its first `keep` bytes, copied in parts on
/// S3's side, and `suffix` as the last part. An upload `session` holds from a lost race is completed
/// instead when its copied bytes still begin the object: only the bytes appended since and `suffix` are
/// sent. An upload that loses a race stays open in `session`; one that fails otherwise is aborted.
pub(super) async fn compose<A: S3Api>(
    api: &A,
    session: &mut OpenUpload,
    key: &str,
    read: &Tail,
    keep: u64,
    suffix: Vec<u8>,
    metadata: Metadata,
) -> Result<(), StoreError> {
    let guard = Expect::Version(read.etag.clone());
    let reusable = session.upload.as_ref().and_then(|upload| {
        let resent = keep.checked_sub(upload.copied)?;
        let usable = upload.key == key && upload.metadata == metadata && resent <= MAX_RESENT_BYTES;
        let start = usize::try_from(upload.copied.checked_sub(read.offset)?).ok()?;
        let end = usize::try_from(keep.checked_sub(read.offset)?).ok()?;
        usable.then(|| read.bytes.get(start..end)).flatten()
    });
    if let (Some(appended), Some(upload)) = (reusable, session.upload.as_ref()) {
        let last = part_number(key, upload.parts.len() + 1)?;
        let mut body = appended.to_vec();
        body.extend_from_slice(&suffix);
        let mut parts = upload.parts.clone();
        let result = async {
            parts.push((last, api.upload_part(key, &upload.id, last, body).await?));
            api.complete_upload(Completion { key, upload_id: &upload.id, parts, expect: guard.clone() }).await
        };
        match result.await {
            // The upload may be gone (its completion landed though its answer was lost): copy anew.
            Err(error) if !error.is_contention() => {
                debug!(key, error = %error, "an open upload could not be completed; copying anew");
            }
            result => return settle(api, session, result).await,
        }
    }
    if let Some(stale) = session.upload.take() {
        abort(api, &stale.key, &stale.id).await;
    }
    let ranges = parts::copy_ranges(keep, 1)?;
    let id = api.create_upload(key, JSON, metadata.clone()).await?;
    // Held from the start, so an append cut off at its deadline still aborts it.
    session.upload = Some(Upload { key: key.to_owned(), id: id.clone(), metadata, copied: 0, parts: Vec::new() });
    let last = part_number(key, ranges.len() + 1)?;
    let (copied, uploaded) =
        tokio::join!(copy_parts(api, key, &id, key, &read.etag, ranges), api.upload_part(key, &id, last, suffix));
    let result = match (copied, uploaded) {
        (Ok(mut parts), Ok(suffix_etag)) => {
            if let Some(upload) = session.upload.as_mut() {
                upload.copied = keep;
                upload.parts = parts.clone();
            }
            parts.push((last, suffix_etag));
            api.complete_upload(Completion { key, upload_id: &id, parts, expect: guard }).await
        }
        (Err(error), _) | (_, Err(error)) => Err(error),
    };
    settle(api, session, result).await
}

/// `result` of completing `session`'s upload: done, it is closed; refused because the object changed
/// (412), it stays open for the retry; failed otherwise, it is aborted.
async fn settle<A: S3Api>(api: &A, session: &mut OpenUpload, result: Result<(), StoreError>) -> Result<(), StoreError> {
    match &result {
        Ok(()) => session.upload = None,
        // After a 409 S3 wants the upload started again; after a 412 its parts still hold.
        Err(StoreError::Changed { .. }) if session.upload.as_ref().is_some_and(|upload| upload.copied > 0) => {}
        Err(_) => {
            if let Some(upload) = session.upload.take() {
                abort(api, &upload.key, &upload.id).await;
            }
        }
    }
    result
}

/// Aborts the upload `session` holds, if any.
pub(super) async fn close<A: S3Api>(api: &A, session: OpenUpload) {
    if let Some(upload) = session.upload {
        abort(api, &upload.key, &upload.id).await;
    }
}

/// Aborts an upload: one left open is billed storage, and the bucket's lifecycle rule is only the
/// backstop.
async fn abort<A: S3Api>(api: &A, key: &str, upload_id: &str) {
    if let Err(error) = api.abort_upload(key, upload_id).await {
        warn!(key, error = %error, "could not abort a multipart upload");
    }
}

/// Copies `ranges` of version `etag` of `source` as parts 1, 2, ..., [`COPY_CONCURRENCY`] at a time.
async fn copy_parts<A: S3Api>(
    api: &A,
    key: &str,
    upload_id: &str,
    source: &str,
    etag: &str,
    ranges: Vec<Range<u64>>,
) -> Result<Vec<(u32, String)>, StoreError> {
    let mut parts: Vec<(u32, String)> = stream::iter(ranges.into_iter().enumerate())
        .map(|(index, range)| async move {
            let number = part_number(key, index + 1)?;
            let copy = PartCopy { key, upload_id, part: number, source, range, etag };
            Ok::<_, StoreError>((number, api.copy_part(copy).await?))
        })
        .buffer_unordered(COPY_CONCURRENCY)
        .try_collect()
        .await?;
    parts.sort_unstable_by_key(|(number, _)| *number);
    Ok(parts)
}

fn part_number(key: &str, number: usize) -> Result<u32, StoreError> {
    u32::try_from(number).map_err(|_| StoreError::failed("UploadPart", key, format!("part number {number}")))
}

/// `result`, after aborting the upload if it failed.
async fn finish_or_abort<A: S3Api>(
    api: &A,
    key: &str,
    upload_id: &str,
    result: Result<(), StoreError>,
) -> Result<(), StoreError> {
    if result.is_err() {
        abort(api, key, upload_id).await;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::{Latency, MemoryStore};
    use crate::store::{ObjectStore, ReadRange};

    const KEY: &str = "array.json";

    async fn read_end(store: &MemoryStore) -> Tail {
        store.read(KEY, ReadRange::Last(1024)).await.expect("reads").expect("exists")
    }

    /// Appends `record` after the array's last record, as a writer does.
    fn keep_of(tail: &Tail) -> u64 {
        tail.size - 2
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_completes_the_upload_its_lost_race_left_open_sending_only_what_follows_the_copy() {
        let latency = Latency { request: std::time::Duration::from_millis(10), copy_bytes_per_second: 1e9 };
        let store = MemoryStore::with_latency(latency);
        let mut array = b"[\n{}".to_vec();
        array.resize(6 << 20, b' ');
        array.extend_from_slice(b"\n]");
        store.insert(KEY, array);
        let metadata = Metadata::from([("segment".to_owned(), "1".to_owned())]);
        let read = read_end(&store).await;
        let (mut first, mut second) = (OpenUpload::default(), OpenUpload::default());
        let records = [&b",{\"w\":1}\n]"[..], b",{\"w\":2}\n]"];
        let (one, two) = tokio::join!(
            store.splice(&mut first, KEY, &read, keep_of(&read), records[0].to_vec(), metadata.clone()),
            store.splice(&mut second, KEY, &read, keep_of(&read), records[1].to_vec(), metadata.clone()),
        );
        assert!(one.is_ok() != two.is_ok(), "one completion wins");
        let (mut ours, theirs, record, landed) =
            if one.is_ok() { (second, first, records[1], records[0]) } else { (first, second, records[0], records[1]) };
        assert_eq!(store.open_uploads(), 1, "the loser's upload is left open for the retry");

        let again = store.read(KEY, ReadRange::From { offset: keep_of(&read) - 1, or_last: 1024 }).await;
        let again = again.expect("reads").expect("exists");
        let (requests, sent) = (store.requests(), store.bytes_written());
        store.splice(&mut ours, KEY, &again, keep_of(&again), record.to_vec(), metadata).await.expect("wins");
        assert_eq!(store.requests() - requests, 2, "UploadPart and CompleteMultipartUpload only");
        let resent = &landed[..landed.len() - 2];
        assert_eq!(store.bytes_written() - sent, (resent.len() + record.len()) as u64);
        let mut end = b" ".to_vec();
        end.extend_from_slice(resent);
        end.extend_from_slice(record);
        assert_eq!(store.object_end(KEY, end.len() as u64).expect("exists"), end);
        assert_eq!(store.open_uploads(), 0);
        store.close(ours).await;
        store.close(theirs).await;
    }
}
