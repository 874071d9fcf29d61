//! The narrow object-store port the consumer writes through: conditional writes and reads of the end
//! of an object are all the append path needs. S3 is one adapter; tests use the in-memory one.

pub mod memory;
pub mod s3;

use std::error::Error as StdError;
use std::future::Future;

/// The last bytes of an object and what identifies the version they were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    pub bytes: Vec<u8>,
    /// Where `bytes` start in the object.
    pub offset: u64,
    /// The object's whole size.
    pub size: u64,
    pub etag: String,
}

impl Tail {
    /// The tail is the whole object.
    pub fn is_whole(&self) -> bool {
        self.offset == 0
    }
}

/// The version of the object a write expects to replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// No object yet (`If-None-Match: *`).
    Absent,
    /// The version with this ETag (`If-Match`).
    Version(String),
    /// Whatever is there; the write replaces it unconditionally.
    Any,
}

/// Content headers of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Content {
    pub content_type: &'static str,
    pub content_encoding: Option<&'static str>,
}

/// JSON, as `streaming_data.json` is.
pub const JSON: Content = Content { content_type: "application/json", content_encoding: None };

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object is not the version the operation expected (412): another writer came first.
    #[error("{key} changed since it was read")]
    Changed { key: String },
    /// A concurrent write to the same key won (409).
    #[error("a concurrent write to {key} conflicted")]
    Conflict { key: String },
    #[error("{operation} {key} failed: {message}")]
    Failed {
        operation: &'static str,
        key: String,
        message: String,
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
}

impl StoreError {
    /// Another writer won; reading again and retrying can succeed.
    pub fn is_contention(&self) -> bool {
        matches!(self, StoreError::Changed { .. } | StoreError::Conflict { .. })
    }
}

/// An object store with conditional writes.
pub trait ObjectStore {
    /// The last `max_bytes` of `key` (all of it if it is smaller), or `None` if there is no such object or
    /// the store will not say (S3 answers 403 for a missing key to a role that may not list the bucket).
    fn tail(&self, key: &str, max_bytes: u64) -> impl Future<Output = Result<Option<Tail>, StoreError>> + Send;

    /// The whole object, if it is still the version `etag`.
    fn get(&self, key: &str, etag: &str) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;

    /// Writes `body` to `key` if the object there is what `expect` says.
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content: Content,
        expect: Expect,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces version `etag` of `key` by its first `keep` bytes followed by `suffix`, copying the kept
    /// bytes inside the store, so the caller sends only `suffix`. `keep` must be at least
    /// [`MIN_COMPOSE_BYTES`].
    fn compose(
        &self,
        key: &str,
        etag: &str,
        keep: u64,
        suffix: Vec<u8>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// S3's smallest multipart part but the last: below it, an object is rewritten instead of composed.
pub const MIN_COMPOSE_BYTES: u64 = 5 * 1024 * 1024;
