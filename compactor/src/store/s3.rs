//! The SDK adapter of [`LakeStore`]: the only code of the compactor that calls S3.

use std::ops::Range;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use shared::aws::describe_error;

use super::{Condition, Fetched, GENERATION_METADATA, LakeStore, Listed, Metadata, StoreError};

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
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        let header = format!("bytes={}-{}", range.start, range.end - 1);
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(header)
            .send()
            .await
            .map_err(|error| failed("GetObject", key, error))?;
        let body = output.body.collect().await.map_err(|error| body_error(key, error))?.into_bytes();
        if body.len() as u64 != range.end - range.start {
            return Err(protocol("GetObject", key, "a body as long as the range asked for"));
        }
        Ok(body)
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
        let output = request.send().await.map_err(|error| match &error {
            // The object was deleted since it was read: it changed, as a 412 says.
            SdkError::ServiceError(service) if service.err().code() == Some("NoSuchKey") => {
                StoreError::Changed { key: key.to_owned() }
            }
            _ => failed("PutObject", key, error),
        })?;
        Ok(output.e_tag().ok_or_else(|| protocol("PutObject", key, "an ETag"))?.to_owned())
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
