//! The handler against the event files in `events/`, with the in-memory store.

mod amplification;
mod log_redaction;

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use consumer::append::AppendOptions;
use consumer::error_output::ErrorOutputOptions;
use consumer::handler::{Consumer, handle};
use consumer::ingest::Outputs;
use consumer::partition::PartitionOptions;
use consumer::store::memory::MemoryStore;
use consumer::telemetry::MetricSet;

use crate::support::{array_ids, event, invocation, malformed_messages};

fn consumer() -> Consumer<MemoryStore> {
    Consumer {
        store: MemoryStore::default(),
        outputs: Outputs {
            append: Some(AppendOptions {
                key: "streaming_data.json".into(),
                dedup_window_bytes: 1 << 20,
                redelivery_window_bytes: 64 << 20,
                rollover_bytes: None,
            }),
            partition: Some(PartitionOptions {
                prefix: "user_sessions/".into(),
                gzip: false,
                concurrency: consumer::partition::DEFAULT_CONCURRENCY,
            }),
            errors: None,
        },
        window: consumer::decode::RecordWindow::default(),
        metrics_namespace: "StreamingIngestion".into(),
        metrics: MetricSet::Basic,
        function_name: "consumer".into(),
        deadline_margin: Duration::from_secs(2),
    }
}

/// A consumer that writes invalid records to `errors/`, as the template configures it.
fn consumer_with_error_output() -> Consumer<MemoryStore> {
    let mut consumer = consumer();
    consumer.outputs.errors = Some(ErrorOutputOptions { prefix: "errors/".into() });
    consumer
}

/// The JSON lines of the objects under `prefix`, in key order.
fn lines_under(consumer: &Consumer<MemoryStore>, prefix: &str) -> Vec<serde_json::Value> {
    consumer
        .store
        .keys()
        .iter()
        .filter(|key| key.starts_with(prefix))
        .flat_map(|key| {
            let object = consumer.store.object(key).expect("listed");
            String::from_utf8(object).expect("UTF-8").lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .map(|line| serde_json::from_str(&line).expect("a JSON line"))
        .collect()
}

/// The refused records in the error output, in key order: each with its message id, field, problem and
/// text, read as docs/functions.md describes the objects.
fn error_records(consumer: &Consumer<MemoryStore>) -> Vec<serde_json::Value> {
    let mut records = Vec::new();
    for key in consumer.store.keys().iter().filter(|key| key.starts_with("errors/")) {
        let object = String::from_utf8(consumer.store.object(key).expect("listed")).expect("UTF-8");
        let (header, rest) = object.split_once('\n').expect("a header line");
        let header: serde_json::Value = serde_json::from_str(header).expect("a JSON header");
        let rest = rest.strip_suffix('\n').expect("a final newline");
        let entries: Vec<&str> = if header["layout"] == "document" { vec![rest] } else { rest.split('\n').collect() };
        assert_eq!(header["rejected"].as_u64(), Some(entries.len() as u64), "{key}");
        for entry in entries {
            let (code, text) = entry.split_once('\t').expect("a code and a tab");
            let reason = &header["reasons"][code];
            records.push(serde_json::json!({
                "message_id": header["message_id"],
                "field": reason["field"],
                "problem": reason["problem"],
                "record": text,
            }));
        }
    }
    records
}

/// The unique ids in the partition objects, sorted.
fn partition_ids(consumer: &Consumer<MemoryStore>) -> Vec<String> {
    let mut ids: Vec<String> =
        lines_under(consumer, "user_sessions/dt=").iter().map(|record| record["unique_id"].to_string()).collect();
    ids.sort();
    ids
}

/// One message carrying the valid batch's five records, one a line, with `bad` as its third line.
fn packed_event(bad: &str) -> SqsEvent {
    let mut event = event("sqs-valid-batch.json");
    let mut lines: Vec<String> = event.records.iter().filter_map(|message| message.body.clone()).collect();
    lines.insert(2, bad.to_owned());
    event.records.truncate(1);
    event.records[0].message_id = Some("packed-1".into());
    event.records[0].body = Some(lines.join("\n"));
    event
}

async fn invoke(consumer: &Consumer<MemoryStore>, event: SqsEvent) -> SqsBatchResponse {
    handle(consumer, invocation(event, Duration::from_secs(60))).await.expect("handles the batch")
}

fn failed_ids(response: &SqsBatchResponse) -> Vec<&str> {
    response.batch_item_failures.iter().map(|failure| failure.item_identifier.as_str()).collect()
}

fn stored_ids(consumer: &Consumer<MemoryStore>) -> Vec<String> {
    array_ids(&consumer.store.object("streaming_data.json").expect("the array exists"))
}

#[tokio::test]
async fn a_valid_batch_lands_in_both_outputs() {
    let consumer = consumer();
    let response = invoke(&consumer, event("sqs-valid-batch.json")).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(stored_ids(&consumer).len(), 5);
    let partition_lines: usize = consumer
        .store
        .keys()
        .iter()
        .filter(|key| key.starts_with("user_sessions/dt="))
        .map(|key| {
            consumer
                .store
                .object(key)
                .map_or(0, |object| object.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count())
        })
        .sum();
    assert_eq!(partition_lines, 5);
}

#[tokio::test]
async fn the_array_carries_the_days_of_its_records_accessed_at() {
    let consumer = consumer();
    invoke(&consumer, event("sqs-valid-batch.json")).await;
    let array: Vec<serde_json::Value> =
        serde_json::from_slice(&consumer.store.object("streaming_data.json").expect("the array exists")).expect("JSON");
    let days: Vec<&str> =
        array.iter().map(|record| &record["accessed_at"].as_str().expect("a timestamp")[..10]).collect();
    let metadata = consumer.store.metadata("streaming_data.json").expect("the array exists");
    let carried = |name: &str| metadata.get(name).map(String::as_str);
    assert_eq!(carried("first-day"), days.iter().min().copied(), "{metadata:?}");
    assert_eq!(carried("last-day"), days.iter().max().copied(), "{metadata:?}");
}

#[tokio::test]
async fn a_mixed_batch_reports_exactly_its_bad_messages() {
    let consumer = consumer();
    let event = event("sqs-mixed-batch.json");
    let bad: Vec<String> = event
        .records
        .iter()
        .filter_map(|message| message.message_id.clone())
        .filter(|id| id.starts_with("bad"))
        .collect();
    assert_eq!(bad.len(), 10);
    let response = invoke(&consumer, event).await;
    assert_eq!(failed_ids(&response), bad);
    assert_eq!(stored_ids(&consumer).len(), 3);
}

#[tokio::test]
async fn the_same_batch_delivered_again_adds_no_duplicate() {
    let consumer = consumer();
    invoke(&consumer, event("sqs-valid-batch.json")).await;
    let response = invoke(&consumer, event("sqs-valid-batch.json")).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(stored_ids(&consumer).len(), 5);
    assert_eq!(consumer.store.keys().len(), 1 + 1, "the array and one partition object");
}

#[tokio::test]
async fn when_the_store_fails_every_valid_message_is_reported() {
    let consumer = consumer();
    consumer.store.fail_writes_to("streaming_data.json");
    let event = event("sqs-mixed-batch.json");
    let response = invoke(&consumer, event.clone()).await;
    let all: Vec<&str> = event.records.iter().filter_map(|message| message.message_id.as_deref()).collect();
    let mut reported = failed_ids(&response);
    reported.sort_unstable();
    let mut expected = all.clone();
    expected.sort_unstable();
    assert_eq!(reported, expected);
}

#[tokio::test]
async fn a_message_without_an_id_fails_the_invocation() {
    let consumer = consumer();
    let mut event = event("sqs-valid-batch.json");
    event.records[2].message_id = None;
    let error = handle(&consumer, invocation(event, Duration::from_secs(60))).await.expect_err("no id");
    assert!(error.to_string().contains("message 2"), "{error}");
    assert!(consumer.store.keys().is_empty(), "nothing is written");
}

#[tokio::test(start_paused = true)]
async fn close_to_the_deadline_unwritten_messages_are_reported_in_time() {
    let consumer = consumer();
    consumer.store.delay_writes_to("streaming_data.json", Duration::from_secs(30));
    let event = event("sqs-valid-batch.json");
    let started = tokio::time::Instant::now();

    let response = handle(&consumer, invocation(event.clone(), Duration::from_secs(10))).await.expect("answers");

    let answered_after = started.elapsed();
    assert!(answered_after < Duration::from_secs(9), "answered {answered_after:?} into a 10 s budget");
    let all: Vec<&str> = event.records.iter().filter_map(|message| message.message_id.as_deref()).collect();
    assert_eq!(failed_ids(&response), all, "the append did not finish, so no message counts as written");
    assert_eq!(consumer.store.object("streaming_data.json"), None);
}

#[tokio::test(start_paused = true)]
async fn within_the_margin_no_write_starts() {
    let consumer = consumer();
    let event = event("sqs-mixed-batch.json");

    let response = handle(&consumer, invocation(event.clone(), Duration::from_secs(1))).await.expect("answers");

    assert!(consumer.store.keys().is_empty(), "nothing is written");
    assert_eq!(response.batch_item_failures.len(), event.records.len(), "every message comes back");
}

#[tokio::test]
async fn each_message_of_the_malformed_corpus_is_reported_alone_and_the_rest_land() {
    let consumer = consumer();
    let valid = event("sqs-valid-batch.json").records;
    let mut bodies: Vec<(String, String)> = malformed_messages();
    bodies.push(("an oversized body".into(), format!("{{\"person_name\": \"{}\"}}", "Ana ".repeat(80_000))));
    let mut batch = SqsEvent::default();
    let mut malformed_ids = Vec::new();
    for (index, (_, body)) in bodies.into_iter().enumerate() {
        // A valid message before every twelfth malformed one.
        if index % 12 == 0 {
            batch.records.extend(valid.get(index / 12).cloned());
        }
        let mut message = valid[0].clone();
        message.message_id = Some(format!("malformed-{index}"));
        message.body = Some(body);
        malformed_ids.push(format!("malformed-{index}"));
        batch.records.push(message);
    }
    assert_eq!(batch.records.len() - malformed_ids.len(), valid.len(), "every valid message is in the batch");

    let response = invoke(&consumer, batch).await;

    assert_eq!(failed_ids(&response), malformed_ids);
    let mut stored = stored_ids(&consumer);
    stored.sort();
    let mut expected: Vec<String> = valid
        .iter()
        .map(|message| {
            let record: serde_json::Value = serde_json::from_str(message.body.as_deref().expect("body")).expect("JSON");
            record["unique_id"].as_str().expect("id").to_owned()
        })
        .collect();
    expected.sort();
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn with_an_error_output_bad_records_go_there_with_their_reason_and_no_message_fails() {
    let consumer = consumer_with_error_output();
    let response = invoke(&consumer, event("sqs-mixed-batch.json")).await;
    assert!(response.batch_item_failures.is_empty(), "{:?}", failed_ids(&response));
    assert_eq!(stored_ids(&consumer).len(), 3);
    let errors = error_records(&consumer);
    assert_eq!(errors.len(), 10);
    assert!(errors.iter().all(|line| line["message_id"].as_str().is_some_and(|id| id.starts_with("bad"))));
    assert!(errors.iter().all(|line| line["problem"].is_string() && line["record"].is_string()));
}

#[tokio::test]
async fn a_bad_record_does_not_hold_back_the_good_records_of_its_message() {
    let consumer = consumer_with_error_output();
    let event = packed_event(r#"{"person_name": "only a name"}"#);
    for _ in 0..2 {
        let response = invoke(&consumer, event.clone()).await;
        assert!(response.batch_item_failures.is_empty());
    }
    assert_eq!(stored_ids(&consumer).len(), 5, "the good records land once, the redelivery adding none");
    assert_eq!(partition_ids(&consumer).len(), 5);
    let errors = error_records(&consumer);
    assert_eq!(errors.len(), 1, "the redelivery overwrote the message's error object");
    assert_eq!(errors[0]["message_id"].as_str(), Some("packed-1"));
    assert_eq!(errors[0]["record"], r#"{"person_name": "only a name"}"#);
    assert_eq!(errors[0]["problem"], "missing_field");
}

#[tokio::test]
async fn without_an_error_output_a_message_with_a_bad_record_goes_back_whole_and_writes_nothing() {
    let consumer = consumer();
    let mut event = event("sqs-valid-batch.json");
    event.records.truncate(1);
    event.records.extend(packed_event("not a record").records);
    for _ in 0..3 {
        let response = invoke(&consumer, event.clone()).await;
        assert_eq!(failed_ids(&response), ["packed-1"], "the message goes on to the dead-letter queue");
    }
    assert_eq!(stored_ids(&consumer).len(), 1, "only the other message's record");
    assert_eq!(partition_ids(&consumer).len(), 1);
}

#[tokio::test]
async fn a_failed_error_output_write_fails_its_message_alone() {
    let consumer = consumer_with_error_output();
    consumer.store.fail_writes_to("errors/");
    let mut event = event("sqs-valid-batch.json");
    event.records.extend(packed_event("[]").records);
    let response = invoke(&consumer, event).await;
    assert_eq!(failed_ids(&response), ["packed-1"]);
    assert_eq!(stored_ids(&consumer).len(), 5, "the packed records repeat the valid batch's");
}

#[tokio::test]
async fn identifiers_that_break_their_rules_and_times_outside_the_window_are_refused_by_field() {
    let consumer = consumer_with_error_output();
    let template = event("sqs-valid-batch.json").records.remove(0);
    let expected = [
        ("a CNP", "personal_number", "invalid_format"),
        ("an IBAN", "iban", "invalid_format"),
        ("an e-mail", "email", "invalid_format"),
        ("a phone number", "phone_number", "invalid_format"),
        ("a record of", "accessed_at", "out_of_range"),
    ];
    let mut batch = SqsEvent::default();
    let mut wanted = Vec::new();
    for (index, (case, body)) in malformed_messages().into_iter().enumerate() {
        let Some((_, field, problem)) = expected.iter().find(|(start, _, _)| case.starts_with(start)) else { continue };
        let mut message = template.clone();
        message.message_id = Some(format!("case-{index}"));
        message.body = Some(body);
        batch.records.push(message);
        wanted.push((format!("case-{index}"), (*field).to_owned(), (*problem).to_owned()));
    }
    assert_eq!(wanted.len(), 12, "the corpus's identifier and time cases");
    let response = invoke(&consumer, batch).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(consumer.store.keys().iter().all(|key| key.starts_with("errors/")), "nothing lands");
    let mut refused: Vec<(String, String, String)> = error_records(&consumer)
        .iter()
        .map(|record| {
            let text = |name: &str| record[name].as_str().expect("a string").to_owned();
            (text("message_id"), text("field"), text("problem"))
        })
        .collect();
    refused.sort();
    wanted.sort();
    assert_eq!(refused, wanted);
}

#[tokio::test]
async fn the_seed_generators_records_land_unchanged() {
    // Written by the seed chapter's own generator (Faker ro_RO) at 09:00 on 6 December 2026: each body one
    // record, sent by SQS a second after it was made, as the seed's producer sends them.
    let fixture = include_str!("../../../shared/tests/fixtures/seed_records.ndjson");
    let template = event("sqs-valid-batch.json").records.remove(0);
    let mut batch = SqsEvent::default();
    for (index, line) in fixture.lines().enumerate() {
        let mut message = template.clone();
        message.message_id = Some(format!("seed-{index}"));
        message.body = Some(line.to_owned());
        message.attributes.insert("SentTimestamp".into(), format!("{}", 1_796_547_601_000_u64 + index as u64 * 1000));
        batch.records.push(message);
    }
    let consumer = consumer_with_error_output();
    let response = invoke(&consumer, batch).await;
    assert!(response.batch_item_failures.is_empty());
    let array: Vec<serde_json::Value> =
        serde_json::from_slice(&consumer.store.object("streaming_data.json").expect("the array")).expect("JSON");
    let sent: Vec<serde_json::Value> = fixture.lines().map(|line| serde_json::from_str(line).expect("JSON")).collect();
    assert_eq!(array, sent);
    assert!(consumer.store.keys().iter().all(|key| !key.starts_with("errors/")), "none refused");
}
