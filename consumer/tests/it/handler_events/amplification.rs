//! What one hostile message can cost: 21,000 lines of `{}` (JSON, but not records) make a few lines of
//! log and an error object at most twice the message and 4 KiB, where they once made 21,002 lines and
//! 61 times the message.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use consumer::handler::handle;
use serde_json::Value;
use shared::logging::{CapturedLog, LogConfig, subscriber};
use tracing_subscriber::filter::LevelFilter;

use super::{consumer_with_error_output, error_records};
use crate::support::invocation;

#[test]
fn a_message_of_21000_junk_lines_costs_six_log_lines_and_twice_its_size_in_the_error_output() {
    let body = "{}\n".repeat(21_000);
    let mut message = SqsMessage::default();
    message.message_id = Some("junk".into());
    message.body = Some(body.clone());
    message.attributes.insert("SentTimestamp".into(), "1795672800000".into());
    let mut event = SqsEvent::default();
    event.records = vec![message];

    let consumer = consumer_with_error_output();
    let log = CapturedLog::default();
    let config = LogConfig { level: LevelFilter::INFO, json: true };
    let guard = tracing::subscriber::set_default(subscriber(config, log.writer()));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let response = runtime.block_on(handle(&consumer, invocation(event, Duration::from_secs(60)))).expect("handled");
    drop(guard);

    assert!(response.batch_item_failures.is_empty(), "the records are set aside, the message is done");
    let text = log.text();
    let about_the_message = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message_id"] == "junk")
        .count();
    assert!(about_the_message <= 6, "{about_the_message} lines about the message:\n{text}");
    assert!(text.lines().count() <= 8, "{} lines in all:\n{text}", text.lines().count());

    let keys: Vec<String> = consumer.store.keys().into_iter().filter(|key| key.starts_with("errors/")).collect();
    assert_eq!(keys.len(), 1);
    let object = consumer.store.object(&keys[0]).expect("listed").len();
    assert!(object <= 2 * body.len() + 4096, "{object} bytes of error output from a message of {}", body.len());
    let records = error_records(&consumer);
    assert_eq!(records.len(), 21_000);
    assert!(records.iter().all(|record| record["problem"] == "missing_field" && record["record"] == "{}"));
}
