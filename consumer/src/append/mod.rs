//! The append path: records added to the JSON array `streaming_data.json` with no lost update under
//! any number of concurrent writers, a cost per append independent of the array's size, and no record
//! appended twice when SQS delivers it again.
//!
//! Each attempt reads the last bytes of the object (and its ETag), drops records already there,
//! and writes the continuation conditionally: `If-None-Match: *` to create, `If-Match` to replace.
//! Below [`MIN_COMPOSE_BYTES`] the object is spliced and rewritten; from there on S3 composes it from
//! a copy of the kept bytes and the continuation, so the function sends only what it appends.
//! A write that loses a race is retried from the read with jittered backoff.

mod dedup;
mod splice;

pub use splice::{SpliceError, new_array};

use std::collections::HashSet;
use std::time::Duration;

use rand::RngExt;
use tracing::debug;

use crate::store::{Expect, JSON, MIN_COMPOSE_BYTES, ObjectStore, StoreError};

/// How the append path is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendOptions {
    pub key: String,
    /// Bytes at the end of the array searched for records already there.
    pub dedup_window_bytes: u64,
    /// Bytes searched instead when a record was delivered before: SQS gives a message again after its
    /// visibility timeout, by which time its record may lie far back in the array.
    pub redelivery_window_bytes: u64,
    pub max_attempts: u32,
}

/// One record to append: its encoded JSON, its unique id, and whether its message was delivered before.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub unique_id: uuid::Uuid,
    pub json: &'a [u8],
    pub delivered_before: bool,
}

/// What an append did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub appended: u64,
    /// Records skipped because the array (or the batch itself) already held them.
    pub duplicates: u64,
    /// Attempts lost to concurrent writers and made again.
    pub retries: u64,
    /// Whether the object was composed on the store's side.
    pub composed: bool,
}

/// Why the records could not be appended; none of them was.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("{key}: {source}")]
    Corrupt {
        key: String,
        #[source]
        source: SpliceError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{key}: gave up after {attempts} attempts lost to concurrent writers")]
    Contention { key: String, attempts: u32 },
    /// A read answers that the object is missing while its creation is refused because it exists.
    #[error("{key} exists but reads as missing: the function's role may lack s3:GetObject on it")]
    Unreadable { key: String },
}

const BASE_BACKOFF: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Appends `lines` that the array does not hold yet.
pub async fn append<S: ObjectStore>(
    store: &S,
    options: &AppendOptions,
    lines: &[Line<'_>],
) -> Result<Appended, AppendError> {
    if lines.is_empty() {
        return Ok(Appended::default());
    }
    let mut seen = HashSet::with_capacity(lines.len());
    let unique: Vec<&Line> = lines.iter().filter(|line| seen.insert(line.unique_id)).collect();
    let batch_duplicates = (lines.len() - unique.len()) as u64;
    let mut retries = 0;
    let mut progress = Progress::default();
    for attempt in 1..=options.max_attempts {
        match attempt_append(store, options, &unique, &mut progress).await {
            Ok(mut appended) => {
                appended.retries = retries;
                appended.duplicates += batch_duplicates;
                return Ok(appended);
            }
            Err(AppendError::Store(error)) if error.is_contention() => {
                retries += 1;
                debug!(attempt, key = %options.key, "lost a race to a concurrent writer");
                if attempt < options.max_attempts {
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
            Err(error) => return Err(error),
        }
    }
    Err(AppendError::Contention { key: options.key.clone(), attempts: options.max_attempts })
}

/// What earlier attempts of one append leave for the next.
#[derive(Debug, Default)]
struct Progress {
    /// Where the last write put its records, had it landed: a write whose answer was lost may have, and
    /// by the next attempt other writers may have appended more than the window after it.
    written_at: Option<u64>,
    /// A creation was refused because the object exists.
    creation_refused: bool,
}

async fn attempt_append<S: ObjectStore>(
    store: &S,
    options: &AppendOptions,
    lines: &[&Line<'_>],
    progress: &mut Progress,
) -> Result<Appended, AppendError> {
    let key = options.key.as_str();
    let window = if lines.iter().any(|line| line.delivered_before) {
        options.redelivery_window_bytes.max(options.dedup_window_bytes)
    } else {
        options.dedup_window_bytes
    };
    let Some(mut tail) = store.tail(key, window).await? else {
        // S3 reads its own writes: after a creation refused because the object exists, a read that still
        // finds nothing cannot read it (or it was deleted in between, and SQS retries the batch).
        if progress.creation_refused {
            return Err(AppendError::Unreadable { key: key.to_owned() });
        }
        progress.written_at = Some(0);
        let created = store.put(key, new_array(lines.iter().map(|line| line.json)), JSON, Expect::Absent).await;
        progress.creation_refused = matches!(created, Err(StoreError::Changed { .. }));
        created?;
        return Ok(Appended { appended: lines.len() as u64, ..Appended::default() });
    };
    // Records at or after where the last attempt wrote are its own, had it landed.
    let mut ours = HashSet::new();
    if let Some(offset) = progress.written_at {
        // Read back to where the last attempt wrote, so its records are found if it landed; again if
        // other writers appended between the reads, and as a lost race if they keep doing so.
        let mut reads = 0;
        while tail.offset > offset {
            reads += 1;
            tail = match store.tail(key, tail.size - offset).await? {
                Some(tail) if reads < options.max_attempts => tail,
                _ => return Err(StoreError::Changed { key: key.to_owned() }.into()),
            };
        }
        let start = usize::try_from(offset.saturating_sub(tail.offset)).unwrap_or(usize::MAX).min(tail.bytes.len());
        ours = dedup::unique_ids(&tail.bytes[start..]);
    }
    let present = dedup::unique_ids(&tail.bytes);
    let fresh: Vec<&[u8]> =
        lines.iter().filter(|line| !present.contains(&line.unique_id)).map(|line| line.json).collect();
    let landed_before = lines.iter().filter(|line| ours.contains(&line.unique_id)).count() as u64;
    let duplicates = (lines.len() - fresh.len()) as u64 - landed_before;
    if fresh.is_empty() {
        return Ok(Appended { appended: landed_before, duplicates, ..Appended::default() });
    }
    let corrupt = |source| AppendError::Corrupt { key: key.to_owned(), source };
    let end = splice::array_end(&tail.bytes, tail.offset).map_err(corrupt)?;
    let suffix = splice::continuation(end, fresh.iter().copied());
    let composed = end.keep >= MIN_COMPOSE_BYTES;
    progress.written_at = Some(end.keep);
    if composed {
        store.compose(key, &tail.etag, end.keep, suffix).await?;
    } else {
        let mut body = if tail.is_whole() { tail.bytes } else { store.get(key, &tail.etag).await? };
        // The object read whole is the version of the tail: `get` checked the ETag.
        body.truncate(end.keep as usize);
        body.extend_from_slice(&suffix);
        store.put(key, body, JSON, Expect::Version(tail.etag)).await?;
    }
    Ok(Appended { appended: fresh.len() as u64 + landed_before, duplicates, retries: 0, composed })
}

/// Full jitter over a doubling bound, so writers that collided spread out.
fn backoff(attempt: u32) -> Duration {
    let bound = BASE_BACKOFF.saturating_mul(1 << attempt.min(16)).min(MAX_BACKOFF);
    bound.mul_f64(rand::rng().random_range(0.0..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::store::{Content, Tail};
    use serde_json::Value;
    use uuid::Uuid;

    const KEY: &str = "streaming_data.json";

    fn options() -> AppendOptions {
        AppendOptions {
            key: KEY.into(),
            dedup_window_bytes: 64 * 1024,
            redelivery_window_bytes: 64 * 1024,
            max_attempts: 10,
        }
    }

    fn records(count: usize) -> Vec<(Uuid, Vec<u8>)> {
        (0..count)
            .map(|n| {
                let id = Uuid::new_v4();
                (id, format!(r#"{{"n":{n},"pad":"{}","unique_id":"{id}"}}"#, "x".repeat(500)).into_bytes())
            })
            .collect()
    }

    fn lines(records: &[(Uuid, Vec<u8>)]) -> Vec<Line<'_>> {
        records.iter().map(|(unique_id, json)| Line { unique_id: *unique_id, json, delivered_before: false }).collect()
    }

    fn ids_in(store: &MemoryStore) -> Vec<String> {
        let array: Vec<Value> = serde_json::from_slice(&store.object(KEY).expect("object exists")).expect("valid JSON");
        array.iter().map(|record| record["unique_id"].as_str().expect("id").to_owned()).collect()
    }

    #[tokio::test]
    async fn the_first_append_creates_the_array() {
        let store = MemoryStore::default();
        let batch = records(3);
        let appended = append(&store, &options(), &lines(&batch)).await.expect("appends");
        assert_eq!(appended, Appended { appended: 3, ..Appended::default() });
        assert_eq!(ids_in(&store).len(), 3);
        assert_eq!(store.content(KEY), Some(JSON));
    }

    #[tokio::test]
    async fn nothing_to_append_touches_nothing() {
        let store = MemoryStore::default();
        assert_eq!(append(&store, &options(), &[]).await.expect("nothing to do"), Appended::default());
        assert!(store.keys().is_empty());
    }

    #[tokio::test]
    async fn later_appends_keep_every_record_in_order() {
        let store = MemoryStore::default();
        let batches: Vec<_> = (0..5).map(|_| records(4)).collect();
        for batch in &batches {
            append(&store, &options(), &lines(batch)).await.expect("appends");
        }
        let expected: Vec<String> = batches.iter().flatten().map(|(id, _)| id.to_string()).collect();
        assert_eq!(ids_in(&store), expected);
    }

    #[tokio::test]
    async fn a_redelivered_batch_adds_nothing() {
        let store = MemoryStore::default();
        let batch = records(5);
        append(&store, &options(), &lines(&batch)).await.expect("appends");
        let before = store.object(KEY);
        let again = append(&store, &options(), &lines(&batch)).await.expect("appends");
        assert_eq!((again.appended, again.duplicates), (0, 5));
        assert_eq!(store.object(KEY), before);
        let mut mixed = records(2);
        mixed.extend(batch[..2].iter().cloned());
        let partly = append(&store, &options(), &lines(&mixed)).await.expect("appends");
        assert_eq!((partly.appended, partly.duplicates), (2, 2));
        assert_eq!(ids_in(&store).len(), 7);
    }

    #[tokio::test]
    async fn duplicates_within_a_batch_are_appended_once() {
        let store = MemoryStore::default();
        let mut batch = records(2);
        batch.push(batch[0].clone());
        let appended = append(&store, &options(), &lines(&batch)).await.expect("appends");
        assert_eq!((appended.appended, appended.duplicates), (2, 1));
        assert_eq!(ids_in(&store).len(), 2);
    }

    #[tokio::test]
    async fn a_redelivered_record_is_found_beyond_the_window_of_first_deliveries() {
        let store = MemoryStore::default();
        let options = AppendOptions { dedup_window_bytes: 2048, redelivery_window_bytes: 1 << 20, ..options() };
        let first = records(1);
        append(&store, &options, &lines(&first)).await.expect("appends");
        for _ in 0..10 {
            append(&store, &options, &lines(&records(10))).await.expect("appends");
        }
        let mut again = lines(&first);
        again[0].delivered_before = true;
        let appended = append(&store, &options, &again).await.expect("appends");
        assert_eq!((appended.appended, appended.duplicates), (0, 1));
        let as_first_delivery = append(&store, &options, &lines(&first)).await.expect("appends");
        assert_eq!(as_first_delivery.appended, 1, "a first delivery searches only its own window");
    }

    #[tokio::test]
    async fn a_write_that_landed_though_its_answer_was_lost_is_not_made_again() {
        let store = MemoryStore::default();
        // The window holds less than one batch, as a busy array's window may hold less than what other
        // writers appended since.
        let options = AppendOptions { dedup_window_bytes: 1024, redelivery_window_bytes: 1024, ..options() };
        append(&store, &options, &lines(&records(10))).await.expect("appends");
        store.lose_next_answer_to(KEY);
        let batch = records(10);
        let appended = append(&store, &options, &lines(&batch)).await.expect("appends");
        assert_eq!(ids_in(&store).len(), 20, "each record once");
        assert_eq!((appended.appended, appended.duplicates, appended.retries), (10, 0, 1));
    }

    #[tokio::test]
    async fn an_array_that_reads_as_missing_is_created_only_if_absent() {
        let store = MemoryStore::default();
        store.deny_reads_of(KEY);
        append(&store, &options(), &lines(&records(3))).await.expect("a missing array is created");
        let error = append(&store, &options(), &lines(&records(3))).await.expect_err("an unreadable array is kept");
        assert!(matches!(error, AppendError::Unreadable { .. }), "{error}");
        assert_eq!(ids_in(&store).len(), 3, "nothing replaced it");
    }

    #[tokio::test]
    async fn an_object_larger_than_the_window_is_read_whole_below_the_compose_size() {
        let store = MemoryStore::default();
        let small_window = AppendOptions { dedup_window_bytes: 2048, ..options() };
        for _ in 0..10 {
            append(&store, &small_window, &lines(&records(10))).await.expect("appends");
        }
        assert_eq!(ids_in(&store).len(), 100);
    }

    #[tokio::test]
    async fn from_five_mebibytes_the_store_composes_and_only_the_suffix_is_sent() {
        let store = MemoryStore::default();
        let big = records(10_000);
        store.insert(KEY, new_array(big.iter().map(|(_, json)| json.as_slice())));
        let size = store.object(KEY).map_or(0, |object| object.len());
        assert!(size as u64 > MIN_COMPOSE_BYTES);
        let batch = records(10);
        let appended = append(&store, &options(), &lines(&batch)).await.expect("appends");
        assert!(appended.composed);
        let suffix: usize = batch.iter().map(|(_, json)| json.len() + 2).sum::<usize>() + 3;
        assert_eq!(store.bytes_written(), suffix as u64);
        assert_eq!(ids_in(&store).len(), 10_010);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_appenders_lose_no_record() {
        let store = std::sync::Arc::new(MemoryStore::default());
        let batches: Vec<_> = (0..16).map(|_| records(5)).collect();
        let tasks: Vec<_> = batches
            .iter()
            .cloned()
            .map(|batch| {
                let store = store.clone();
                tokio::spawn(async move { append(store.as_ref(), &options(), &lines(&batch)).await })
            })
            .collect();
        let mut retries = 0;
        for task in tasks {
            retries += task.await.expect("joins").expect("appends").retries;
        }
        let mut stored = ids_in(&store);
        stored.sort();
        let mut expected: Vec<String> = batches.iter().flatten().map(|(id, _)| id.to_string()).collect();
        expected.sort();
        assert_eq!(stored, expected);
        assert!(retries > 0, "the writers should have collided at least once");
    }

    #[tokio::test]
    async fn a_corrupt_object_is_left_alone() {
        let store = MemoryStore::default();
        store.insert(KEY, b"{\"not\":\"an array\"}".to_vec());
        let error = append(&store, &options(), &lines(&records(1))).await.expect_err("corrupt");
        assert!(matches!(error, AppendError::Corrupt { .. }), "{error}");
        assert_eq!(store.object(KEY), Some(b"{\"not\":\"an array\"}".to_vec()));
    }

    /// A store where another writer always changes the object between read and write.
    struct AlwaysChanged;

    impl ObjectStore for AlwaysChanged {
        async fn tail(&self, _: &str, _: u64) -> Result<Option<Tail>, StoreError> {
            Ok(Some(Tail { bytes: b"[]".to_vec(), offset: 0, size: 2, etag: "\"e\"".into() }))
        }
        async fn get(&self, key: &str, _: &str) -> Result<Vec<u8>, StoreError> {
            Err(StoreError::Changed { key: key.into() })
        }
        async fn put(&self, key: &str, _: Vec<u8>, _: Content, _: Expect) -> Result<(), StoreError> {
            Err(StoreError::Conflict { key: key.into() })
        }
        async fn compose(&self, key: &str, _: &str, _: u64, _: Vec<u8>) -> Result<(), StoreError> {
            Err(StoreError::Changed { key: key.into() })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn endless_contention_gives_up_after_the_attempts() {
        let options = AppendOptions { max_attempts: 4, ..options() };
        let error = append(&AlwaysChanged, &options, &lines(&records(1))).await.expect_err("gives up");
        assert!(matches!(error, AppendError::Contention { attempts: 4, .. }), "{error}");
    }
}
