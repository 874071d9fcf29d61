//! An in-memory bucket with S3's conditional writes, for tests. Objects take the store's clock as their
//! last-modified time, so a test decides how old each one is.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::{Condition, Fetched, LakeStore, Listed, Metadata, StoreError};

#[derive(Debug, Clone)]
struct Object {
    body: Bytes,
    etag: String,
    last_modified: DateTime<Utc>,
    generation: Option<u64>,
    metadata: Metadata,
}

#[derive(Debug, Default)]
struct Bucket {
    objects: BTreeMap<String, Object>,
    writes: u64,
    now: DateTime<Utc>,
}

/// The bucket; clones share it.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemoryLake {
    bucket: Arc<Mutex<Bucket>>,
}

impl MemoryLake {
    pub(crate) fn new(now: DateTime<Utc>) -> Self {
        let lake = Self::default();
        lake.set_now(now);
        lake
    }

    /// The time later writes are stamped with.
    pub(crate) fn set_now(&self, now: DateTime<Utc>) {
        self.bucket().now = now;
    }

    /// Every key with its bytes.
    pub(crate) fn objects(&self) -> BTreeMap<String, Bytes> {
        self.bucket().objects.iter().map(|(key, object)| (key.clone(), object.body.clone())).collect()
    }

    fn bucket(&self) -> MutexGuard<'_, Bucket> {
        // A test that panicked while holding the lock has failed already; its contents are still whole.
        self.bucket.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl LakeStore for MemoryLake {
    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        let bucket = self.bucket();
        Ok(bucket
            .objects
            .range(prefix.to_owned()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, object)| Listed {
                key: key.clone(),
                size: object.body.len() as u64,
                last_modified: object.last_modified,
            })
            .collect())
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>, StoreError> {
        Ok(self.bucket().objects.get(key).map(|object| Fetched {
            body: object.body.clone(),
            etag: object.etag.clone(),
            generation: object.generation,
        }))
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        let bucket = self.bucket();
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
        Ok(object.body.slice(start..end))
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
        self.bucket().objects.remove(key);
        Ok(())
    }

    async fn metadata(&self, key: &str) -> Result<Option<Metadata>, StoreError> {
        Ok(self.bucket().objects.get(key).map(|object| object.metadata.clone()))
    }
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
        bucket.objects.insert(key.to_owned(), Object { body, etag: etag.clone(), last_modified, generation, metadata });
        Ok(etag)
    }

    /// Writes the object with user metadata, as the consumer does the array's.
    pub(crate) fn put_with_metadata(&self, key: &str, body: Bytes, metadata: &[(&str, &str)]) {
        let metadata = metadata.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        let _ = self.write_object(key, body, Condition::Always, None, metadata);
    }
}
