//! The narrow object-store port the consumer writes through: ranged reads, conditional writes, and two
//! compound writes (replace an object's end, copy an object) whose S3 mechanics stay in the adapter.
//!
//! [`ObjectStore`] is what the core calls. Anything that speaks the handful of S3 requests in `S3Api`
//! is one, through `s3_api` and `multipart`, which own S3's rules (part sizes, the compose threshold):
//! the SDK adapter [`s3::S3Store`] and, for tests (the `testing` feature), `memory::MemoryStore`, which
//! enforces them.

#[cfg(any(test, feature = "testing"))]
pub mod memory;
mod multipart;
mod parts;
pub mod s3;
mod s3_api;

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::future::Future;

#[cfg(test)]
pub(crate) use s3_api::MIN_COMPOSE_BYTES;
pub(crate) use s3_api::S3Api;

/// User metadata of an object (S3's `x-amz-meta-*`), names in lower case.
pub type Metadata = BTreeMap<String, String>;

/// Bytes read from an object and what identifies the version they were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    pub bytes: Vec<u8>,
    /// Where `bytes` start in the object.
    pub offset: u64,
    /// The object's whole size.
    pub size: u64,
    pub etag: String,
    pub metadata: Metadata,
}

impl Tail {
    /// The bytes read are the whole object.
    pub(crate) fn is_whole(&self) -> bool {
        self.offset == 0 && self.bytes.len() as u64 == self.size
    }
}

/// Which bytes of an object a read asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadRange {
    /// The last `n` bytes (all of them if the object is smaller).
    Last(u64),
    /// From `offset` to the end; if the object is no longer than `offset` (it was replaced by a
    /// shorter one), its last `or_last` bytes instead.
    From { offset: u64, or_last: u64 },
    /// `len` bytes from `offset`, fewer if the object ends first.
    Span { offset: u64, len: u64 },
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
pub(crate) const JSON: Content = Content { content_type: "application/json", content_encoding: None };

/// A write of a whole object: `body` to `key`, if the object there is what `expect` says.
#[derive(Debug)]
pub struct PutRequest<'a> {
    pub key: &'a str,
    pub body: Vec<u8>,
    pub content: Content,
    pub expect: Expect,
    pub metadata: Metadata,
}

/// A copy of version `etag` (of `size` bytes) of `from` to `to`, if `to` is what `expect` says, with
/// `metadata`.
#[derive(Debug)]
pub struct CopyRequest<'a> {
    pub from: &'a str,
    pub etag: &'a str,
    pub size: u64,
    pub to: &'a str,
    pub expect: Expect,
    pub metadata: Metadata,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object is not the version the operation expected (412): another writer came first.
    #[error("{key} changed since it was read")]
    Changed { key: String },
    /// A concurrent write to the same key won (409).
    #[error("a concurrent write to {key} conflicted")]
    Conflict { key: String },
    /// A read's range starts beyond the object's end (416).
    #[error("{key} ends before the range read")]
    OutOfRange { key: String },
    /// The object is beyond what S3's multipart rules can copy.
    #[error(transparent)]
    TooLarge(#[from] parts::TooLarge),
    /// The store's answer lacks what the protocol says it always carries: a fault, not a lost race.
    #[error("{operation} {key}: the answer has no {missing}")]
    Protocol { operation: &'static str, key: String, missing: &'static str },
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
    pub(crate) fn is_contention(&self) -> bool {
        matches!(self, StoreError::Changed { .. } | StoreError::Conflict { .. })
    }

    pub(crate) fn failed(operation: &'static str, key: &str, message: impl Into<String>) -> Self {
        StoreError::Failed { operation, key: key.to_owned(), message: message.into(), source: None }
    }
}

/// An object store with ranged reads and conditional writes.
pub trait ObjectStore {
    /// What the store keeps between the attempts of one splice to make the next one cheaper (an open
    /// upload whose copied parts still hold); [`ObjectStore::close`] releases it.
    type Session: Default + Send;

    /// The bytes `range` names of `key`, or `None` if there is no such object or the store will not say
    /// (S3 answers 403 for a missing key to a role that may not list the bucket).
    fn read(&self, key: &str, range: ReadRange) -> impl Future<Output = Result<Option<Tail>, StoreError>> + Send;

    /// Writes `request.body` to `request.key` if the object there is what `request.expect` says.
    fn put(&self, request: PutRequest<'_>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces the version of `key` that `read` came from by its first `keep` bytes followed by
    /// `suffix`, with `metadata`. The store copies the kept bytes on its side when it can, so the caller
    /// sends only `suffix`; `read` spares reading the kept bytes again when it holds them. A retry after
    /// a lost race passes the same `session`, and a later read of an object whose first bytes (and
    /// `metadata`) are unchanged: what an earlier attempt copied is then used again. Answers whether the
    /// object was composed on the store's side.
    fn splice(
        &self,
        session: &mut Self::Session,
        key: &str,
        read: &Tail,
        keep: u64,
        suffix: Vec<u8>,
        metadata: Metadata,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Releases what `session` holds.
    fn close(&self, session: Self::Session) -> impl Future<Output = ()> + Send;

    /// Copies version `request.etag` (of `request.size` bytes) of `request.from` to `request.to`, if
    /// `request.to` is what `request.expect` says.
    fn copy(&self, request: CopyRequest<'_>) -> impl Future<Output = Result<(), StoreError>> + Send;
}
