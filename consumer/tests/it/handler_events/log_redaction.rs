//! No record reaches the log: batches of valid and hostile bodies carrying a marker in their keys and
//! values (quotes, backslashes, backticks, unicode escapes, control characters) go through the handler
//! with the functions' own subscriber at TRACE, and the marker appears in no line it writes.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use consumer::handler::handle;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::Value;
use shared::logging::{CapturedLog, LogConfig, subscriber};
use shared::record::FIELD_NAMES;
use tracing_subscriber::filter::LevelFilter;

use super::consumer;
use crate::support::{event, invocation};

/// The first valid record of the sample batch, whose CNP must never be logged.
fn record() -> Value {
    let body = event("sqs-valid-batch.json").records.into_iter().next().and_then(|message| message.body);
    serde_json::from_str(&body.expect("the sample batch has a body")).expect("the sample body is JSON")
}

const CNP: &str = "2641111318492";

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
    format!("{}{}{CNP}{}", HOSTILE[before % HOSTILE.len()], spelled(marker, escapes), HOSTILE[after % HOSTILE.len()])
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
    // Regressions beside this file: by default proptest would look under tests/proptest-regressions/,
    // beside the nearest main.rs.
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

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
            prop_assert!(!line.contains(CNP), "a CNP reached the log: {line}");
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
