//! An in-memory bucket with S3's conditional writes, for tests and benchmarks. Objects take the store's clock
//! as their last-modified time, so a test decides how old each one is; it counts the requests made of it and
//! the bytes each way, which a benchmark prices.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::{Condition, Fetched, Head, LakeStore, Listed, Metadata, NewPart, Rewrite, StoreError};

/// The smallest part of a multipart upload but the last, which S3 refuses below.
const MIN_PART_BYTES: usize = 5 << 20;

#[derive(Debug, Clone)]
struct Object {
    body: Bytes,
    etag: String,
    last_modified: DateTime<Utc>,
    generation: Option<u64>,
    metadata: Metadata,
    content_type: Option<String>,
    content_encoding: Option<String>,
}

#[derive(Debug, Default)]
struct Bucket {
    objects: BTreeMap<String, Object>,
    writes: u64,
    now: DateTime<Utc>,
    traffic: Traffic,
}

/// What was asked of the bucket: requests (a listing a request a thousand keys), and bytes read and written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub requests: u64,
    pub read: u64,
    pub written: u64,
    /// Bytes copied on the store's side (UploadPartCopy): neither read nor written by the caller.
    pub copied: u64,
    /// Of the requests, those that write (priced as PUTs): puts, deletes, and a multipart upload's parts.
    pub writes: u64,
}

/// The bucket; clones share it.
#[derive(Debug, Clone, Default)]
pub struct MemoryLake {
    bucket: Arc<Mutex<Bucket>>,
}

impl MemoryLake {
    pub fn new(now: DateTime<Utc>) -> Self {
        let lake = Self::default();
        lake.set_now(now);
        lake
    }

    /// The time later writes are stamped with.
    pub fn set_now(&self, now: DateTime<Utc>) {
        self.bucket().now = now;
    }

    /// Every key with its bytes.
    pub fn objects(&self) -> BTreeMap<String, Bytes> {
        self.bucket().objects.iter().map(|(key, object)| (key.clone(), object.body.clone())).collect()
    }

    /// What was asked of it since it was made or last reset.
    pub fn traffic(&self) -> Traffic {
        self.bucket().traffic
    }

    pub fn reset_traffic(&self) {
        self.bucket().traffic = Traffic::default();
    }

    fn bucket(&self) -> MutexGuard<'_, Bucket> {
        // A test that panicked while holding the lock has failed already; its contents are still whole.
        self.bucket.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl LakeStore for MemoryLake {
    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        let mut bucket = self.bucket();
        let listed: Vec<Listed> = bucket
            .objects
            .range(prefix.to_owned()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, object)| Listed {
                key: key.clone(),
                size: object.body.len() as u64,
                last_modified: object.last_modified,
            })
            .collect();
        bucket.traffic.requests += listed.len().div_ceil(1000).max(1) as u64;
        Ok(listed)
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>, StoreError> {
        let mut bucket = self.bucket();
        let found = bucket.objects.get(key).map(|object| Fetched {
            body: object.body.clone(),
            etag: object.etag.clone(),
            generation: object.generation,
        });
        bucket.traffic.requests += 1;
        bucket.traffic.read += found.as_ref().map_or(0, |found| found.body.len() as u64);
        Ok(found)
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        let mut bucket = self.bucket();
        bucket.traffic.requests += 1;
        let object = bucket.objects.get(key).ok_or_else(|| StoreError::Request {
            operation: "GetObject",
            key: key.to_owned(),
            message: "NoSuchKey".into(),
            source: None,
        })?;
        let (start, end) = (range.start as usize, range.end as usize);
        if start > end || end > object.body.len() {
            return Err(StoreError::Request {
                operation: "GetObject",
                key: key.to_owned(),
                message: "InvalidRange".into(),
                source: None,
            });
        }
        let part = object.body.slice(start..end);
        bucket.traffic.read += part.len() as u64;
        Ok(part)
    }

    async fn put(&self, key: &str, body: Bytes, condition: Condition) -> Result<String, StoreError> {
        self.write(key, body, condition, None)
    }

    async fn put_stamped(
        &self,
        key: &str,
        body: Bytes,
        condition: Condition,
        generation: u64,
    ) -> Result<String, StoreError> {
        self.write(key, body, condition, Some(generation))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let mut bucket = self.bucket();
        bucket.traffic.requests += 1;
        bucket.traffic.writes += 1;
        bucket.objects.remove(key);
        Ok(())
    }

    async fn metadata(&self, key: &str) -> Result<Option<Metadata>, StoreError> {
        let mut bucket = self.bucket();
        bucket.traffic.requests += 1;
        Ok(bucket.objects.get(key).map(|object| object.metadata.clone()))
    }

    async fn head(&self, key: &str) -> Result<Option<Head>, StoreError> {
        let mut bucket = self.bucket();
        bucket.traffic.requests += 1;
        Ok(bucket.objects.get(key).map(|object| Head {
            size: object.body.len() as u64,
            etag: object.etag.clone(),
            metadata: object.metadata.clone(),
            content_type: object.content_type.clone(),
            content_encoding: object.content_encoding.clone(),
        }))
    }

    async fn get_version_range(&self, key: &str, etag: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        if self.bucket().objects.get(key).is_none_or(|object| object.etag != etag) {
            return Err(StoreError::Changed { key: key.to_owned() });
        }
        self.get_range(key, range).await
    }

    async fn rewrite(&self, key: &str, rewrite: Rewrite<'_>) -> Result<String, StoreError> {
        let Rewrite { head, parts, metadata } = rewrite;
        let mut bucket = self.bucket();
        let source = match bucket.objects.get(key) {
            Some(object) if object.etag == head.etag => object.body.clone(),
            _ => return Err(StoreError::Changed { key: key.to_owned() }),
        };
        let mut body = Vec::new();
        let count = parts.len();
        for (index, part) in parts.into_iter().enumerate() {
            bucket.traffic.requests += 1;
            bucket.traffic.writes += 1;
            let bytes = match part {
                NewPart::Copy(range) => {
                    let (start, end) = (range.start as usize, range.end as usize);
                    if start > end || end > source.len() {
                        return Err(refused(key, "UploadPartCopy", "InvalidRange"));
                    }
                    bucket.traffic.copied += (end - start) as u64;
                    source.slice(start..end)
                }
                NewPart::Bytes(bytes) => {
                    bucket.traffic.written += bytes.len() as u64;
                    bytes
                }
            };
            if count > 1 && index + 1 < count && bytes.len() < MIN_PART_BYTES {
                return Err(refused(key, "CompleteMultipartUpload", "EntityTooSmall"));
            }
            body.extend_from_slice(&bytes);
        }
        // Creating and completing the upload.
        bucket.traffic.requests += u64::from(count > 1) * 2;
        bucket.traffic.writes += u64::from(count > 1) * 2;
        bucket.writes += 1;
        let etag = format!("\"{}\"", bucket.writes);
        let last_modified = bucket.now;
        let object = Object {
            body: Bytes::from(body),
            etag: etag.clone(),
            last_modified,
            generation: None,
            metadata,
            content_type: head.content_type.clone(),
            content_encoding: head.content_encoding.clone(),
        };
        bucket.objects.insert(key.to_owned(), object);
        Ok(etag)
    }
}

fn refused(key: &str, operation: &'static str, message: &str) -> StoreError {
    StoreError::Request { operation, key: key.to_owned(), message: message.into(), source: None }
}

impl MemoryLake {
    fn write(
        &self,
        key: &str,
        body: Bytes,
        condition: Condition,
        generation: Option<u64>,
    ) -> Result<String, StoreError> {
        self.write_object(key, body, condition, generation, Metadata::new())
    }

    fn write_object(
        &self,
        key: &str,
        body: Bytes,
        condition: Condition,
        generation: Option<u64>,
        metadata: Metadata,
    ) -> Result<String, StoreError> {
        let mut bucket = self.bucket();
        bucket.traffic.requests += 1;
        bucket.traffic.writes += 1;
        bucket.traffic.written += body.len() as u64;
        let current = bucket.objects.get(key).map(|object| object.etag.as_str());
        let holds = match (&condition, current) {
            (Condition::Always, _) | (Condition::IfAbsent, None) => true,
            (Condition::IfMatch(expected), Some(etag)) => expected == etag,
            (Condition::IfAbsent, Some(_)) | (Condition::IfMatch(_), None) => false,
        };
        if !holds {
            return Err(StoreError::Changed { key: key.to_owned() });
        }
        bucket.writes += 1;
        let etag = format!("\"{}\"", bucket.writes);
        let last_modified = bucket.now;
        let object = Object {
            body,
            etag: etag.clone(),
            last_modified,
            generation,
            metadata,
            content_type: None,
            content_encoding: None,
        };
        bucket.objects.insert(key.to_owned(), object);
        Ok(etag)
    }

    /// Writes the object with user metadata, as the consumer does the array's.
    pub fn put_with_metadata(&self, key: &str, body: Bytes, metadata: &[(&str, &str)]) {
        let metadata = metadata.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        let _ = self.write_object(key, body, Condition::Always, None, metadata);
    }
}
