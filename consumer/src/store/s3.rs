//! The SDK adapter of `S3Api`: the only code that calls S3.

use std::collections::HashMap;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use shared::aws::describe_error;
use tracing::debug;

use super::s3_api::{Completion, GetRange, PartCopy};
use super::{Content, Expect, Metadata, PutRequest, S3Api, StoreError, Tail};

/// Characters of a key that `x-amz-copy-source` may carry unencoded.
const COPY_SOURCE_KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// One bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
}

impl S3Store {
    /// The store of `bucket`, reached through `client`.
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into() }
    }
}

impl S3Api for S3Store {
    async fn get_object(&self, key: &str, range: GetRange, if_match: Option<&str>) -> Result<Option<Tail>, StoreError> {
        let range = match range {
            GetRange::Whole => None,
            GetRange::Suffix(bytes) => Some(format!("bytes=-{bytes}")),
            GetRange::From(start) => Some(format!("bytes={start}-")),
            GetRange::Span { start, end_inclusive } => Some(format!("bytes={start}-{end_inclusive}")),
        };
        let response = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_range(range)
            .set_if_match(if_match.map(str::to_owned))
            .send()
            .await;
        let output = match response {
            Ok(output) => output,
            Err(SdkError::ServiceError(error)) if error.err().is_no_such_key() => return Ok(None),
            // Without s3:ListBucket (the role has none) S3 answers a missing key with 403. The object is then
            // created only if absent (If-None-Match), so taking 403 for missing is safe: if the object does
            // exist, the creation is refused and the append says it cannot read it.
            Err(SdkError::ServiceError(error)) if error.err().code() == Some("AccessDenied") => {
                debug!(key, "GetObject answered AccessDenied; taken as a missing object");
                return Ok(None);
            }
            Err(error) => return Err(store_error("GetObject", key, error)),
        };
        let etag = required(output.e_tag(), "GetObject", key, "ETag")?;
        let range = output.content_range().map(str::to_owned);
        let metadata: Metadata = output.metadata().cloned().unwrap_or_default().into_iter().collect();
        let bytes = output.body.collect().await.map_err(|error| StoreError::Failed {
            operation: "GetObject",
            key: key.to_owned(),
            message: format!("reading the body failed: {error}"),
            source: Some(Box::new(error)),
        })?;
        let bytes = bytes.into_bytes().to_vec();
        let (offset, size) = match range.as_deref() {
            None => (0, bytes.len() as u64),
            Some(range) => parse_content_range(range)
                .filter(|(start, end, size)| end - start + 1 == bytes.len() as u64 && end < size)
                .map(|(start, _, size)| (start, size))
                .ok_or_else(|| StoreError::Protocol {
                    operation: "GetObject",
                    key: key.to_owned(),
                    missing: "Content-Range that matches its body",
                })?,
        };
        Ok(Some(Tail { bytes, offset, size, etag, metadata }))
    }

    async fn put_object(&self, request: PutRequest<'_>) -> Result<(), StoreError> {
        let PutRequest { key, body, content, expect, metadata } = request;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content.content_type)
            .set_content_encoding(content.content_encoding.map(str::to_owned))
            .set_metadata(sdk_metadata(metadata))
            .body(ByteStream::from(body));
        let request = match expect {
            Expect::Absent => request.if_none_match("*"),
            Expect::Version(etag) => request.if_match(etag),
            Expect::Any => request,
        };
        request.send().await.map_err(|error| store_error("PutObject", key, error))?;
        Ok(())
    }

    async fn create_upload(&self, key: &str, content: Content, metadata: Metadata) -> Result<String, StoreError> {
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content.content_type)
            .set_content_encoding(content.content_encoding.map(str::to_owned))
            .set_metadata(sdk_metadata(metadata))
            .send()
            .await
            .map_err(|error| store_error("CreateMultipartUpload", key, error))?;
        required(upload.upload_id(), "CreateMultipartUpload", key, "UploadId")
    }

    async fn copy_part(&self, request: PartCopy<'_>) -> Result<String, StoreError> {
        let PartCopy { key, upload_id, part, source, range, etag } = request;
        let copy_source = format!("{}/{}", self.bucket, utf8_percent_encode(source, COPY_SOURCE_KEEP));
        let copied = self
            .client
            .upload_part_copy()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number(part))
            .copy_source(copy_source)
            .copy_source_range(format!("bytes={}-{}", range.start, range.end.saturating_sub(1)))
            .copy_source_if_match(etag)
            .send()
            .await
            .map_err(|error| store_error("UploadPartCopy", key, error))?;
        required(copied.copy_part_result().and_then(|result| result.e_tag()), "UploadPartCopy", key, "ETag")
    }

    async fn upload_part(&self, key: &str, upload_id: &str, part: u32, body: Vec<u8>) -> Result<String, StoreError> {
        let uploaded = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number(part))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|error| store_error("UploadPart", key, error))?;
        required(uploaded.e_tag(), "UploadPart", key, "ETag")
    }

    async fn complete_upload(&self, request: Completion<'_>) -> Result<(), StoreError> {
        let Completion { key, upload_id, parts, expect } = request;
        let parts = parts
            .into_iter()
            .map(|(number, etag)| CompletedPart::builder().part_number(part_number(number)).e_tag(etag).build())
            .collect();
        let request = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build());
        let request = match expect {
            Expect::Absent => request.if_none_match("*"),
            Expect::Version(etag) => request.if_match(etag),
            Expect::Any => request,
        };
        request.send().await.map_err(|error| store_error("CompleteMultipartUpload", key, error))?;
        Ok(())
    }

    async fn abort_upload(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(|error| store_error("AbortMultipartUpload", key, error))?;
        Ok(())
    }
}

fn sdk_metadata(metadata: Metadata) -> Option<HashMap<String, String>> {
    (!metadata.is_empty()).then(|| metadata.into_iter().collect())
}

/// Part numbers are at most 10,000, so they fit the SDK's `i32`.
fn part_number(part: u32) -> i32 {
    i32::try_from(part).unwrap_or(i32::MAX)
}

fn required(
    value: Option<&str>,
    operation: &'static str,
    key: &str,
    missing: &'static str,
) -> Result<String, StoreError> {
    value.filter(|value| !value.is_empty()).map(str::to_owned).ok_or_else(|| StoreError::Protocol {
        operation,
        key: key.to_owned(),
        missing,
    })
}

/// `bytes START-END/SIZE` to `(START, END, SIZE)`, END inclusive and not before START.
fn parse_content_range(range: &str) -> Option<(u64, u64, u64)> {
    let (span, size) = range.strip_prefix("bytes ")?.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    let (start, end) = (start.parse().ok()?, end.parse().ok()?);
    (start <= end).then_some(())?;
    Some((start, end, size.parse().ok()?))
}

fn store_error<E, R>(operation: &'static str, key: &str, error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
    SdkError<E, R>: std::error::Error,
{
    let key = key.to_owned();
    if let SdkError::ServiceError(service) = &error {
        match service.err().code() {
            Some("PreconditionFailed") => return StoreError::Changed { key },
            Some("ConditionalRequestConflict") => return StoreError::Conflict { key },
            // A guarded write or copy of a key that is gone: another writer replaced or removed it.
            Some("NoSuchKey") if operation != "GetObject" => return StoreError::Changed { key },
            Some("InvalidRange") => return StoreError::OutOfRange { key },
            _ => {}
        }
    }
    StoreError::Failed { operation, key, message: describe_error(&error), source: Some(Box::new(error)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_gives_offset_and_size() {
        assert_eq!(parse_content_range("bytes 100-199/200"), Some((100, 199, 200)));
        assert_eq!(parse_content_range("bytes 0-0/1"), Some((0, 0, 1)));
        assert_eq!(parse_content_range("bytes 9-3/10"), None);
        assert_eq!(parse_content_range("bytes */200"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn copy_source_keys_are_percent_encoded() {
        let encoded = utf8_percent_encode("dir/streaming data+ș.json", COPY_SOURCE_KEEP).to_string();
        assert_eq!(encoded, "dir/streaming%20data%2B%C8%99.json");
    }

    #[test]
    fn a_missing_etag_or_upload_id_is_a_protocol_error_naming_the_operation() {
        let error = required(None, "CreateMultipartUpload", "k", "UploadId").expect_err("missing");
        assert!(!error.is_contention());
        assert_eq!(error.to_string(), "CreateMultipartUpload k: the answer has no UploadId");
        assert!(required(Some(""), "UploadPart", "k", "ETag").is_err());
        assert_eq!(required(Some("\"e\""), "UploadPart", "k", "ETag").expect("present"), "\"e\"");
    }
}
