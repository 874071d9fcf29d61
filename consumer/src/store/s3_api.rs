//! The S3 requests the consumer makes, and the [`ObjectStore`] built on them with S3's rules: below
//! [`MIN_COMPOSE_BYTES`] an object is rewritten, from there on composed from ranged copies of itself
//! and the new bytes, every request guarded by the ETag read.

use std::future::Future;
use std::ops::Range;

use futures::{StreamExt, TryStreamExt, stream};
use tracing::{debug, warn};

use super::parts::{self, MIN_PART_BYTES};
use super::{Content, Expect, JSON, Metadata, ObjectStore, ReadRange, StoreError, Tail};

/// S3's smallest multipart part but the last: below it, an object is rewritten instead of composed.
pub const MIN_COMPOSE_BYTES: u64 = MIN_PART_BYTES;
/// Parts copied at once: an append to an array of up to 4 GiB copies all its parts in one round, one of
/// 50 GiB in 13.
pub const COPY_CONCURRENCY: usize = 64;

/// Which bytes a GetObject asks for, in S3's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetRange {
    Whole,
    /// `bytes=-n`.
    Suffix(u64),
    /// `bytes=start-`.
    From(u64),
    /// `bytes=start-end`, the end inclusive, as HTTP has it.
    Span {
        start: u64,
        end_inclusive: u64,
    },
}

/// The S3 requests an [`ObjectStore`] is built from, each as S3 answers it.
pub trait S3Api: Sync {
    /// GetObject; `None` when the key is missing (or S3 will not say, 403). A range that starts beyond
    /// the object's end is an error.
    fn get_object(
        &self,
        key: &str,
        range: GetRange,
        if_match: Option<&str>,
    ) -> impl Future<Output = Result<Option<Tail>, StoreError>> + Send;

    fn put_object(
        &self,
        key: &str,
        body: Vec<u8>,
        content: Content,
        expect: Expect,
        metadata: Metadata,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// CreateMultipartUpload; answers the upload id.
    fn create_upload(
        &self,
        key: &str,
        content: Content,
        metadata: Metadata,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// UploadPartCopy of `range` of version `etag` of `source`; answers the part's ETag.
    fn copy_part(
        &self,
        key: &str,
        upload_id: &str,
        part: u32,
        source: &str,
        range: Range<u64>,
        etag: &str,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// UploadPart; answers the part's ETag.
    fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part: u32,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// CompleteMultipartUpload of `parts` (number and ETag), if the key is what `expect` says.
    fn complete_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<(u32, String)>,
        expect: Expect,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn abort_upload(&self, key: &str, upload_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

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
pub const MAX_RESENT_BYTES: u64 = 64 * 1024;

impl<A: S3Api> ObjectStore for A {
    type Session = OpenUpload;

    async fn read(&self, key: &str, range: ReadRange) -> Result<Option<Tail>, StoreError> {
        match range {
            ReadRange::Last(bytes) => read_last(self, key, bytes).await,
            ReadRange::Span { len: 0, .. } => Ok(None),
            ReadRange::Span { offset, len } => {
                let span = GetRange::Span { start: offset, end_inclusive: offset + len - 1 };
                match self.get_object(key, span, None).await {
                    Err(StoreError::OutOfRange { .. }) => Ok(None),
                    other => other,
                }
            }
            ReadRange::From { offset, or_last } => match self.get_object(key, GetRange::From(offset), None).await {
                Err(StoreError::OutOfRange { .. }) => read_last(self, key, or_last).await,
                other => other,
            },
        }
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content: Content,
        expect: Expect,
        metadata: Metadata,
    ) -> Result<(), StoreError> {
        self.put_object(key, body, content, expect, metadata).await
    }

    async fn splice(
        &self,
        session: &mut OpenUpload,
        key: &str,
        read: &Tail,
        keep: u64,
        suffix: Vec<u8>,
        metadata: Metadata,
    ) -> Result<bool, StoreError> {
        if keep >= MIN_COMPOSE_BYTES {
            compose(self, session, key, read, keep, suffix, metadata).await?;
            return Ok(true);
        }
        let keep = usize::try_from(keep).map_err(|_| StoreError::failed("PutObject", key, "too large to rewrite"))?;
        let mut body = if read.offset == 0 && read.bytes.len() >= keep {
            read.bytes[..keep].to_vec()
        } else {
            // The whole object, of the version read: the ETag guards the read as it guards the write.
            let whole = self.get_object(key, GetRange::Whole, Some(&read.etag)).await?;
            whole.ok_or_else(|| StoreError::Changed { key: key.to_owned() })?.bytes
        };
        body.truncate(keep);
        body.extend_from_slice(&suffix);
        self.put_object(key, body, JSON, Expect::Version(read.etag.clone()), metadata).await?;
        Ok(false)
    }

    async fn close(&self, session: OpenUpload) {
        if let Some(upload) = session.upload {
            abort(self, &upload.key, &upload.id).await;
        }
    }

    async fn copy(
        &self,
        from: &str,
        etag: &str,
        size: u64,
        to: &str,
        expect: Expect,
        metadata: Metadata,
    ) -> Result<(), StoreError> {
        let ranges = parts::copy_ranges(size, 0)
            .map_err(|error| StoreError::failed("UploadPartCopy", from, error.to_string()))?;
        let upload_id = self.create_upload(to, JSON, metadata).await?;
        let copied = async {
            let parts = copy_parts(self, to, &upload_id, from, etag, ranges).await?;
            self.complete_upload(to, &upload_id, parts, expect).await
        };
        finish_or_abort(self, to, &upload_id, copied.await).await
    }
}

async fn read_last<A: S3Api>(api: &A, key: &str, bytes: u64) -> Result<Option<Tail>, StoreError> {
    if bytes == 0 {
        return Ok(None);
    }
    match api.get_object(key, GetRange::Suffix(bytes), None).await {
        // A suffix range of an empty object is not satisfiable; the object is then read whole.
        Err(StoreError::OutOfRange { .. }) => api.get_object(key, GetRange::Whole, None).await,
        other => other,
    }
}

/// Replaces the version of `key` that `read` came from by its first `keep` bytes, copied in parts on
/// S3's side, and `suffix` as the last part. An upload `session` holds from a lost race is completed
/// instead when its copied bytes still begin the object: only the bytes appended since and `suffix` are
/// sent. An upload that loses a race stays open in `session`; one that fails otherwise is aborted.
async fn compose<A: S3Api>(
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
            api.complete_upload(key, &upload.id, parts, guard.clone()).await
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
    let ranges =
        parts::copy_ranges(keep, 1).map_err(|error| StoreError::failed("UploadPartCopy", key, error.to_string()))?;
    let id = api.create_upload(key, JSON, metadata.clone()).await?;
    let last = part_number(key, ranges.len() + 1)?;
    let (copied, uploaded) =
        tokio::join!(copy_parts(api, key, &id, key, &read.etag, ranges), api.upload_part(key, &id, last, suffix),);
    let result = match (copied, uploaded) {
        (Ok(parts), Ok(suffix_etag)) => {
            session.upload =
                Some(Upload { key: key.to_owned(), id: id.clone(), metadata, copied: keep, parts: parts.clone() });
            let mut parts = parts;
            parts.push((last, suffix_etag));
            api.complete_upload(key, &id, parts, guard).await
        }
        (Err(error), _) | (_, Err(error)) => {
            session.upload = Some(Upload { key: key.to_owned(), id, metadata, copied: 0, parts: Vec::new() });
            Err(error)
        }
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
            Ok::<_, StoreError>((number, api.copy_part(key, upload_id, number, source, range, etag).await?))
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
