//! Erasure on request against moto: while consumers append to the live array (the real append path, with the
//! patched launcher's guards on multipart writes), across rollovers, through 30% faults, after a redelivery,
//! and for a request naming nobody. Each ends with the person in no object of either bucket and every other
//! record exactly once.

use std::collections::HashMap;

use consumer::append::{AppendOptions, Line, append};
use consumer::store::s3::S3Store;
use serde_json::Value;
use shared::UserSession;

use crate::support::faults::FaultyLake;
use crate::support::moto::{MotoLake, records, row_id};

const ARRAY: &str = "streaming_data.json";

fn options(rollover_bytes: Option<u64>) -> AppendOptions {
    AppendOptions {
        key: ARRAY.into(),
        dedup_window_bytes: 64 * 1024,
        redelivery_window_bytes: 256 * 1024,
        rollover_bytes,
    }
}

/// Appends `batch` as a consumer does, retrying lost races.
async fn consume(store: &S3Store, options: &AppendOptions, batch: &[UserSession], delivered_before: bool) {
    let json: Vec<String> = batch.iter().map(|record| record.to_json().expect("encodes")).collect();
    let lines: Vec<Line> = batch
        .iter()
        .zip(&json)
        .map(|(record, json)| Line {
            unique_id: record.unique_id,
            json: json.as_bytes(),
            delivered_before,
            accessed_on: record.accessed_at.date(),
        })
        .collect();
    let later = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut rng: rand::rngs::StdRng = rand::SeedableRng::seed_from_u64(1);
    append(store, options, &lines, later, &mut rng).await.expect("appended");
}

/// Every record of the array's history (the segments in order, then the live array) by id, with how many
/// times; each object must be a JSON array.
async fn history(lake: &MotoLake) -> HashMap<String, usize> {
    let mut keys: Vec<String> =
        lake.raw_keys().await.into_iter().filter(|key| key.starts_with("streaming_data/")).collect();
    keys.push(ARRAY.into());
    let mut counts = HashMap::new();
    for key in keys {
        let Some(body) = lake.raw_object(&key).await else { continue };
        let Value::Array(elements) = serde_json::from_slice(&body).expect("a JSON array") else { panic!("{key}") };
        for element in elements {
            *counts.entry(element["unique_id"].as_str().expect("an id").to_owned()).or_default() += 1;
        }
    }
    counts
}

/// No object of either bucket names the person by `identifier`, and no row of the table is theirs.
async fn gone_everywhere(lake: &MotoLake, identifier: &str, records: &[&UserSession]) {
    for key in lake.raw_keys().await {
        let body = lake.raw_object(&key).await.unwrap_or_default();
        assert!(!String::from_utf8_lossy(&body).contains(identifier), "{key} still names the person");
    }
    let table = lake.table().await;
    assert!(records.iter().all(|record| !table.contains_key(&row_id(record))), "a row of theirs is left");
}

fn ids<'a>(records: impl IntoIterator<Item = &'a UserSession>) -> Vec<String> {
    records.into_iter().map(|record| record.unique_id.to_string()).collect()
}

/// The request erasing the person of `record` by their CNP.
fn by_cnp(record: &UserSession) -> String {
    format!("{{\"personal_numbers\":[\"{}\"]}}", record.personal_number)
}

/// Erasure runs until the request `name` is finished, at most `runs`; with the last report.
async fn until_finished<S: compactor::store::LakeStore>(
    lake: &MotoLake,
    stores: &compactor::store::Stores<S>,
    name: &str,
    runs: usize,
) -> bool {
    for _ in 0..runs {
        if let Ok(report) = lake.erase(stores).await
            && report.finished.iter().any(|finished| finished == name)
        {
            return true;
        }
    }
    false
}

#[tokio::test]
async fn an_erasure_while_consumers_append_to_a_large_array_loses_and_doubles_nothing() {
    let lake = MotoLake::new().await;
    // Above 16 MiB: the erasure copies the array's other bytes on S3's side, as the consumers compose theirs.
    let existing = records(31, 30_000, "2026-11-29T10:00:00Z");
    let victim = existing[17_000].clone();
    lake.put_array(ARRAY, &existing, None).await;
    lake.request_erasure("ticket.json", &by_cnp(&victim)).await;
    let added: Vec<Vec<UserSession>> = (0..12).map(|n| records(100 + n, 10, "2026-11-29T10:30:00Z")).collect();
    let writers: Vec<_> = added
        .chunks(3)
        .map(|batches| {
            let store = S3Store::new(lake.client.clone(), &lake.raw_bucket);
            let batches = batches.to_vec();
            tokio::spawn(async move {
                for batch in &batches {
                    consume(&store, &options(None), batch, false).await;
                }
            })
        })
        .collect();
    assert!(until_finished(&lake, &lake.stores, "ticket.json", 3).await, "the request was not finished");
    for writer in writers {
        writer.await.expect("the consumer finished");
    }
    let history = history(&lake).await;
    let expected: Vec<String> =
        ids(existing.iter().filter(|record| record.unique_id != victim.unique_id).chain(added.iter().flatten()));
    assert_eq!(history.len(), expected.len());
    assert!(expected.iter().all(|id| history.get(id) == Some(&1)), "a record was lost or doubled");
    gone_everywhere(&lake, &victim.personal_number, &[&victim]).await;
}

#[tokio::test]
async fn an_erasure_across_rollovers_leaves_each_segment_an_array_and_every_other_record_once() {
    let lake = MotoLake::new().await;
    let store = S3Store::new(lake.client.clone(), &lake.raw_bucket);
    let options = options(Some(16 * 1024));
    let produced = records(41, 120, "2026-11-29T10:00:00Z");
    let victim = produced[7].clone();
    let mut second = produced[70].clone();
    second.personal_number.clone_from(&victim.personal_number);
    let mut produced = produced;
    produced[70] = second.clone();
    for batch in produced[..60].chunks(10) {
        consume(&store, &options, batch, false).await;
    }
    lake.land("2026-11-29", "a", &produced).await;
    lake.request_erasure("ticket.json", &by_cnp(&victim)).await;
    // Consumers go on appending and sealing while the pass runs.
    let rest = produced[60..].to_vec();
    let writer = tokio::spawn(async move {
        for batch in rest.chunks(10) {
            consume(&store, &options, batch, false).await;
        }
    });
    assert!(until_finished(&lake, &lake.stores, "ticket.json", 3).await);
    writer.await.expect("the consumer finished");
    // A segment sealed from a version read before the erasure is swept by the next run.
    lake.erase(&lake.stores).await.expect("a clean run");
    assert!(lake.raw_keys().await.iter().filter(|key| key.starts_with("streaming_data/")).count() >= 3);
    let history = history(&lake).await;
    let expected = ids(produced.iter().filter(|record| record.personal_number != victim.personal_number));
    assert_eq!(history.len(), expected.len());
    assert!(expected.iter().all(|id| history.get(id) == Some(&1)));
    gone_everywhere(&lake, &victim.personal_number, &[&victim, &second]).await;
    assert_eq!(lake.table().await.len(), expected.len());
}

#[tokio::test]
async fn an_erasure_through_thirty_percent_faults_completes_on_a_later_run_with_nothing_else_lost() {
    let lake = MotoLake::new().await;
    let produced = records(51, 200, "2026-11-29T10:00:00Z");
    let victim = produced[11].clone();
    lake.put_array("streaming_data/00000001.json", &produced[..100], None).await;
    lake.put_array(ARRAY, &produced[100..], None).await;
    lake.land("2026-11-29", "a", &produced[..150]).await;
    lake.land("2026-11-29", "b", &produced[150..]).await;
    lake.run(&lake.stores, &crate::support::moto::settings()).await.expect("compacted");
    lake.request_erasure("ticket.json", &by_cnp(&victim)).await;
    let faulty = lake.faulty(|store| FaultyLake::random(store, 0.3, 11));
    let finished = until_finished(&lake, &faulty, "ticket.json", 40).await;
    // Whatever the faults left half done, readers see each record at most once.
    assert!(lake.table().await.values().all(|count| *count == 1));
    if !finished {
        assert!(until_finished(&lake, &lake.stores, "ticket.json", 1).await);
    }
    let history = history(&lake).await;
    let expected = ids(produced.iter().filter(|record| record.unique_id != victim.unique_id));
    assert_eq!(history.len(), expected.len());
    assert!(expected.iter().all(|id| history.get(id) == Some(&1)));
    let table = lake.table().await;
    assert_eq!(table.len(), expected.len());
    assert!(table.values().all(|count| *count == 1));
    gone_everywhere(&lake, &victim.personal_number, &[&victim]).await;
    assert!(lake.raw_object("erasure/receipts/ticket.json").await.is_some());
}

#[tokio::test]
async fn a_record_of_an_erased_person_delivered_again_is_removed_by_the_next_run() {
    let lake = MotoLake::new().await;
    let store = S3Store::new(lake.client.clone(), &lake.raw_bucket);
    let produced = records(61, 40, "2026-11-29T10:00:00Z");
    let victim = produced[5].clone();
    consume(&store, &options(None), &produced, false).await;
    lake.land("2026-11-29", "a", &produced).await;
    lake.request_erasure("ticket.json", &by_cnp(&victim)).await;
    assert!(until_finished(&lake, &lake.stores, "ticket.json", 1).await);

    // SQS delivers the message again after its visibility timeout.
    consume(&store, &options(None), std::slice::from_ref(&victim), true).await;
    lake.land("2026-11-29", "again", std::slice::from_ref(&victim)).await;
    let report = lake.erase(&lake.stores).await.expect("a clean run");
    assert_eq!(report.records_swept, 2, "{report:?}");
    gone_everywhere(&lake, &victim.personal_number, &[&victim]).await;
    assert_eq!(history(&lake).await.len(), 39);
    assert_eq!(lake.table().await.len(), 39);
}

#[tokio::test]
async fn a_request_naming_nobody_gets_an_empty_receipt_and_changes_nothing() {
    let lake = MotoLake::new().await;
    let produced = records(71, 30, "2026-11-29T10:00:00Z");
    lake.put_array(ARRAY, &produced, None).await;
    lake.land("2026-11-29", "a", &produced).await;
    let before = lake.raw_object(ARRAY).await;
    lake.request_erasure("nobody.json", r#"{"emails":["nobody@example.invalid"]}"#).await;
    let report = lake.erase(&lake.stores).await.expect("a clean run");
    assert_eq!(report.finished, vec!["nobody.json".to_owned()]);
    let receipt: Value =
        serde_json::from_slice(&lake.raw_object("erasure/receipts/nobody.json").await.expect("a receipt"))
            .expect("JSON");
    for place in ["array", "segments", "landing", "errors", "curated"] {
        assert_eq!(receipt["places"][place]["records"], 0, "{receipt}");
    }
    assert_eq!(lake.raw_object(ARRAY).await, before);
    assert_eq!(lake.table().await.len(), 30);
    assert!(lake.raw_object("erasure/requests/nobody.json").await.is_none());
}
