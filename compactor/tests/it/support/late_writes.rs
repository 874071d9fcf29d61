//! A store that keeps a copy of every stamped write (a manifest) it makes, so a test can deliver each
//! again later, with the condition it was sent with: what S3 sees when a write whose answer was lost is
//! retried after another run has published.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use compactor::store::{Condition, Fetched, Head, LakeStore, Listed, Metadata, Rewrite, StoreError};

/// One stamped write as it was sent.
#[derive(Debug, Clone)]
pub(crate) struct StampedWrite {
    pub key: String,
    pub body: Bytes,
    pub condition: Condition,
    pub generation: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct LateWrites<S> {
    inner: S,
    kept: Arc<Mutex<Vec<StampedWrite>>>,
}

impl<S: LakeStore> LateWrites<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self { inner, kept: Arc::default() }
    }

    /// The stamped writes made so far, in order.
    pub(crate) fn kept(&self) -> Vec<StampedWrite> {
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

impl<S: LakeStore> LakeStore for LateWrites<S> {
    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        self.inner.list(prefix).await
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>, StoreError> {
        self.inner.get(key).await
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        self.inner.get_range(key, range).await
    }

    async fn put(&self, key: &str, body: Bytes, condition: Condition) -> Result<String, StoreError> {
        self.inner.put(key, body, condition).await
    }

    async fn put_stamped(
        &self,
        key: &str,
        body: Bytes,
        condition: Condition,
        generation: u64,
    ) -> Result<String, StoreError> {
        let write = StampedWrite { key: key.to_owned(), body: body.clone(), condition: condition.clone(), generation };
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(write);
        self.inner.put_stamped(key, body, condition, generation).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }

    async fn metadata(&self, key: &str) -> Result<Option<Metadata>, StoreError> {
        self.inner.metadata(key).await
    }

    async fn head(&self, key: &str) -> Result<Option<Head>, StoreError> {
        self.inner.head(key).await
    }

    async fn get_version_range(&self, key: &str, etag: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        self.inner.get_version_range(key, etag, range).await
    }

    async fn rewrite(&self, key: &str, rewrite: Rewrite<'_>) -> Result<String, StoreError> {
        self.inner.rewrite(key, rewrite).await
    }
}
