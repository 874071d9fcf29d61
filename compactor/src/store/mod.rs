//! The port to the buckets: the few object operations a compaction makes, with conditional writes. The S3
//! adapter is in `s3`, an in-memory one for tests and benchmarks in `memory`
//! (feature `testing`).

#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod s3;

use std::future::Future;
use std::ops::Range;

use bytes::Bytes;
use chrono::{DateTime, Utc};

/// An object a listing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub last_modified: DateTime<Utc>,
}

/// An object's bytes and the ETag a conditional write names them by.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: Bytes,
    pub etag: String,
    /// The generation a stamped write gave it ([`LakeStore::put_stamped`]); `None` for any other object.
    pub generation: Option<u64>,
}

/// The user metadata key (`x-amz-meta-generation`) a stamped write keeps its generation under.
pub const GENERATION_METADATA: &str = "generation";

/// When a write may happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Always,
    /// Only if no object has the key (`If-None-Match: *`).
    IfAbsent,
    /// Only if the object still has this ETag (`If-Match`).
    IfMatch(String),
}

/// A store operation that failed, named with its key.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The condition failed (412), or a concurrent conditional write won (409).
    #[error("{key} changed since it was read")]
    Changed { key: String },
    #[error("{operation} {key}: {message}")]
    Request {
        operation: &'static str,
        key: String,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// The bucket, as a compaction uses it. Clones share one client.
pub trait LakeStore: Clone + Send + Sync + Unpin + 'static {
    /// Every object under `prefix`, in key order.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<Listed>, StoreError>> + Send;
    /// The object, or `None` when there is none.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Fetched>, StoreError>> + Send;
    /// The bytes of `range` of the object.
    fn get_range(&self, key: &str, range: Range<u64>) -> impl Future<Output = Result<Bytes, StoreError>> + Send;
    /// Writes the object if `condition` holds, and gives its new ETag.
    fn put(
        &self,
        key: &str,
        body: Bytes,
        condition: Condition,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Writes the object stamped with `generation` if `condition` holds, and gives its new ETag: a reader
    /// learns which state it was made from without reading it.
    fn put_stamped(
        &self,
        key: &str,
        body: Bytes,
        condition: Condition,
        generation: u64,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The object's size, version and headers; `None` when there is no object.
    fn head(&self, key: &str) -> impl Future<Output = Result<Option<Head>, StoreError>> + Send;
    /// The bytes of `range` of the object's version `etag`; [`StoreError::Changed`] if it is another now.
    fn get_version_range(
        &self,
        key: &str,
        etag: &str,
        range: Range<u64>,
    ) -> impl Future<Output = Result<Bytes, StoreError>> + Send;
    /// Writes the object again as `rewrite` says, if it is still the version read (`If-Match`; a copied part
    /// also names that version), and gives its new ETag. One part of bytes is a single write; more make a
    /// multipart upload whose copied parts never leave the store, aborted if it fails.
    fn rewrite(&self, key: &str, rewrite: Rewrite<'_>) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// The object's user metadata (`x-amz-meta-*`, names without the prefix), read without its body; `None`
    /// when there is no object.
    fn metadata(&self, key: &str) -> impl Future<Output = Result<Option<Metadata>, StoreError>> + Send;
}

/// What a HEAD of an object tells: its size, version and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub size: u64,
    pub etag: String,
    pub metadata: Metadata,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
}

/// A part of an object written again: bytes of its current version copied on the store's side, or new bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewPart {
    Copy(Range<u64>),
    Bytes(Bytes),
}

/// An object written again from `parts`, in order, if it is still the version `head` describes; it keeps
/// `head`'s headers and takes `metadata`.
#[derive(Debug)]
pub struct Rewrite<'a> {
    pub head: &'a Head,
    pub parts: Vec<NewPart>,
    pub metadata: Metadata,
}

/// An object's user metadata, by name.
pub type Metadata = std::collections::HashMap<String, String>;

/// The two buckets a run uses: the raw one records land in, and the curated one the lake is kept in. One
/// store may serve as both (a one-bucket local run, the unit tests).
#[derive(Debug, Clone)]
pub struct Stores<S> {
    /// Read only: the landed NDJSON.
    pub landing: S,
    /// The curated lake: data files, states, manifests, the key ledger.
    pub lake: S,
}

impl<S: LakeStore> Stores<S> {
    /// One store as both buckets.
    pub fn single(store: S) -> Self {
        Self { landing: store.clone(), lake: store }
    }
}
