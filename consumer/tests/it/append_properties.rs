//! Properties of the append path, over any sequence of batches: the array stays valid JSON after every
//! write and holds each record appended exactly once, in the order first appended, across segments too;
//! and every segment and the live array carry a range of days covering their records'.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use consumer::append::{AppendOptions, Line, append, segment_key};
use consumer::store::memory::MemoryStore;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use uuid::Uuid;

const KEY: &str = "streaming_data.json";

/// The day pool record `n` was accessed on: ten days, out of order.
fn day_of(n: usize) -> NaiveDate {
    let base = NaiveDate::from_ymd_opt(2024, 2, 25).expect("a day");
    base.checked_add_days(Days::new((n as u64 * 7) % 10)).expect("a day")
}

/// What is wrong with the ranges of days the arrays of the history carry (`first-day`, `last-day`, read as
/// the compactor reads them): an array with none, or a record of a day outside its array's.
fn days_not_covered(store: &MemoryStore, days: &HashMap<Uuid, NaiveDate>) -> Vec<String> {
    let segments = (1..).map(|number| segment_key(KEY, number)).take_while(|key| store.object(key).is_some());
    let mut wrong = Vec::new();
    for key in segments.chain([KEY.to_owned()]) {
        let (Some(bytes), Some(metadata)) = (store.object(&key), store.metadata(&key)) else { continue };
        let day = |name: &str| metadata.get(name).map(|text| text.parse::<NaiveDate>().expect("YYYY-MM-DD"));
        let Some((first, last)) = day("first-day").zip(day("last-day")) else {
            wrong.push(format!("{key} carries no range of days: {metadata:?}"));
            continue;
        };
        let records: Vec<Value> = serde_json::from_slice(&bytes).expect("a JSON array");
        for record in records {
            let on = days[&record["unique_id"].as_str().expect("id").parse::<Uuid>().expect("uuid")];
            if on < first || last < on {
                wrong.push(format!("{key} holds a record of {on}, outside {first}..{last}"));
            }
        }
    }
    wrong
}

/// Records with arbitrary text, odd Unicode and JSON punctuation included, encoded as the consumer
/// encodes them.
fn pool() -> impl Strategy<Value = Vec<(Uuid, Vec<u8>)>> {
    prop::collection::vec(any::<String>(), 1..16).prop_map(|texts| {
        texts
            .into_iter()
            .enumerate()
            .map(|(n, text)| {
                let id = Uuid::from_u128(n as u128 + 1);
                let record =
                    json!({"person_name": text, "address": format!("]}}, \"unique_id\": \"{id}\""), "unique_id": id});
                (id, serde_json::to_vec(&record).expect("encodes"))
            })
            .collect()
    })
}

fn batches(pool_size: usize) -> impl Strategy<Value = Vec<Vec<usize>>> {
    prop::collection::vec(prop::collection::vec(0..pool_size, 0..8), 1..12)
}

/// The whole history: the sealed segments in order, then the live array; each a JSON array.
fn array(store: &MemoryStore) -> Vec<Value> {
    let mut all = Vec::new();
    for number in 1.. {
        let Some(segment) = store.object(&segment_key(KEY, number)) else { break };
        all.extend(serde_json::from_slice::<Vec<Value>>(&segment).expect("every segment is a JSON array"));
    }
    let bytes = store.object(KEY).unwrap_or_else(|| b"[]".to_vec());
    all.extend(serde_json::from_slice::<Vec<Value>>(&bytes).expect("the object is a JSON array after every write"));
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_sequence_of_appends_holds_each_record_once_in_first_appended_order(
        (pool, batches) in pool().prop_flat_map(|pool| { let size = pool.len(); (Just(pool), batches(size)) }),
        window in prop_oneof![Just(1024_u64), Just(64 * 1024)],
        rollover_bytes in prop_oneof![Just(None), Just(Some(4096_u64))],
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a runtime");
        let store = MemoryStore::default();
        let options =
            AppendOptions { key: KEY.into(), dedup_window_bytes: window, redelivery_window_bytes: window, rollover_bytes };
        let mut expected: Vec<Uuid> = Vec::new();
        for batch in &batches {
            let lines: Vec<Line> = batch
                .iter()
                .map(|&i| Line { unique_id: pool[i].0, json: &pool[i].1, delivered_before: false, accessed_on: day_of(i) })
                .collect();
            let stop_at = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
            runtime.block_on(append(&store, &options, &lines, stop_at, &mut StdRng::seed_from_u64(1))).expect("appends");
            for &i in batch {
                if !expected.contains(&pool[i].0) {
                    expected.push(pool[i].0);
                }
            }
            let stored: Vec<Value> = array(&store);
            prop_assert!(stored.len() >= expected.len());
        }
        let stored = array(&store);
        let ids: Vec<Uuid> = stored.iter().map(|record| record["unique_id"].as_str().expect("id").parse().expect("uuid")).collect();
        if window >= 64 * 1024 && rollover_bytes.is_none() {
            prop_assert_eq!(&ids, &expected);
        } else {
            // A window smaller than the history lets an old record back in; it is never lost.
            for id in &expected {
                prop_assert!(ids.contains(id));
            }
        }
        for record in &stored {
            let id: Uuid = record["unique_id"].as_str().expect("id").parse().expect("uuid");
            let (_, json) = pool.iter().find(|(candidate, _)| *candidate == id).expect("from the pool");
            prop_assert_eq!(record, &serde_json::from_slice::<Value>(json).expect("JSON"));
        }
        let days: HashMap<Uuid, NaiveDate> = pool.iter().enumerate().map(|(n, (id, _))| (*id, day_of(n))).collect();
        let wrong = days_not_covered(&store, &days);
        prop_assert!(wrong.is_empty(), "{:?}", wrong);
    }
}
