//! The S3 requests the consumer makes, and the [`ObjectStore`] built on them with S3's rules: below
//! [`MIN_COMPOSE_BYTES`] an object is rewritten, from there on composed on S3's side ([`multipart`]),
//! every request guarded by the ETag read.

use std::future::Future;
use std::ops::Range;

use super::multipart;
use super::parts::MIN_PART_BYTES;
use super::{Content, CopyRequest, Expect, JSON, Metadata, ObjectStore, PutRequest, ReadRange, StoreError, Tail};

/// S3's smallest multipart part but the last: below it, an object is rewritten instead of composed.
pub(crate) const MIN_COMPOSE_BYTES: u64 = MIN_PART_BYTES;
/// Which bytes a GetObject asks for, in S3's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GetRange {
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

/// An UploadPartCopy: `range` of version `etag` of `source` as part `part` of upload `upload_id` of `key`.
#[derive(Debug, Clone)]
pub(crate) struct PartCopy<'a> {
    pub(crate) key: &'a str,
    pub(crate) upload_id: &'a str,
    pub(crate) part: u32,
    pub(crate) source: &'a str,
    pub(crate) range: Range<u64>,
    pub(crate) etag: &'a str,
}

/// A CompleteMultipartUpload: upload `upload_id` of `key` from `parts` (number and ETag), if `key` is what
/// `expect` says.
#[derive(Debug)]
pub(crate) struct Completion<'a> {
    pub(crate) key: &'a str,
    pub(crate) upload_id: &'a str,
    pub(crate) parts: Vec<(u32, String)>,
    pub(crate) expect: Expect,
}

/// The S3 requests an [`ObjectStore`] is built from, each as S3 answers it.
pub(crate) trait S3Api: Sync {
    /// GetObject; `None` when the key is missing (or S3 will not say, 403). A range that starts beyond
    /// the object's end is an error.
    fn get_object(
        &self,
        key: &str,
        range: GetRange,
        if_match: Option<&str>,
    ) -> impl Future<Output = Result<Option<Tail>, StoreError>> + Send;

    /// PutObject, guarded by `request.expect`.
    fn put_object(&self, request: PutRequest<'_>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// CreateMultipartUpload; answers the upload id.
    fn create_upload(
        &self,
        key: &str,
        content: Content,
        metadata: Metadata,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// UploadPartCopy `request`; answers the part's ETag.
    fn copy_part(&self, request: PartCopy<'_>) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// UploadPart; answers the part's ETag.
    fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part: u32,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// CompleteMultipartUpload `request`.
    fn complete_upload(&self, request: Completion<'_>) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn abort_upload(&self, key: &str, upload_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl<A: S3Api> ObjectStore for A {
    type Session = multipart::OpenUpload;

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

    async fn put(&self, request: PutRequest<'_>) -> Result<(), StoreError> {
        self.put_object(request).await
    }

    async fn splice(
        &self,
        session: &mut multipart::OpenUpload,
        key: &str,
        read: &Tail,
        keep: u64,
        suffix: Vec<u8>,
        metadata: Metadata,
    ) -> Result<bool, StoreError> {
        if keep >= MIN_COMPOSE_BYTES {
            multipart::compose(self, session, key, read, keep, suffix, metadata).await?;
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
        let expect = Expect::Version(read.etag.clone());
        self.put_object(PutRequest { key, body, content: JSON, expect, metadata }).await?;
        Ok(false)
    }

    async fn close(&self, session: multipart::OpenUpload) {
        multipart::close(self, session).await;
    }

    async fn copy(&self, request: CopyRequest<'_>) -> Result<(), StoreError> {
        multipart::copy(self, request).await
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
