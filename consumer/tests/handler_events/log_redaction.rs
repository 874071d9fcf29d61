//! No record reaches the log: batches of valid and hostile bodies carrying a marker in their keys and
//! values (quotes, backslashes, backticks, unicode escapes, control characters) go through the handler
//! with the functions' own subscriber at TRACE, and the marker appears in no line it writes.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use consumer::append::AppendOptions;
use consumer::handler::{Consumer, handle};
use consumer::ingest::Outputs;
use consumer::partition::PartitionOptions;
use consumer::store::memory::MemoryStore;
use proptest::prelude::*;
use serde_json::{Value, json};
use shared::logging::{CapturedLog, LogConfig, subscriber};
use shared::record::FIELD_NAMES;
use tracing_subscriber::filter::LevelFilter;

use super::support::invocation;

/// A valid record with a CNP, the kind of value that must never be logged.
fn record() -> Value {
    json!({
        "person_name": "Ioana Popescu",
        "user_name": "ioanapopescu",
        "email": "ioanapopescu@yahoo.ro",
        "personal_number": "2900101120013",
        "birth_date": "1990-01-01",
        "address": "Strada Florilor nr. 7, 400123 Cluj-Napoca, jud. Cluj",
        "phone_number": "0722 123 456",
        "mac_address": "0a:1b:2c:3d:4e:5f",
        "ip_address": "192.168.10.20",
        "iban": "RO49AAAA1B31007593840000",
        "accessed_at": "2026-11-26 06:30:00.123456",
        "session_duration": 36000,
        "download_speed": 0,
        "upload_speed": 800,
        "consumed_traffic": 2000000,
        "unique_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    })
}

/// Characters that have leaked through formatted messages before, as JSON source text.
const HOSTILE: [&str; 10] = ["\\\"", "\\\\", "`", "'", "\\u0022", "\\u0060", "\\u0001", "\\n", "ș", "\\ud83d\\ude00"];

/// The marker as JSON string content: each character literal or as a `\u` escape.
fn spelled(marker: &str, escapes: &[bool]) -> String {
    marker
        .chars()
        .zip(escapes.iter().cycle())
        .map(|(character, escape)| if *escape { format!("\\u{:04x}", character as u32) } else { character.to_string() })
        .collect()
}

/// JSON string content holding the marker between hostile characters and the record's CNP.
fn hostile_text(marker: &str, escapes: &[bool], before: usize, after: usize) -> String {
    format!(
        "{}{}2900101120013{}",
        HOSTILE[before % HOSTILE.len()],
        spelled(marker, escapes),
        HOSTILE[after % HOSTILE.len()]
    )
}

/// One body of `shape`, carrying `text` (JSON string content) somewhere.
fn body(shape: usize, field: &str, text: &str) -> String {
    let mut fields: Vec<(String, String)> = record()
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| (format!("\"{key}\""), value.to_string()))
        .collect();
    let set = |fields: &mut Vec<(String, String)>, value: String| {
        if let Some(entry) = fields.iter_mut().find(|(key, _)| *key == format!("\"{field}\"")) {
            entry.1 = value;
        }
    };
    match shape {
        // In a value: valid when the field is free text, a wrong type or format otherwise.
        0 => set(&mut fields, format!("\"{text}\"")),
        // As an unknown key.
        1 => fields.push((format!("\"{text}\""), "1".into())),
        // As the value of a duplicate key.
        2 => fields.push((format!("\"{field}\""), format!("\"{text}\""))),
        // As a key of an object where a string belongs.
        3 => set(&mut fields, format!("{{\"{text}\": \"{text}\"}}")),
        // In a body that is not JSON.
        4 => return format!("{{\"{field}\": \"{text}"),
        // As a whole body that is JSON but not an object.
        5 => return format!("[\"{text}\"]"),
        // Inside an array where a number belongs.
        _ => set(&mut fields, format!("[\"{text}\", 1]")),
    }
    let members: Vec<String> = fields.into_iter().map(|(key, value)| format!("{key}:{value}")).collect();
    format!("{{{}}}", members.join(","))
}

fn consumer() -> Consumer<MemoryStore> {
    Consumer {
        store: MemoryStore::default(),
        outputs: Outputs {
            append: Some(AppendOptions {
                key: "streaming_data.json".into(),
                dedup_window_bytes: 1 << 20,
                redelivery_window_bytes: 1 << 20,
                max_attempts: 5,
            }),
            partition: Some(PartitionOptions { prefix: "user_sessions/".into(), gzip: false }),
        },
        metrics_namespace: "StreamingIngestion".into(),
        function_name: "consumer".into(),
        deadline_margin: Duration::from_secs(2),
    }
}

/// What the handler logs at TRACE, through the functions' subscriber, for one batch of `bodies`.
fn logged(bodies: &[String]) -> String {
    let mut event = SqsEvent::default();
    event.records = bodies
        .iter()
        .enumerate()
        .map(|(index, body)| {
            let mut message = SqsMessage::default();
            message.message_id = Some(format!("message-{index}"));
            message.body = Some(body.clone());
            message
        })
        .collect();
    let log = CapturedLog::default();
    let config = LogConfig { level: LevelFilter::TRACE, json: true };
    let _guard = tracing::subscriber::set_default(subscriber(config, log.writer()));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(handle(&consumer(), invocation(event, Duration::from_secs(60)))).expect("handles the batch");
    log.text()
}

fn marker() -> impl Strategy<Value = String> {
    "[A-Z]{12}".prop_map(|letters| format!("MRK{letters}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_marker_reaches_the_log_at_any_level(
        marker in marker(),
        cases in prop::collection::vec((0_usize..7, 0_usize..FIELD_NAMES.len(), any::<[bool; 4]>(), 0_usize..10, 0_usize..10), 1..12),
    ) {
        let bodies: Vec<String> = cases
            .iter()
            .map(|(shape, field, escapes, before, after)| {
                body(*shape, FIELD_NAMES[*field], &hostile_text(&marker, escapes, *before, *after))
            })
            .collect();
        let log = logged(&bodies);
        prop_assert!(log.contains("batch done"), "the subscriber captured the handler's log: {log}");
        for line in log.lines() {
            prop_assert!(!line.contains(&marker), "the marker reached the log: {line}");
            prop_assert!(!line.contains("2900101120013"), "a CNP reached the log: {line}");
        }
    }
}

#[test]
fn every_rejection_is_logged_with_its_id_field_and_problem() {
    let bodies = [
        body(0, "session_duration", "MRKX"),
        body(1, "iban", "MRKX"),
        body(2, "iban", "MRKX"),
        body(4, "iban", "MRKX"),
    ];
    let log = logged(&bodies);
    let rejections: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "message rejected")
        .map(|line| line["fields"].clone())
        .collect();
    let described: Vec<(&str, &str, &str)> = rejections
        .iter()
        .map(|fields| {
            (
                fields["message_id"].as_str().unwrap_or_default(),
                fields["field"].as_str().unwrap_or_default(),
                fields["problem"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            ("message-0", "session_duration", "wrong_type"),
            ("message-1", ".", "unknown_field"),
            ("message-2", "iban", "duplicate_field"),
            ("message-3", ".", "not_json"),
        ]
    );
}
