//! An in-memory [`ObjectStore`] with S3's conditional-write rules, for tests.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::{Content, Expect, MIN_COMPOSE_BYTES, ObjectStore, StoreError, Tail};

#[derive(Debug, Clone)]
struct Object {
    body: Vec<u8>,
    content: Content,
    version: u64,
}

impl Object {
    fn etag(&self) -> String {
        format!("\"v{}\"", self.version)
    }
}

/// Objects in a map. Every operation yields to the scheduler first, so concurrent writers interleave
/// as they would against a real store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<HashMap<String, Object>>,
    next_version: Mutex<u64>,
    failing_keys: Mutex<Option<String>>,
    slow_keys: Mutex<Option<(String, Duration)>>,
    lost_answer_keys: Mutex<Option<String>>,
    unreadable_keys: Mutex<Option<String>>,
    bytes_written: Mutex<u64>,
}

impl MemoryStore {
    /// Makes every write to a key containing `pattern` fail, as an outage would.
    pub fn fail_writes_to(&self, pattern: &str) {
        *lock(&self.failing_keys) = Some(pattern.to_owned());
    }

    /// Makes every write to a key containing `pattern` take `delay` first, as a slow store would.
    pub fn delay_writes_to(&self, pattern: &str, delay: Duration) {
        *lock(&self.slow_keys) = Some((pattern.to_owned(), delay));
    }

    /// Makes the next write to a key containing `pattern` land but answer as a lost race would, as S3
    /// does when a write lands, its answer is lost, and the SDK's retry of it finds the object changed.
    pub fn lose_next_answer_to(&self, pattern: &str) {
        *lock(&self.lost_answer_keys) = Some(pattern.to_owned());
    }

    /// Makes every read of a key containing `pattern` answer that there is no such object, as the S3
    /// adapter does when S3 answers 403 (the role may not read it, or the key is missing and the role may
    /// not list the bucket).
    pub fn deny_reads_of(&self, pattern: &str) {
        *lock(&self.unreadable_keys) = Some(pattern.to_owned());
    }

    fn answer_lost(&self, key: &str) -> Result<(), StoreError> {
        let mut lost = lock(&self.lost_answer_keys);
        if lost.as_deref().is_some_and(|pattern| key.contains(pattern)) {
            *lost = None;
            return Err(StoreError::Changed { key: key.to_owned() });
        }
        Ok(())
    }

    /// The object's bytes.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        lock(&self.objects).get(key).map(|object| object.body.clone())
    }

    /// The object's size.
    pub fn size(&self, key: &str) -> Option<usize> {
        lock(&self.objects).get(key).map(|object| object.body.len())
    }

    /// The object's content headers.
    pub fn content(&self, key: &str) -> Option<Content> {
        lock(&self.objects).get(key).map(|object| object.content)
    }

    /// Keys in order.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = lock(&self.objects).keys().cloned().collect();
        keys.sort();
        keys
    }

    /// Bytes sent to the store by writes (bodies and composed suffixes; copied bytes not counted).
    pub fn bytes_written(&self) -> u64 {
        *lock(&self.bytes_written)
    }

    /// Stores `body` as a new version, as an outside writer would.
    pub fn insert(&self, key: &str, body: Vec<u8>) {
        let version = self.version();
        lock(&self.objects).insert(key.to_owned(), Object { body, content: super::JSON, version });
    }

    fn version(&self) -> u64 {
        let mut next = lock(&self.next_version);
        *next += 1;
        *next
    }

    async fn slow_down(&self, key: &str) {
        let delay =
            lock(&self.slow_keys).as_ref().filter(|(pattern, _)| key.contains(pattern)).map(|(_, delay)| *delay);
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
    }

    fn check_failure(&self, operation: &'static str, key: &str) -> Result<(), StoreError> {
        match lock(&self.failing_keys).as_deref() {
            Some(pattern) if key.contains(pattern) => Err(StoreError::Failed {
                operation,
                key: key.to_owned(),
                message: "injected failure".into(),
                source: None,
            }),
            _ => Ok(()),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread leaves plain data behind, still usable.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ObjectStore for MemoryStore {
    async fn tail(&self, key: &str, max_bytes: u64) -> Result<Option<Tail>, StoreError> {
        tokio::task::yield_now().await;
        if lock(&self.unreadable_keys).as_deref().is_some_and(|pattern| key.contains(pattern)) {
            return Ok(None);
        }
        Ok(lock(&self.objects).get(key).map(|object| {
            let size = object.body.len() as u64;
            let offset = size.saturating_sub(max_bytes);
            Tail { bytes: object.body[offset as usize..].to_vec(), offset, size, etag: object.etag() }
        }))
    }

    async fn get(&self, key: &str, etag: &str) -> Result<Vec<u8>, StoreError> {
        tokio::task::yield_now().await;
        match lock(&self.objects).get(key) {
            Some(object) if object.etag() == etag => Ok(object.body.clone()),
            _ => Err(StoreError::Changed { key: key.to_owned() }),
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>, content: Content, expect: Expect) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.slow_down(key).await;
        self.check_failure("PutObject", key)?;
        let version = self.version();
        let mut objects = lock(&self.objects);
        let current = objects.get(key).map(Object::etag);
        let allowed = match &expect {
            Expect::Absent => current.is_none(),
            Expect::Version(etag) => current.as_ref() == Some(etag),
            Expect::Any => true,
        };
        if !allowed {
            return Err(StoreError::Changed { key: key.to_owned() });
        }
        *lock(&self.bytes_written) += body.len() as u64;
        objects.insert(key.to_owned(), Object { body, content, version });
        drop(objects);
        self.answer_lost(key)
    }

    async fn compose(&self, key: &str, etag: &str, keep: u64, suffix: Vec<u8>) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.slow_down(key).await;
        self.check_failure("CompleteMultipartUpload", key)?;
        let version = self.version();
        let mut objects = lock(&self.objects);
        let Some(object) = objects.get_mut(key).filter(|object| object.etag() == etag) else {
            return Err(StoreError::Changed { key: key.to_owned() });
        };
        if keep < MIN_COMPOSE_BYTES || keep > object.body.len() as u64 {
            return Err(StoreError::Failed {
                operation: "UploadPartCopy",
                key: key.to_owned(),
                message: format!("cannot keep {keep} of {} bytes as a part", object.body.len()),
                source: None,
            });
        }
        *lock(&self.bytes_written) += suffix.len() as u64;
        object.body.truncate(keep as usize);
        object.body.extend_from_slice(&suffix);
        object.version = version;
        drop(objects);
        self.answer_lost(key)
    }
}
