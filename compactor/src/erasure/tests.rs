//! Erasure on the in-memory store: every place, tokens, refusals, a pass over two runs, the sweep, a large
//! segment copied on the store's side, and an append that wins the race.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use shared::UserSession;

use super::ledger::{ERASED_KEY, Erased, PASS_KEY, RECEIPTS_PREFIX, REFUSED_PREFIX, REQUESTS_PREFIX};
use super::{ErasureReport, sweep, take_requests};
use crate::compaction::tests::{layout, records, settings, table, time};
use crate::compaction::{Run, Settings, compact};
use crate::curate::PersonalData;
use crate::lake::layout::Layout;
use crate::pseudonym::PseudonymKey;
use crate::store::memory::MemoryLake;
use crate::store::{Condition, LakeStore, Stores};

const SEGMENT: &str = "streaming_data/00000001.json";
const ARRAY: &str = "streaming_data.json";
const ERRORS: &str = "errors/dt=2026-11-29/m.txt";

fn array(records: &[UserSession]) -> String {
    let lines: Vec<String> = records.iter().map(|record| record.to_json().expect("encodes")).collect();
    format!("[\n{}\n]\n", lines.join(",\n"))
}

fn ndjson(records: &[UserSession]) -> String {
    records.iter().map(|record| record.to_json().expect("encodes") + "\n").collect()
}

async fn put(lake: &MemoryLake, key: &str, text: impl Into<Bytes>) {
    lake.put(key, text.into(), Condition::Always).await.expect("written");
}

/// The run of a test: `personal`, and all the time it wants.
fn run<'a>(layout: &'a Layout, settings: &'a Settings, personal: &'a PersonalData) -> Run<'a> {
    Run {
        layout,
        settings,
        personal,
        now: time("2026-11-29T12:00:00Z"),
        stop_at: Instant::now() + Duration::from_secs(60),
        take_until: Instant::now() + Duration::from_secs(60),
    }
}

/// Takes the requests (with time to spare or none), compacts and sweeps, as the handler does.
async fn erase(lake: &MemoryLake, personal: &PersonalData, until: Instant) -> ErasureReport {
    let (layout, settings) = (layout(), settings());
    let stores = Stores::single(lake.clone());
    let mut report = take_requests(&stores, &run(&layout, &settings, personal), until).await.expect("taken");
    compact(&stores, &run(&layout, &settings, personal)).await.expect("compacted");
    let later = Instant::now() + Duration::from_secs(60);
    sweep(&stores, &run(&layout, &settings, personal), later, &mut report).await.expect("swept");
    report
}

/// A stack's raw data about 40 records, 2 of them of one person, spread over every place, compacted.
async fn stack(personal: &PersonalData) -> (MemoryLake, Vec<UserSession>, UserSession) {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let mut produced = records(5, 40);
    let victim = produced[3].clone();
    produced[30].personal_number.clone_from(&victim.personal_number);
    put(&lake, SEGMENT, array(&produced[..20])).await;
    put(&lake, ARRAY, array(&produced[20..])).await;
    put(&lake, "landing/dt=2026-11-29/a.ndjson", ndjson(&produced[..25])).await;
    put(&lake, "landing/dt=2026-11-29/b.ndjson", ndjson(&produced[25..])).await;
    let refused = format!(
        "{{\"message_id\":\"m\",\"rejected\":2,\"layout\":\"lines\",\"reasons\":{{}}}}\na\t{{\"personal_number\":\"{}\",\"iban\":7}}\na\t{{\"email\":\"x\"}}\n",
        victim.personal_number
    );
    put(&lake, ERRORS, refused).await;
    let (layout, settings) = (layout(), settings());
    let later = run(&layout, &settings, personal);
    compact(&Stores::single(lake.clone()), &Run { now: time("2026-11-29T11:00:00Z"), ..later })
        .await
        .expect("compacted");
    (lake, produced, victim)
}

fn elements(lake: &MemoryLake, key: &str) -> Vec<Value> {
    match serde_json::from_slice(&lake.objects()[key]).expect("still a JSON array") {
        Value::Array(elements) => elements,
        other => panic!("{key} is not an array: {other}"),
    }
}

/// Every record's unique id in the array's history, with how many times.
fn history(lake: &MemoryLake) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for key in [SEGMENT, ARRAY] {
        for element in elements(lake, key) {
            *counts.entry(element["unique_id"].as_str().expect("an id").to_owned()).or_default() += 1;
        }
    }
    counts
}

fn receipt(lake: &MemoryLake, name: &str) -> Value {
    serde_json::from_slice(&lake.objects()[&format!("{RECEIPTS_PREFIX}{name}")]).expect("a receipt")
}

#[tokio::test]
async fn a_person_is_erased_from_every_place_and_every_other_record_stays_once() {
    let (lake, produced, victim) = stack(&PersonalData::Raw).await;
    let sizes: HashMap<String, usize> = lake.objects().iter().map(|(key, body)| (key.clone(), body.len())).collect();
    let request = format!("{{\"personal_numbers\":[\"{}\"]}}", victim.personal_number);
    put(&lake, &format!("{REQUESTS_PREFIX}ticket-1.json"), request).await;

    let report = erase(&lake, &PersonalData::Raw, Instant::now() + Duration::from_secs(60)).await;

    assert_eq!((report.finished, report.pending, report.records_removed), (vec!["ticket-1.json".into()], vec![], 7));
    let gone: Vec<String> = [&produced[3], &produced[30]].iter().map(|record| record.unique_id.to_string()).collect();
    for (key, body) in lake.objects() {
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains(&victim.personal_number), "{key} still names the person");
        if !key.ends_with(".parquet") {
            assert!(gone.iter().all(|id| !text.contains(id.as_str())), "{key} still holds a record of theirs");
        }
        if [SEGMENT, ARRAY, ERRORS].contains(&key.as_str()) || key.starts_with("landing/") {
            assert_eq!(body.len(), sizes[&key], "{key} keeps its length");
        }
    }
    let history = history(&lake);
    assert_eq!(history.len(), 38);
    assert!(history.values().all(|count| *count == 1));
    let table = table(&lake).await;
    assert_eq!(table.len(), 38);
    assert!(table.values().all(|count| *count == 1) && gone.iter().all(|id| !table.contains_key(id)));
    let receipt = receipt(&lake, "ticket-1.json");
    let places = &receipt["places"];
    for (place, records) in [("segments", 1), ("array", 1), ("landing", 2), ("errors", 1), ("curated", 2)] {
        assert_eq!(places[place]["records"], records, "{place}: {receipt}");
    }
    assert_eq!(places["errors"]["objects"], serde_json::json!([ERRORS]));
    assert!(receipt["persons"]["personal_numbers"][0].as_str().is_some_and(|token| token.starts_with("sha256:")));
    let objects = lake.objects();
    assert!(!objects.keys().any(|key| key.starts_with(REQUESTS_PREFIX)) && !objects.contains_key(PASS_KEY));
    // The array stays one the consumer appends to: the erasure's revision marks its writing.
    assert!(lake.head(ARRAY).await.expect("read").expect("there").metadata.contains_key(super::REVISION_METADATA));
}

#[tokio::test]
async fn a_pseudonymised_lake_loses_the_persons_rows_and_the_receipt_names_tokens_only() {
    let key = PseudonymKey::new(1, &[4; 32]).expect("a key");
    let personal = PersonalData::Pseudonymised(key.clone());
    let (lake, _, victim) = stack(&personal).await;
    let request = format!("{{\"emails\":[\"{}\"],\"ibans\":[\"RO00 NOBODY\"]}}", victim.email.to_uppercase());
    put(&lake, &format!("{REQUESTS_PREFIX}ticket-2.json"), request).await;

    erase(&lake, &personal, Instant::now() + Duration::from_secs(60)).await;

    assert_eq!(table(&lake).await.len(), 39);
    let receipt = receipt(&lake, "ticket-2.json");
    assert_eq!(receipt["places"]["curated"]["records"], 1);
    assert_eq!(receipt["persons"]["emails"][0], key.token("email", &victim.email.to_lowercase()));
    let text = receipt.to_string();
    assert!(!text.contains(&victim.email) && !text.contains("NOBODY"), "{text}");
    let erased: Erased = serde_json::from_slice(&lake.objects()[ERASED_KEY]).expect("the erased persons");
    assert_eq!(erased.persons.ibans.len(), 1);
}

#[tokio::test]
async fn a_malformed_request_is_refused_with_its_reason_and_one_naming_nobody_gets_an_empty_receipt() {
    let (lake, _, _) = stack(&PersonalData::Raw).await;
    let before = history(&lake);
    put(&lake, &format!("{REQUESTS_PREFIX}bad.json"), "{\"cnp\":[\"1\"]}").await;
    put(&lake, &format!("{REQUESTS_PREFIX}nobody.json"), "{\"personal_numbers\":[\"1000000000000\"]}").await;

    let report = erase(&lake, &PersonalData::Raw, Instant::now() + Duration::from_secs(60)).await;

    assert_eq!((report.refused, report.finished), (vec!["bad.json".into()], vec!["nobody.json".into()]));
    let refused: Value = serde_json::from_slice(&lake.objects()[&format!("{REFUSED_PREFIX}bad.json")]).expect("kept");
    assert!(refused["reason"].as_str().is_some_and(|reason| reason.contains("a field other than")));
    let receipt = receipt(&lake, "nobody.json");
    for place in ["array", "segments", "landing", "errors", "curated"] {
        assert_eq!(receipt["places"][place]["records"], 0);
    }
    assert_eq!(history(&lake), before);
}

#[tokio::test]
async fn a_pass_out_of_time_goes_on_in_the_next_run_and_reports_what_is_pending() {
    let (lake, _, victim) = stack(&PersonalData::Raw).await;
    let request = format!("{{\"personal_numbers\":[\"{}\"]}}", victim.personal_number);
    put(&lake, &format!("{REQUESTS_PREFIX}t.json"), request).await;

    let first = erase(&lake, &PersonalData::Raw, Instant::now()).await;
    assert_eq!((first.pending, first.finished.len()), (vec!["t.json".to_owned()], 0));
    assert!(lake.objects().contains_key(PASS_KEY));

    let second = erase(&lake, &PersonalData::Raw, Instant::now() + Duration::from_secs(60)).await;
    assert_eq!(second.finished, vec!["t.json".to_owned()]);
    assert_eq!(history(&lake).len(), 38);
    let places = &receipt(&lake, "t.json")["places"];
    for (place, records) in [("segments", 1), ("array", 1), ("landing", 2), ("errors", 1), ("curated", 2)] {
        assert_eq!(places[place]["records"], records, "{place}: the first run's sweep left them to the pass");
    }
}

#[tokio::test]
async fn a_record_of_an_erased_person_that_arrives_again_is_left_out_and_swept() {
    let (lake, produced, victim) = stack(&PersonalData::Raw).await;
    let request = format!("{{\"personal_numbers\":[\"{}\"]}}", victim.personal_number);
    put(&lake, &format!("{REQUESTS_PREFIX}t.json"), request).await;
    erase(&lake, &PersonalData::Raw, Instant::now() + Duration::from_secs(60)).await;

    // SQS delivers the message again: the consumer appends it and lands it once more.
    lake.set_now(time("2026-11-29T13:00:00Z"));
    let again = produced[3].clone();
    put(&lake, "landing/dt=2026-11-29/again.ndjson", ndjson(std::slice::from_ref(&again))).await;
    let mut live: Vec<UserSession> =
        produced[20..].iter().filter(|record| record.personal_number != victim.personal_number).cloned().collect();
    live.push(again.clone());
    put(&lake, ARRAY, array(&live)).await;

    let (layout, settings) = (layout(), settings());
    let stores = Stores::single(lake.clone());
    let later = Run { now: time("2026-11-29T14:00:00Z"), ..run(&layout, &settings, &PersonalData::Raw) };
    let compacted = compact(&stores, &later).await.expect("compacted");
    assert_eq!(compacted.totals.erased, 1);
    let mut report = ErasureReport::default();
    sweep(&stores, &later, Instant::now() + Duration::from_secs(60), &mut report).await.expect("swept");
    assert_eq!(report.records_swept, 2, "{report:?}");
    let id = again.unique_id.to_string();
    assert!(lake.objects().values().all(|body| !String::from_utf8_lossy(body).contains(&id)));
    assert_eq!(table(&lake).await.len(), 38);
}

#[tokio::test]
async fn removing_a_record_from_a_large_segment_copies_the_rest_on_the_stores_side() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let produced = records(9, 40_000);
    let text = array(&produced);
    let size = text.len() as u64;
    assert!(size > 20 << 20);
    put(&lake, SEGMENT, text).await;
    let victim = &produced[21_000];
    let request = format!("{{\"phone_numbers\":[\"{}\"]}}", victim.phone_number);
    put(&lake, &format!("{REQUESTS_PREFIX}t.json"), request).await;
    lake.reset_traffic();

    let (layout, settings) = (layout(), settings());
    let stores = Stores::single(lake.clone());
    let run = run(&layout, &settings, &PersonalData::Raw);
    take_requests(&stores, &run, Instant::now() + Duration::from_secs(60)).await.expect("taken");

    let traffic = lake.traffic();
    let left = elements(&lake, SEGMENT);
    let expected: Vec<&UserSession> =
        produced.iter().filter(|record| record.phone_number != victim.phone_number).collect();
    assert_eq!(left.len(), expected.len());
    assert_eq!(lake.objects()[SEGMENT].len() as u64, size);
    // Read once to find the record; a window of 5 MiB around it written, the rest copied.
    assert!(traffic.written < 6 << 20, "{traffic:?}");
    assert!(traffic.copied > size - (6 << 20), "{traffic:?}");
    assert!(traffic.read < size + (6 << 20), "{traffic:?}");
}

/// A store on which a consumer appends `record` to the array just before the first rewrite of it lands, so
/// that rewrite loses its race.
#[derive(Clone)]
struct AppendsOnce {
    inner: MemoryLake,
    record: std::sync::Arc<std::sync::Mutex<Option<UserSession>>>,
}

impl LakeStore for AppendsOnce {
    async fn list(&self, prefix: &str) -> Result<Vec<crate::store::Listed>, crate::store::StoreError> {
        self.inner.list(prefix).await
    }

    async fn get(&self, key: &str) -> Result<Option<crate::store::Fetched>, crate::store::StoreError> {
        self.inner.get(key).await
    }

    async fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Bytes, crate::store::StoreError> {
        self.inner.get_range(key, range).await
    }

    async fn put(&self, key: &str, body: Bytes, condition: Condition) -> Result<String, crate::store::StoreError> {
        self.inner.put(key, body, condition).await
    }

    async fn put_stamped(
        &self,
        key: &str,
        body: Bytes,
        condition: Condition,
        generation: u64,
    ) -> Result<String, crate::store::StoreError> {
        self.inner.put_stamped(key, body, condition, generation).await
    }

    async fn delete(&self, key: &str) -> Result<(), crate::store::StoreError> {
        self.inner.delete(key).await
    }

    async fn metadata(&self, key: &str) -> Result<Option<crate::store::Metadata>, crate::store::StoreError> {
        self.inner.metadata(key).await
    }

    async fn head(&self, key: &str) -> Result<Option<crate::store::Head>, crate::store::StoreError> {
        self.inner.head(key).await
    }

    async fn get_version_range(
        &self,
        key: &str,
        etag: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes, crate::store::StoreError> {
        self.inner.get_version_range(key, etag, range).await
    }

    async fn rewrite(&self, key: &str, rewrite: crate::store::Rewrite<'_>) -> Result<String, crate::store::StoreError> {
        let appended = self.record.lock().expect("not poisoned").take();
        if let Some(record) = appended {
            // As the consumer appends: every byte up to the last record kept, the new one after it.
            let body = self.inner.objects()[key].clone();
            let text = std::str::from_utf8(&body).expect("text");
            let end = text.rfind('}').expect("a record") + 1;
            let appended = format!("{},\n{}\n]\n", &text[..end], record.to_json().expect("encodes"));
            let metadata: Vec<(&str, &str)> =
                rewrite.head.metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            self.inner.put_with_metadata(key, Bytes::from(appended), &metadata);
        }
        self.inner.rewrite(key, rewrite).await
    }
}

#[tokio::test]
async fn an_append_that_wins_the_race_is_kept_and_the_retry_reads_only_what_it_added() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let produced = records(13, 36_000);
    let (victim, newcomer) = (&produced[20_000], &produced[35_999]);
    let existing = &produced[..35_999];
    lake.put_with_metadata(ARRAY, Bytes::from(array(existing)), &[("array", "a1"), ("segment", "1")]);
    let size = lake.objects()[ARRAY].len() as u64;
    assert!(size > 17 << 20);
    put(&lake, &format!("{REQUESTS_PREFIX}t.json"), format!("{{\"emails\":[\"{}\"]}}", victim.email)).await;
    let store =
        AppendsOnce { inner: lake.clone(), record: std::sync::Arc::new(std::sync::Mutex::new(Some(newcomer.clone()))) };
    lake.reset_traffic();

    let (layout, settings) = (layout(), settings());
    let run = run(&layout, &settings, &PersonalData::Raw);
    let report =
        take_requests(&Stores::single(store), &run, Instant::now() + Duration::from_secs(60)).await.expect("taken");

    assert_eq!(report.finished, vec!["t.json".to_owned()]);
    let left: Vec<String> =
        elements(&lake, ARRAY).iter().map(|element| element["unique_id"].as_str().expect("an id").to_owned()).collect();
    let mut expected: Vec<String> = existing
        .iter()
        .filter(|record| record.email != victim.email)
        .map(|record| record.unique_id.to_string())
        .collect();
    expected.push(newcomer.unique_id.to_string());
    assert_eq!(left, expected, "the newcomer kept, the person gone, every other record once, in order");
    // The array once, its new end and the window around the record again: not the array twice.
    let read = lake.traffic().read;
    assert!(read < size + (12 << 20), "{read} bytes read of an array of {size}");
}

#[tokio::test]
async fn a_file_a_merge_replaced_that_holds_the_person_is_deleted_too() {
    let (lake, produced, victim) = stack(&PersonalData::Raw).await;
    let (layout, settings) = (layout(), settings());
    // More records of the day merge the small file into a new one twice, minutes before the erasure; each
    // replaced file stays, unlisted, for older readers, the last one younger than any commit in flight.
    let mut replaced = Vec::new();
    for (seed, name, at) in [(6, "c", "2026-11-29T11:50:00Z"), (7, "d", "2026-11-29T11:55:00Z")] {
        replaced.extend(lake.objects().into_keys().filter(|key| key.ends_with(".parquet")));
        lake.set_now(time(at));
        put(&lake, &format!("landing/dt=2026-11-29/{name}.ndjson"), ndjson(&records(seed, 5))).await;
        let merge = Run { now: time(at), ..run(&layout, &settings, &PersonalData::Raw) };
        compact(&Stores::single(lake.clone()), &merge).await.expect("compacted");
    }
    assert!(replaced.iter().all(|key| lake.objects().contains_key(key)), "the replaced files wait");
    put(&lake, &format!("{REQUESTS_PREFIX}t.json"), by_cnp(&victim)).await;

    erase(&lake, &PersonalData::Raw, Instant::now() + Duration::from_secs(60)).await;

    assert!(replaced.iter().all(|key| !lake.objects().contains_key(key)), "a file holding the person is left");
    let table = table(&lake).await;
    assert_eq!(table.len(), 48);
    assert!(!table.contains_key(&produced[3].unique_id.to_string()));
}

fn by_cnp(record: &UserSession) -> String {
    format!("{{\"personal_numbers\":[\"{}\"]}}", record.personal_number)
}
