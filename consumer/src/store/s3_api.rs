//! The S3 requests the consumer makes, and the [`ObjectStore`] built on them with S3's rules: below
//! [`MIN_COMPOSE_BYTES`] an object is rewritten, from there on composed from ranged copies of itself
//! and the new bytes, every request guarded by the ETag read.

use std::future::Future;
use std::ops::Range;

use futures::{StreamExt, TryStreamExt, stream};
use tracing::warn;

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

impl<A: S3Api> ObjectStore for A {
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
        key: &str,
        read: &Tail,
        keep: u64,
        suffix: Vec<u8>,
        metadata: Metadata,
    ) -> Result<bool, StoreError> {
        if keep >= MIN_COMPOSE_BYTES {
            compose(self, key, &read.etag, keep, suffix, metadata).await?;
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

/// Replaces version `etag` of `key` by its first `keep` bytes, copied in parts on S3's side, and
/// `suffix` as the last part.
async fn compose<A: S3Api>(
    api: &A,
    key: &str,
    etag: &str,
    keep: u64,
    suffix: Vec<u8>,
    metadata: Metadata,
) -> Result<(), StoreError> {
    let ranges =
        parts::copy_ranges(keep, 1).map_err(|error| StoreError::failed("UploadPartCopy", key, error.to_string()))?;
    let upload_id = api.create_upload(key, JSON, metadata).await?;
    let composed = async {
        let last = part_number(key, ranges.len() + 1)?;
        let (mut parts, suffix_etag) = tokio::try_join!(
            copy_parts(api, key, &upload_id, key, etag, ranges),
            api.upload_part(key, &upload_id, last, suffix),
        )?;
        parts.push((last, suffix_etag));
        api.complete_upload(key, &upload_id, parts, Expect::Version(etag.to_owned())).await
    };
    finish_or_abort(api, key, &upload_id, composed.await).await
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

/// `result`, after aborting the upload if it failed: an upload left open is billed storage, and the
/// bucket's lifecycle rule is only the backstop.
async fn finish_or_abort<A: S3Api>(
    api: &A,
    key: &str,
    upload_id: &str,
    result: Result<(), StoreError>,
) -> Result<(), StoreError> {
    if result.is_err()
        && let Err(error) = api.abort_upload(key, upload_id).await
    {
        warn!(key, error = %error, "could not abort a multipart upload");
    }
    result
}
