//! The SDK adapter of [`LakeStore`]: the only code of the compactor that calls S3.

use std::ops::Range;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use shared::aws::describe_error;

use super::{Condition, Fetched, GENERATION_METADATA, Head, LakeStore, Listed, Metadata, NewPart, Rewrite, StoreError};

/// Characters of a key that `x-amz-copy-source` may carry unencoded.
const COPY_SOURCE_KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');
/// Parts of a rewrite in flight at once.
const PARTS_AT_ONCE: usize = 8;

/// One bucket.
#[derive(Debug, Clone)]
pub struct S3Lake {
    client: Client,
    bucket: String,
}

impl S3Lake {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into() }
    }
}

impl LakeStore for S3Lake {
    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        let mut listed = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| failed("ListObjectsV2", prefix, error))?;
            for object in page.contents() {
                let (Some(key), Some(size), Some(modified)) = (object.key(), object.size(), object.last_modified())
                else {
                    return Err(protocol("ListObjectsV2", prefix, "a key, size and last-modified time"));
                };
                let last_modified = DateTime::<Utc>::from_timestamp(modified.secs(), modified.subsec_nanos())
                    .ok_or_else(|| protocol("ListObjectsV2", key, "a last-modified time within range"))?;
                listed.push(Listed { key: key.to_owned(), size: size.max(0) as u64, last_modified });
            }
        }
        Ok(listed)
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>, StoreError> {
        let output = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(output) => output,
            Err(SdkError::ServiceError(error)) if error.err().is_no_such_key() => return Ok(None),
            Err(error) => return Err(failed("GetObject", key, error)),
        };
        let etag = output.e_tag().ok_or_else(|| protocol("GetObject", key, "an ETag"))?.to_owned();
        let generation = match output.metadata().and_then(|metadata| metadata.get(GENERATION_METADATA)) {
            None => None,
            Some(text) => Some(text.parse().map_err(|_| protocol("GetObject", key, "a generation that is a number"))?),
        };
        let body = output.body.collect().await.map_err(|error| body_error(key, error))?.into_bytes();
        Ok(Some(Fetched { body, etag, generation }))
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        self.read_range(key, None, range).await
    }

    async fn put(&self, key: &str, body: Bytes, condition: Condition) -> Result<String, StoreError> {
        self.put_object(key, body, condition, None).await
    }

    async fn put_stamped(
        &self,
        key: &str,
        body: Bytes,
        condition: Condition,
        generation: u64,
    ) -> Result<String, StoreError> {
        self.put_object(key, body, condition, Some(generation)).await
    }

    async fn metadata(&self, key: &str) -> Result<Option<Metadata>, StoreError> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(output) => Ok(Some(output.metadata().cloned().unwrap_or_default())),
            Err(SdkError::ServiceError(error)) if error.err().is_not_found() => Ok(None),
            Err(error) => Err(failed("HeadObject", key, error)),
        }
    }

    async fn head(&self, key: &str) -> Result<Option<Head>, StoreError> {
        let output = match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(output) => output,
            Err(SdkError::ServiceError(error)) if error.err().is_not_found() => return Ok(None),
            Err(error) => return Err(failed("HeadObject", key, error)),
        };
        Ok(Some(Head {
            size: output.content_length().ok_or_else(|| protocol("HeadObject", key, "a Content-Length"))?.max(0) as u64,
            etag: output.e_tag().ok_or_else(|| protocol("HeadObject", key, "an ETag"))?.to_owned(),
            metadata: output.metadata().cloned().unwrap_or_default(),
            content_type: output.content_type().map(str::to_owned),
            content_encoding: output.content_encoding().map(str::to_owned),
        }))
    }

    async fn get_version_range(&self, key: &str, etag: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        self.read_range(key, Some(etag), range).await
    }

    async fn rewrite(&self, key: &str, rewrite: Rewrite<'_>) -> Result<String, StoreError> {
        let Rewrite { head, mut parts, metadata } = rewrite;
        if let [NewPart::Bytes(_)] = parts.as_slice()
            && let Some(NewPart::Bytes(body)) = parts.pop()
        {
            let output = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .body(ByteStream::from(body))
                .set_content_type(head.content_type.clone())
                .set_content_encoding(head.content_encoding.clone())
                .set_metadata(Some(metadata.into_iter().collect()))
                .if_match(&head.etag)
                .send()
                .await
                .map_err(|error| changed_if_gone(key, "PutObject", error))?;
            return Ok(output.e_tag().ok_or_else(|| protocol("PutObject", key, "an ETag"))?.to_owned());
        }
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .set_content_type(head.content_type.clone())
            .set_content_encoding(head.content_encoding.clone())
            .set_metadata(Some(metadata.into_iter().collect()))
            .send()
            .await
            .map_err(|error| failed("CreateMultipartUpload", key, error))?;
        let upload_id = upload.upload_id().ok_or_else(|| protocol("CreateMultipartUpload", key, "an UploadId"))?;
        let written = self.write_parts(key, upload_id, &head.etag, parts).await;
        if written.is_err() {
            // Left open, the lifecycle rule aborts it within a day; abort it now.
            let abort = self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(upload_id);
            if let Err(error) = abort.send().await {
                tracing::warn!(key, error = %describe_error(&error), "a failed rewrite's upload could not be aborted");
            }
        }
        written
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| failed("DeleteObject", key, error))?;
        Ok(())
    }
}

impl S3Lake {
    /// The bytes of `range` of `key`, of the version `etag` if one is named (412, a change, otherwise).
    async fn read_range(&self, key: &str, etag: Option<&str>, range: Range<u64>) -> Result<Bytes, StoreError> {
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_if_match(etag.map(str::to_owned))
            .range(format!("bytes={}-{}", range.start, range.end - 1))
            .send()
            .await
            .map_err(|error| failed("GetObject", key, error))?;
        let body = output.body.collect().await.map_err(|error| body_error(key, error))?.into_bytes();
        if body.len() as u64 != range.end - range.start {
            return Err(protocol("GetObject", key, "a body as long as the range asked for"));
        }
        Ok(body)
    }

    /// Copies or uploads each part of `upload_id`, several at once, and completes it if `key` is still `etag`.
    async fn write_parts(
        &self,
        key: &str,
        upload_id: &str,
        etag: &str,
        parts: Vec<NewPart>,
    ) -> Result<String, StoreError> {
        let copy_source = format!("{}/{}", self.bucket, utf8_percent_encode(key, COPY_SOURCE_KEEP));
        let completed: Vec<CompletedPart> = futures::stream::iter(parts.into_iter().enumerate())
            .map(|(index, part)| {
                let number = i32::try_from(index + 1).unwrap_or(i32::MAX);
                let copy_source = copy_source.clone();
                async move {
                    let etag = match part {
                        NewPart::Copy(range) => self
                            .client
                            .upload_part_copy()
                            .bucket(&self.bucket)
                            .key(key)
                            .upload_id(upload_id)
                            .part_number(number)
                            .copy_source(copy_source)
                            .copy_source_range(format!("bytes={}-{}", range.start, range.end.saturating_sub(1)))
                            .copy_source_if_match(etag)
                            .send()
                            .await
                            .map_err(|error| failed("UploadPartCopy", key, error))?
                            .copy_part_result()
                            .and_then(|result| result.e_tag())
                            .map(str::to_owned),
                        NewPart::Bytes(body) => self
                            .client
                            .upload_part()
                            .bucket(&self.bucket)
                            .key(key)
                            .upload_id(upload_id)
                            .part_number(number)
                            .body(ByteStream::from(body))
                            .send()
                            .await
                            .map_err(|error| failed("UploadPart", key, error))?
                            .e_tag()
                            .map(str::to_owned),
                    };
                    let etag = etag.ok_or_else(|| protocol("UploadPart", key, "an ETag"))?;
                    Ok::<_, StoreError>(CompletedPart::builder().part_number(number).e_tag(etag).build())
                }
            })
            .buffered(PARTS_AT_ONCE)
            .try_collect()
            .await?;
        let output = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build())
            .if_match(etag)
            .send()
            .await
            .map_err(|error| changed_if_gone(key, "CompleteMultipartUpload", error))?;
        Ok(output.e_tag().ok_or_else(|| protocol("CompleteMultipartUpload", key, "an ETag"))?.to_owned())
    }

    async fn put_object(
        &self,
        key: &str,
        body: Bytes,
        condition: Condition,
        generation: Option<u64>,
    ) -> Result<String, StoreError> {
        let mut request = self.client.put_object().bucket(&self.bucket).key(key).body(ByteStream::from(body));
        if let Some(generation) = generation {
            request = request.metadata(GENERATION_METADATA, generation.to_string());
        }
        let request = match condition {
            Condition::Always => request,
            Condition::IfAbsent => request.if_none_match("*"),
            Condition::IfMatch(etag) => request.if_match(etag),
        };
        let output = request.send().await.map_err(|error| changed_if_gone(key, "PutObject", error))?;
        Ok(output.e_tag().ok_or_else(|| protocol("PutObject", key, "an ETag"))?.to_owned())
    }
}

/// A conditional write's error: the object deleted since it was read has changed, as a 412 says.
fn changed_if_gone<E, R>(key: &str, operation: &'static str, error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &error {
        SdkError::ServiceError(service) if service.err().code() == Some("NoSuchKey") => {
            StoreError::Changed { key: key.to_owned() }
        }
        _ => failed(operation, key, error),
    }
}

fn failed<E, R>(operation: &'static str, key: &str, error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let SdkError::ServiceError(service) = &error
        && matches!(service.err().code(), Some("PreconditionFailed" | "ConditionalRequestConflict"))
    {
        return StoreError::Changed { key: key.to_owned() };
    }
    StoreError::Request {
        operation,
        key: key.to_owned(),
        message: describe_error(&error),
        source: Some(Box::new(error)),
    }
}

fn body_error(key: &str, error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Request {
        operation: "GetObject",
        key: key.to_owned(),
        message: format!("reading the body failed: {error}"),
        source: Some(Box::new(error)),
    }
}

fn protocol(operation: &'static str, key: &str, missing: &str) -> StoreError {
    StoreError::Request { operation, key: key.to_owned(), message: format!("the answer lacks {missing}"), source: None }
}
