//! The S3 adapter of [`ObjectStore`]: the only code that calls S3.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use shared::aws::describe_error;
use tracing::debug;

use super::{Content, Expect, MIN_COMPOSE_BYTES, ObjectStore, StoreError, Tail};

/// Characters of a key that `x-amz-copy-source` may carry unencoded.
const COPY_SOURCE_KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// One bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
}

impl S3Store {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into() }
    }

    /// An S3 client for `config`. A custom endpoint (`AWS_ENDPOINT_URL`, a local emulator) gets
    /// path-style addressing, since `BUCKET.127.0.0.1` resolves nowhere.
    pub fn client(config: &shared::aws::SdkConfig) -> Client {
        let path_style = config.endpoint_url().is_some();
        Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(path_style).build())
    }

    async fn compose_parts(
        &self,
        key: &str,
        etag: &str,
        keep: u64,
        suffix: Vec<u8>,
        upload_id: &str,
    ) -> Result<(), StoreError> {
        let copy_source = format!("{}/{}", self.bucket, utf8_percent_encode(key, COPY_SOURCE_KEEP));
        let copied = self
            .client
            .upload_part_copy()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(1)
            .copy_source(copy_source)
            .copy_source_range(format!("bytes=0-{}", keep - 1))
            .copy_source_if_match(etag)
            .send()
            .await
            .map_err(|error| store_error("UploadPartCopy", key, error))?;
        let copied_etag = copied.copy_part_result().and_then(|result| result.e_tag()).unwrap_or_default().to_owned();
        let uploaded = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(2)
            .body(ByteStream::from(suffix))
            .send()
            .await
            .map_err(|error| store_error("UploadPart", key, error))?;
        let parts = CompletedMultipartUpload::builder()
            .parts(CompletedPart::builder().part_number(1).e_tag(copied_etag).build())
            .parts(CompletedPart::builder().part_number(2).e_tag(uploaded.e_tag().unwrap_or_default()).build())
            .build();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(parts)
            .if_match(etag)
            .send()
            .await
            .map_err(|error| store_error("CompleteMultipartUpload", key, error))?;
        Ok(())
    }
}

impl ObjectStore for S3Store {
    async fn tail(&self, key: &str, max_bytes: u64) -> Result<Option<Tail>, StoreError> {
        let response =
            self.client.get_object().bucket(&self.bucket).key(key).range(format!("bytes=-{max_bytes}")).send().await;
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
            // A suffix range of an empty object is not satisfiable; the object is then read whole.
            Err(SdkError::ServiceError(error)) if error.err().code() == Some("InvalidRange") => {
                let output = self
                    .client
                    .get_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|error| store_error("GetObject", key, error))?;
                let etag = output.e_tag().unwrap_or_default().to_owned();
                let bytes = collect(output.body, key).await?;
                return Ok(Some(Tail { offset: 0, size: bytes.len() as u64, bytes, etag }));
            }
            Err(error) => return Err(store_error("GetObject", key, error)),
        };
        let etag = output.e_tag().unwrap_or_default().to_owned();
        let range = output.content_range().map(str::to_owned);
        let bytes = collect(output.body, key).await?;
        let (offset, size) = match range.as_deref().and_then(parse_content_range) {
            Some(range) => range,
            None => (0, bytes.len() as u64),
        };
        Ok(Some(Tail { bytes, offset, size, etag }))
    }

    async fn get(&self, key: &str, etag: &str) -> Result<Vec<u8>, StoreError> {
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .if_match(etag)
            .send()
            .await
            .map_err(|error| store_error("GetObject", key, error))?;
        collect(output.body, key).await
    }

    async fn put(&self, key: &str, body: Vec<u8>, content: Content, expect: Expect) -> Result<(), StoreError> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content.content_type)
            .set_content_encoding(content.content_encoding.map(str::to_owned))
            .body(ByteStream::from(body));
        let request = match expect {
            Expect::Absent => request.if_none_match("*"),
            Expect::Version(etag) => request.if_match(etag),
            Expect::Any => request,
        };
        request.send().await.map_err(|error| store_error("PutObject", key, error))?;
        Ok(())
    }

    async fn compose(&self, key: &str, etag: &str, keep: u64, suffix: Vec<u8>) -> Result<(), StoreError> {
        if keep < MIN_COMPOSE_BYTES {
            return Err(StoreError::Failed {
                operation: "UploadPartCopy",
                key: key.to_owned(),
                message: format!("a copied part needs {MIN_COMPOSE_BYTES} bytes, not {keep}"),
                source: None,
            });
        }
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(super::JSON.content_type)
            .send()
            .await
            .map_err(|error| store_error("CreateMultipartUpload", key, error))?;
        let upload_id = upload.upload_id().unwrap_or_default().to_owned();
        let result = self.compose_parts(key, etag, keep, suffix, &upload_id).await;
        if result.is_err() {
            // An upload left open is billed storage; the bucket's lifecycle rule is only the backstop.
            let aborted =
                self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(&upload_id).send().await;
            if let Err(error) = aborted {
                tracing::warn!(key, error = %DisplayErrorContext(&error), "could not abort a multipart upload");
            }
        }
        result
    }
}

async fn collect(body: ByteStream, key: &str) -> Result<Vec<u8>, StoreError> {
    let bytes = body.collect().await.map_err(|error| StoreError::Failed {
        operation: "GetObject",
        key: key.to_owned(),
        message: format!("reading the body failed: {error}"),
        source: Some(Box::new(error)),
    })?;
    Ok(bytes.into_bytes().to_vec())
}

/// `bytes START-END/SIZE` to `(START, SIZE)`.
fn parse_content_range(range: &str) -> Option<(u64, u64)> {
    let (span, size) = range.strip_prefix("bytes ")?.split_once('/')?;
    let (start, _end) = span.split_once('-')?;
    Some((start.parse().ok()?, size.parse().ok()?))
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
        assert_eq!(parse_content_range("bytes 100-199/200"), Some((100, 200)));
        assert_eq!(parse_content_range("bytes 0-0/1"), Some((0, 1)));
        assert_eq!(parse_content_range("bytes */200"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn copy_source_keys_are_percent_encoded() {
        let encoded = utf8_percent_encode("dir/streaming data+ș.json", COPY_SOURCE_KEEP).to_string();
        assert_eq!(encoded, "dir/streaming%20data%2B%C8%99.json");
    }
}
