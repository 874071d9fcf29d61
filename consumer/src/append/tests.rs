//! The append path against the in-memory S3, which enforces S3's multipart rules.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;
use uuid::Uuid;

use super::segments::Days;
use super::*;
use crate::store::memory::{Latency, MemoryStore};
use crate::store::{CopyRequest, MIN_COMPOSE_BYTES, Metadata};

const KEY: &str = "streaming_data.json";
const GIB: u64 = 1 << 30;

fn options() -> AppendOptions {
    AppendOptions {
        key: KEY.into(),
        dedup_window_bytes: 64 * 1024,
        redelivery_window_bytes: 64 * 1024,
        rollover_bytes: None,
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
    lines_on(records, day(1))
}

/// The records as lines accessed on `on`.
fn lines_on(records: &[(Uuid, Vec<u8>)], on: NaiveDate) -> Vec<Line<'_>> {
    records
        .iter()
        .map(|(unique_id, json)| Line { unique_id: *unique_id, json, delivered_before: false, accessed_on: on })
        .collect()
}

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, n).expect("a day in March")
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

async fn run(store: &impl ObjectStore, options: &AppendOptions, lines: &[Line<'_>]) -> Result<Appended, AppendError> {
    append(store, options, lines, later(), &mut StdRng::seed_from_u64(7)).await
}

fn ids(bytes: &[u8]) -> Vec<String> {
    let array: Vec<Value> = serde_json::from_slice(bytes).expect("valid JSON");
    array.iter().map(|record| record["unique_id"].as_str().expect("id").to_owned()).collect()
}

fn ids_in(store: &MemoryStore) -> Vec<String> {
    ids(&store.object(KEY).expect("object exists"))
}

/// Every record of the history in order: the sealed segments, then the live array.
fn history(store: &MemoryStore) -> Vec<String> {
    let mut all = Vec::new();
    for number in 1.. {
        let Some(segment) = store.object(&segment_key(KEY, number)) else { break };
        all.extend(ids(&segment));
    }
    all.extend(store.object(KEY).map(|live| ids(&live)).unwrap_or_default());
    all
}

fn expected(batches: &[Vec<(Uuid, Vec<u8>)>]) -> Vec<String> {
    batches.iter().flatten().map(|(id, _)| id.to_string()).collect()
}

#[tokio::test]
async fn the_first_append_creates_the_array_labelled_as_segment_one() {
    let store = MemoryStore::default();
    let batch = records(3);
    let appended = run(&store, &options(), &lines(&batch)).await.expect("appends");
    assert_eq!(appended, Appended { appended: 3, ..Appended::default() });
    assert_eq!(ids_in(&store).len(), 3);
    assert_eq!(store.content(KEY), Some(JSON));
    let metadata = store.metadata(KEY).expect("exists");
    assert_eq!(Label::read(&metadata, "").segment, 1);
}

#[tokio::test]
async fn nothing_to_append_touches_nothing() {
    let store = MemoryStore::default();
    assert_eq!(run(&store, &options(), &[]).await.expect("nothing to do"), Appended::default());
    assert!(store.keys().is_empty());
}

#[tokio::test]
async fn later_appends_keep_every_record_in_order() {
    let store = MemoryStore::default();
    let batches: Vec<_> = (0..5).map(|_| records(4)).collect();
    for batch in &batches {
        run(&store, &options(), &lines(batch)).await.expect("appends");
    }
    assert_eq!(ids_in(&store), expected(&batches));
}

#[tokio::test]
async fn a_redelivered_batch_adds_nothing() {
    let store = MemoryStore::default();
    let batch = records(5);
    run(&store, &options(), &lines(&batch)).await.expect("appends");
    let before = store.object(KEY);
    let again = run(&store, &options(), &lines(&batch)).await.expect("appends");
    assert_eq!((again.appended, again.duplicates), (0, 5));
    assert_eq!(store.object(KEY), before);
    let mut mixed = records(2);
    mixed.extend(batch[..2].iter().cloned());
    let partly = run(&store, &options(), &lines(&mixed)).await.expect("appends");
    assert_eq!((partly.appended, partly.duplicates), (2, 2));
    assert_eq!(ids_in(&store).len(), 7);
}

#[tokio::test]
async fn duplicates_within_a_batch_are_appended_once() {
    let store = MemoryStore::default();
    let mut batch = records(2);
    batch.push(batch[0].clone());
    let appended = run(&store, &options(), &lines(&batch)).await.expect("appends");
    assert_eq!((appended.appended, appended.duplicates), (2, 1));
    assert_eq!(ids_in(&store).len(), 2);
}

#[tokio::test]
async fn a_redelivered_record_is_found_beyond_the_window_of_first_deliveries() {
    let store = MemoryStore::default();
    let options = AppendOptions { dedup_window_bytes: 2048, redelivery_window_bytes: 1 << 20, ..options() };
    let first = records(1);
    run(&store, &options, &lines(&first)).await.expect("appends");
    for _ in 0..10 {
        run(&store, &options, &lines(&records(10))).await.expect("appends");
    }
    let mut again = lines(&first);
    again[0].delivered_before = true;
    let appended = run(&store, &options, &again).await.expect("appends");
    assert_eq!((appended.appended, appended.duplicates), (0, 1));
    let as_first_delivery = run(&store, &options, &lines(&first)).await.expect("appends");
    assert_eq!(as_first_delivery.appended, 1, "a first delivery searches only its own window");
}

#[tokio::test]
async fn a_write_that_landed_though_its_answer_was_lost_is_not_made_again() {
    let store = MemoryStore::default();
    // The window holds less than one batch, as a busy array's window may hold less than what other
    // writers appended since.
    let options = AppendOptions { dedup_window_bytes: 1024, redelivery_window_bytes: 1024, ..options() };
    run(&store, &options, &lines(&records(10))).await.expect("appends");
    store.lose_next_answer_to(KEY);
    let batch = records(10);
    let appended = run(&store, &options, &lines(&batch)).await.expect("appends");
    assert_eq!(ids_in(&store).len(), 20, "each record once");
    assert_eq!((appended.appended, appended.duplicates, appended.retries), (10, 0, 1));
}

#[tokio::test]
async fn a_creation_larger_than_the_window_whose_answer_was_lost_is_not_made_again() {
    let store = MemoryStore::default();
    // A packed batch is larger than the window: the retry must read back to where the array it made starts.
    let options = AppendOptions { dedup_window_bytes: 1024, redelivery_window_bytes: 1024, ..options() };
    store.lose_next_answer_to(KEY);
    let appended = run(&store, &options, &lines(&records(10))).await.expect("appends");
    assert_eq!(ids_in(&store).len(), 10, "each record once");
    assert_eq!((appended.appended, appended.duplicates, appended.retries), (10, 0, 1));
}

#[tokio::test]
async fn an_array_that_reads_as_missing_is_created_only_if_absent() {
    let store = MemoryStore::default();
    store.deny_reads_of(KEY);
    run(&store, &options(), &lines(&records(3))).await.expect("a missing array is created");
    let error = run(&store, &options(), &lines(&records(3))).await.expect_err("an unreadable array is kept");
    assert!(matches!(error, AppendError::Unreadable { .. }), "{error}");
}

#[tokio::test]
async fn an_object_larger_than_the_window_is_read_whole_below_the_compose_size() {
    let store = MemoryStore::default();
    let small_window = AppendOptions { dedup_window_bytes: 2048, ..options() };
    for _ in 0..10 {
        run(&store, &small_window, &lines(&records(10))).await.expect("appends");
    }
    assert_eq!(ids_in(&store).len(), 100);
}

#[tokio::test]
async fn from_five_mebibytes_the_store_composes_and_only_the_suffix_is_sent() {
    let store = MemoryStore::default();
    let big = records(10_000);
    store.insert(KEY, new_array(big.iter().map(|(_, json)| json.as_slice())));
    assert!(store.size(KEY).unwrap_or(0) > MIN_COMPOSE_BYTES);
    let batch = records(10);
    let appended = run(&store, &options(), &lines(&batch)).await.expect("appends");
    assert!(appended.composed);
    let suffix: usize = batch.iter().map(|(_, json)| json.len() + 2).sum::<usize>() + 3;
    assert_eq!(store.bytes_written(), suffix as u64);
    assert_eq!(ids_in(&store).len(), 10_010);
}

/// Appends to an array padded to `size` and checks the end, the bytes sent and the requests made.
async fn append_to_a_simulated_array_of(size: u64) {
    let store = MemoryStore::default();
    let old = records(5);
    store.insert_padded(KEY, &new_array(old.iter().map(|(_, json)| json.as_slice())), size);
    let batch = records(100);
    let appended = run(&store, &options(), &lines(&batch)).await.expect("appends");
    assert!(appended.composed);
    let new_bytes: u64 = batch.iter().map(|(_, json)| json.len() as u64 + 2).sum();
    assert!(store.bytes_written() <= new_bytes + 64 * 1024, "{} bytes sent", store.bytes_written());
    let end = store.object_end(KEY, 200 * 1024).expect("exists");
    let last = String::from_utf8_lossy(&end).into_owned();
    let expected_ids = expected(&[old, batch]);
    let found: Vec<&String> = expected_ids.iter().filter(|id| last.contains(id.as_str())).collect();
    assert_eq!(found.len(), expected_ids.len(), "every record at the end, once");
    assert!(last.trim_end().ends_with("}\n]") || last.ends_with("}\n]\n"));
    assert_eq!(store.size(KEY), Some(size + new_bytes));
    assert_eq!(store.open_uploads(), 0);
}

#[tokio::test]
async fn an_array_of_six_gibibytes_is_composed_from_parts_s3_accepts() {
    append_to_a_simulated_array_of(6 * GIB).await;
}

#[tokio::test]
async fn an_array_of_sixty_gibibytes_is_composed_from_parts_s3_accepts() {
    append_to_a_simulated_array_of(60 * GIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appenders_lose_no_record() {
    let store = Arc::new(MemoryStore::default());
    let batches: Vec<_> = (0..16).map(|_| records(5)).collect();
    let tasks: Vec<_> = batches
        .iter()
        .cloned()
        .map(|batch| {
            let store = store.clone();
            tokio::spawn(async move { run(store.as_ref(), &options(), &lines(&batch)).await })
        })
        .collect();
    let mut retries = 0;
    for task in tasks {
        retries += task.await.expect("joins").expect("appends").retries;
    }
    let mut stored = ids_in(&store);
    stored.sort();
    let mut all = expected(&batches);
    all.sort();
    assert_eq!(stored, all);
    assert!(retries > 0, "the writers should have collided at least once");
}

#[tokio::test]
async fn a_corrupt_object_is_left_alone() {
    let store = MemoryStore::default();
    store.insert(KEY, b"{\"not\":\"an array\"}".to_vec());
    let error = run(&store, &options(), &lines(&records(1))).await.expect_err("corrupt");
    assert!(matches!(error, AppendError::Corrupt { .. }), "{error}");
    assert_eq!(store.object(KEY), Some(b"{\"not\":\"an array\"}".to_vec()));
}

/// A store where another writer always changes the object between read and write.
struct AlwaysChanged;

impl ObjectStore for AlwaysChanged {
    type Session = ();

    async fn read(&self, _: &str, _: ReadRange) -> Result<Option<Tail>, StoreError> {
        let metadata = Label { segment: 1, array: "a".into() }.metadata(None);
        Ok(Some(Tail { bytes: b"[]".to_vec(), offset: 0, size: 2, etag: "\"e\"".into(), metadata }))
    }
    async fn put(&self, request: PutRequest<'_>) -> Result<(), StoreError> {
        Err(StoreError::Conflict { key: request.key.into() })
    }
    async fn splice(
        &self,
        _: &mut (),
        key: &str,
        _: &Tail,
        _: u64,
        _: Vec<u8>,
        _: Metadata,
    ) -> Result<bool, StoreError> {
        Err(StoreError::Changed { key: key.into() })
    }
    async fn close(&self, (): ()) {}
    async fn copy(&self, request: CopyRequest<'_>) -> Result<(), StoreError> {
        Err(StoreError::Changed { key: request.from.into() })
    }
}

#[tokio::test(start_paused = true)]
async fn endless_contention_retries_until_the_deadline() {
    let start = Instant::now();
    let stop_at = start + Duration::from_secs(20);
    let batch = records(1);
    let error = append(&AlwaysChanged, &options(), &lines(&batch), stop_at, &mut StdRng::seed_from_u64(1))
        .await
        .expect_err("gives up");
    let AppendError::Contention { attempts, .. } = error else { panic!("{error}") };
    assert!(attempts > 20, "{attempts} attempts");
    assert!(Instant::now() <= stop_at && Instant::now() >= start + Duration::from_secs(15));
}

#[test]
fn the_wait_after_a_lost_race_doubles_from_40_ms_to_a_quarter_second() {
    let bounds: Vec<u128> = (0..6).map(|retry| BACKOFF.bound(retry).as_millis()).collect();
    assert_eq!(bounds, [40, 80, 160, 250, 250, 250]);
}

fn rolling(bytes: u64) -> AppendOptions {
    AppendOptions { rollover_bytes: Some(bytes), ..options() }
}

#[tokio::test]
async fn a_full_array_is_sealed_as_numbered_segments_and_no_record_is_lost_or_doubled() {
    let store = MemoryStore::default();
    let batches: Vec<_> = (0..12).map(|_| records(5)).collect();
    let mut sealed = 0;
    for batch in &batches {
        sealed += u64::from(run(&store, &rolling(8 * 1024), &lines(batch)).await.expect("appends").sealed);
    }
    assert_eq!(history(&store), expected(&batches));
    assert!(sealed >= 3, "{sealed} seals");
    let segments: Vec<String> = store.keys().into_iter().filter(|key| key.starts_with("streaming_data/")).collect();
    assert_eq!(segments.len() as u64, sealed);
    assert_eq!(segments[0], "streaming_data/00000001.json");
    assert_eq!(Label::read(&store.metadata(KEY).expect("live"), "").segment, sealed + 1);
}

#[tokio::test]
async fn a_rollover_cut_off_after_the_seal_resumes_without_doubling() {
    let store = MemoryStore::default();
    let first = records(20);
    run(&store, &rolling(8 * 1024), &lines(&first)).await.expect("appends");
    store.fail_writes_to(KEY);
    let second = records(3);
    run(&store, &rolling(8 * 1024), &lines(&second)).await.expect_err("the live array cannot be replaced");
    assert!(store.object(&segment_key(KEY, 1)).is_some(), "the seal was made");
    store.recover();
    let third = records(3);
    let appended = run(&store, &rolling(8 * 1024), &lines(&third)).await.expect("resumes");
    assert!(appended.sealed);
    run(&store, &rolling(8 * 1024), &lines(&second)).await.expect("appends");
    assert_eq!(history(&store), expected(&[first, third, second]));
    assert!(store.object(&segment_key(KEY, 2)).is_none());
}

#[tokio::test]
async fn a_new_array_whose_answer_was_lost_is_not_made_again() {
    let store = MemoryStore::default();
    let first = records(20);
    run(&store, &rolling(8 * 1024), &lines(&first)).await.expect("appends");
    store.lose_next_answer_to(KEY);
    let second = records(3);
    let appended = run(&store, &rolling(8 * 1024), &lines(&second)).await.expect("appends");
    assert_eq!((appended.appended, appended.retries), (3, 1));
    assert_eq!(history(&store), expected(&[first, second]));
}

#[tokio::test]
async fn a_rollover_larger_than_the_window_whose_answer_was_lost_is_not_made_again() {
    let store = MemoryStore::default();
    let options = AppendOptions { dedup_window_bytes: 1024, redelivery_window_bytes: 1024, ..rolling(8 * 1024) };
    let first = records(20);
    run(&store, &options, &lines(&first)).await.expect("appends");
    store.lose_next_answer_to(KEY);
    let second = records(10);
    let appended = run(&store, &options, &lines(&second)).await.expect("seals and appends");
    assert_eq!((appended.appended, appended.retries), (10, 1));
    assert_eq!(history(&store), expected(&[first, second]));
}

#[tokio::test]
async fn a_redelivered_record_in_the_newest_segment_is_found() {
    let store = MemoryStore::default();
    let options = AppendOptions { dedup_window_bytes: 1024, redelivery_window_bytes: 1 << 20, ..rolling(16 * 1024) };
    let first = records(30);
    run(&store, &options, &lines(&first)).await.expect("appends");
    run(&store, &options, &lines(&records(2))).await.expect("seals and appends");
    assert!(store.object(&segment_key(KEY, 1)).is_some());
    let mut again = lines(&first[..1]);
    again[0].delivered_before = true;
    let appended = run(&store, &options, &again).await.expect("appends");
    assert_eq!((appended.appended, appended.duplicates), (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appenders_across_rollovers_lose_and_double_nothing() {
    let store =
        Arc::new(MemoryStore::with_latency(Latency { request: Duration::from_millis(2), copy_bytes_per_second: 1e9 }));
    let batches: Vec<_> = (0..40).map(|_| records(5)).collect();
    let tasks: Vec<_> = batches
        .iter()
        .cloned()
        .map(|batch| {
            let store = store.clone();
            tokio::spawn(async move { run(store.as_ref(), &rolling(12 * 1024), &lines(&batch)).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("joins").expect("appends");
    }
    let mut stored = history(&store);
    stored.sort();
    let mut all = expected(&batches);
    all.sort();
    assert_eq!(stored, all);
    assert!(store.object(&segment_key(KEY, 3)).is_some(), "several seals");
}

#[tokio::test(start_paused = true)]
async fn an_append_cut_off_at_the_deadline_leaves_no_upload_open() {
    // Copying 6 MiB at 1 MB/s takes seconds; the invocation has one.
    let store = MemoryStore::with_latency(Latency { request: Duration::from_millis(50), copy_bytes_per_second: 1e6 });
    let old = records(5);
    store.insert_padded(KEY, &new_array(old.iter().map(|(_, json)| json.as_slice())), 6 << 20);
    let batch = records(3);
    let stop_at = Instant::now() + Duration::from_secs(1);
    let error = append(&store, &options(), &lines(&batch), stop_at, &mut StdRng::seed_from_u64(2))
        .await
        .expect_err("out of time");
    assert!(matches!(error, AppendError::OutOfTime { .. }), "{error}");
    assert_eq!(store.open_uploads(), 0, "the upload begun was aborted");
    assert_eq!(store.size(KEY), Some(6 << 20), "nothing was written");
}

#[tokio::test]
async fn a_redelivered_record_segments_back_is_found_while_the_window_reaches_it() {
    let store = MemoryStore::default();
    let options = AppendOptions { dedup_window_bytes: 1024, redelivery_window_bytes: 1 << 20, ..rolling(4 * 1024) };
    let first = records(3);
    run(&store, &options, &lines(&first)).await.expect("appends");
    for _ in 0..8 {
        run(&store, &options, &lines(&records(5))).await.expect("appends");
    }
    assert!(store.object(&segment_key(KEY, 4)).is_some(), "several segments since");
    let mut again = lines(&first);
    again.iter_mut().for_each(|line| line.delivered_before = true);
    let appended = run(&store, &options, &again).await.expect("appends");
    assert_eq!((appended.appended, appended.duplicates), (0, 3));
}

/// Every object of the history, the segments in order and then the live array: its key, the range of
/// the days its records were accessed on (`day_of` each id), and the range its metadata carries.
fn days_held(store: &MemoryStore, day_of: &HashMap<String, NaiveDate>) -> Vec<(String, Option<Days>, Option<Days>)> {
    let keys = (1..).map(|number| segment_key(KEY, number)).take_while(|key| store.object(key).is_some());
    keys.chain([KEY.to_owned()])
        .map(|key| {
            let records = ids(&store.object(&key).expect("exists"));
            let held = Days::of(records.iter().map(|id| day_of[id]));
            let carried = read_days(&store.metadata(&key).expect("exists"));
            (key, held, carried)
        })
        .collect()
}

#[tokio::test]
async fn every_segment_carries_the_days_of_its_records() {
    let store = MemoryStore::default();
    let mut day_of = HashMap::new();
    let mut sealed = 0;
    for (n, on) in [5, 2, 2, 9, 3, 14, 1, 7, 7, 20, 11, 4, 28, 6].into_iter().enumerate() {
        let batch = records(5);
        let mut lines = lines_on(&batch, day(on));
        // Some batches span two days.
        if n % 3 == 0 {
            lines[0].accessed_on = day(on + 1);
        }
        day_of.extend(lines.iter().map(|line| (line.unique_id.to_string(), line.accessed_on)));
        sealed += u64::from(run(&store, &rolling(8 * 1024), &lines).await.expect("appends").sealed);
    }
    assert!(sealed >= 3, "{sealed} seals");
    let held = days_held(&store, &day_of);
    assert_eq!(held.len() as u64, sealed + 1);
    for (key, records, carried) in held {
        // Exactly their range: every record here was appended once, so nothing widened it further.
        assert!(records.is_some(), "{key} holds records");
        assert_eq!(carried, records, "{key}");
    }
    let metadata = store.metadata(&segment_key(KEY, 1)).expect("sealed");
    assert!(metadata.contains_key("first-day") && metadata.contains_key("last-day"), "{metadata:?}");
}

#[tokio::test]
async fn an_array_holding_records_without_days_keeps_none_until_it_is_sealed() {
    let store = MemoryStore::default();
    let seed = records(3);
    store.insert(KEY, new_array(seed.iter().map(|(_, json)| json.as_slice())));
    for on in [4, 6] {
        run(&store, &rolling(8 * 1024), &lines_on(&records(2), day(on))).await.expect("appends");
    }
    let metadata = store.metadata(KEY).expect("exists");
    assert!(!metadata.contains_key("first-day") && !metadata.contains_key("last-day"), "{metadata:?}");
    let mut sealed = false;
    while !sealed {
        sealed = run(&store, &rolling(8 * 1024), &lines_on(&records(5), day(8))).await.expect("appends").sealed;
    }
    let segment = store.metadata(&segment_key(KEY, 1)).expect("sealed");
    assert_eq!(read_days(&segment), None, "the segment may hold any day: {segment:?}");
    assert_eq!(read_days(&store.metadata(KEY).expect("exists")), Some(Days { first: day(8), last: day(8) }));
}

#[tokio::test]
async fn a_range_that_does_not_parse_is_unknown_and_stops_no_append() {
    let store = MemoryStore::default();
    let seed = records(2);
    let mut metadata = Label::new(1).metadata(None);
    metadata.insert("first-day".into(), "yesterday".into());
    metadata.insert("last-day".into(), "2024-03-01".into());
    let body = new_array(seed.iter().map(|(_, json)| json.as_slice()));
    store.put(PutRequest { key: KEY, body, content: JSON, expect: Expect::Absent, metadata }).await.expect("seeded");
    let appended = run(&store, &options(), &lines_on(&records(2), day(3))).await.expect("appends");
    assert_eq!(appended.appended, 2);
    assert_eq!(read_days(&store.metadata(KEY).expect("exists")), None);
    assert_eq!(ids_in(&store).len(), 4);
}

#[tokio::test]
async fn a_write_that_widened_the_days_and_landed_though_its_answer_was_lost_is_still_the_same_array() {
    let store = MemoryStore::default();
    let options = AppendOptions { dedup_window_bytes: 1024, redelivery_window_bytes: 1024, ..options() };
    run(&store, &options, &lines_on(&records(10), day(1))).await.expect("appends");
    let label = Label::read(&store.metadata(KEY).expect("exists"), "");
    store.lose_next_answer_to(KEY);
    let batch = records(10);
    let appended = run(&store, &options, &lines_on(&batch, day(2))).await.expect("appends");
    // Were the range part of the array's identity, the retry would take the array for another and its
    // own records for another writer's.
    assert_eq!((appended.appended, appended.duplicates, appended.retries), (10, 0, 1));
    assert_eq!(ids_in(&store).len(), 20, "each record once");
    let metadata = store.metadata(KEY).expect("exists");
    assert_eq!(Label::read(&metadata, ""), label);
    assert_eq!(read_days(&metadata), Some(Days { first: day(1), last: day(2) }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appenders_on_different_days_lose_no_day() {
    let store =
        Arc::new(MemoryStore::with_latency(Latency { request: Duration::from_millis(2), copy_bytes_per_second: 1e9 }));
    let batches: Vec<_> = (0..40u32).map(|n| (day(n % 28 + 1), records(5))).collect();
    let day_of: HashMap<String, NaiveDate> =
        batches.iter().flat_map(|(on, batch)| batch.iter().map(|(id, _)| (id.to_string(), *on))).collect();
    let tasks: Vec<_> = batches
        .iter()
        .cloned()
        .map(|(on, batch)| {
            let store = store.clone();
            tokio::spawn(async move { run(store.as_ref(), &rolling(12 * 1024), &lines_on(&batch, on)).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("joins").expect("appends");
    }
    let held = days_held(&store, &day_of);
    assert!(held.len() >= 3, "several seals");
    for (key, records, carried) in held {
        let (records, carried) = (records.expect("records"), carried.expect("a range"));
        assert!(carried.first <= records.first && records.last <= carried.last, "{key}: {carried:?} {records:?}");
    }
}
