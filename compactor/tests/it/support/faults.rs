//! A store that fails on purpose: a share of its calls at random, each either before the request is made
//! or after it took effect with the answer lost (a conditional write then answers 412, as its retry
//! would); or every call after a number of writes, as a run killed between two writes.

use std::future::Future;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use compactor::store::{Condition, Fetched, Head, LakeStore, Listed, Metadata, Rewrite, StoreError};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

#[derive(Debug)]
enum Plan {
    /// Fails this share of calls.
    Random { rng: Box<StdRng>, rate: f64 },
    /// Allows this many more writes, then fails everything.
    DieAfterWrites(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// The request is never made.
    Before,
    /// The request took effect; its answer is lost.
    After,
}

#[derive(Debug, Clone)]
pub(crate) struct FaultyLake<S> {
    inner: S,
    plan: Arc<Mutex<Plan>>,
}

impl<S: LakeStore> FaultyLake<S> {
    pub(crate) fn random(inner: S, rate: f64, seed: u64) -> Self {
        Self { inner, plan: Arc::new(Mutex::new(Plan::Random { rng: Box::new(StdRng::seed_from_u64(seed)), rate })) }
    }

    pub(crate) fn dying_after_writes(inner: S, writes: u64) -> Self {
        Self { inner, plan: Arc::new(Mutex::new(Plan::DieAfterWrites(writes))) }
    }

    /// Another store failing by the same plan, as a second bucket of one run.
    pub(crate) fn beside(&self, inner: S) -> Self {
        Self { inner, plan: Arc::clone(&self.plan) }
    }

    fn fault(&self, write: bool) -> Fault {
        let mut plan = self.plan.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match &mut *plan {
            Plan::Random { rng, rate } => {
                if !rng.random_bool(*rate) {
                    Fault::None
                } else if rng.random_bool(0.5) {
                    Fault::Before
                } else {
                    Fault::After
                }
            }
            Plan::DieAfterWrites(0) => Fault::Before,
            Plan::DieAfterWrites(left) => {
                if write {
                    *left -= 1;
                }
                Fault::None
            }
        }
    }
}

impl<S: LakeStore> FaultyLake<S> {
    /// A PutObject of `key` by the plan: `write` is the request, made or not; a conditional write whose
    /// answer was lost fails as its retry would.
    async fn write<F: Future<Output = Result<String, StoreError>>>(
        &self,
        key: &str,
        conditional: bool,
        write: impl FnOnce() -> F,
    ) -> Result<String, StoreError> {
        match self.fault(true) {
            Fault::None => write().await,
            Fault::Before => Err(injected("PutObject", key)),
            Fault::After => {
                write().await?;
                // The SDK retries a request whose answer was lost; a conditional write's retry then fails
                // its own condition, as S3 answers it: 412.
                if conditional {
                    Err(StoreError::Changed { key: key.to_owned() })
                } else {
                    Err(injected("PutObject", key))
                }
            }
        }
    }
}

fn injected(operation: &'static str, key: &str) -> StoreError {
    StoreError::Request { operation, key: key.to_owned(), message: "injected fault".into(), source: None }
}

impl<S: LakeStore> LakeStore for FaultyLake<S> {
    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        match self.fault(false) {
            Fault::None => self.inner.list(prefix).await,
            _ => Err(injected("ListObjectsV2", prefix)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>, StoreError> {
        match self.fault(false) {
            Fault::None => self.inner.get(key).await,
            _ => Err(injected("GetObject", key)),
        }
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        match self.fault(false) {
            Fault::None => self.inner.get_range(key, range).await,
            _ => Err(injected("GetObject", key)),
        }
    }

    async fn put(&self, key: &str, body: Bytes, condition: Condition) -> Result<String, StoreError> {
        let conditional = condition != Condition::Always;
        self.write(key, conditional, || self.inner.put(key, body, condition)).await
    }

    async fn put_stamped(
        &self,
        key: &str,
        body: Bytes,
        condition: Condition,
        generation: u64,
    ) -> Result<String, StoreError> {
        let conditional = condition != Condition::Always;
        self.write(key, conditional, || self.inner.put_stamped(key, body, condition, generation)).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.fault(true) {
            Fault::None => self.inner.delete(key).await,
            Fault::Before => Err(injected("DeleteObject", key)),
            Fault::After => {
                self.inner.delete(key).await?;
                Err(injected("DeleteObject", key))
            }
        }
    }

    async fn metadata(&self, key: &str) -> Result<Option<Metadata>, StoreError> {
        self.inner.metadata(key).await
    }

    async fn head(&self, key: &str) -> Result<Option<Head>, StoreError> {
        match self.fault(false) {
            Fault::None => self.inner.head(key).await,
            _ => Err(injected("HeadObject", key)),
        }
    }

    async fn get_version_range(&self, key: &str, etag: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        match self.fault(false) {
            Fault::None => self.inner.get_version_range(key, etag, range).await,
            _ => Err(injected("GetObject", key)),
        }
    }

    async fn rewrite(&self, key: &str, rewrite: Rewrite<'_>) -> Result<String, StoreError> {
        self.write(key, true, || self.inner.rewrite(key, rewrite)).await
    }
}
