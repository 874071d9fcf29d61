//! The error output: records that are not valid, kept under their own prefix of the bucket with the
//! reason, as Amazon Data Firehose's error output does, so the rest of their message lands and an operator
//! finds them there instead of in the dead-letter queue.
//!
//! One object per message, `PREFIX` + `dt=YYYY-MM-DD/` (the day SQS took the message) + a name derived
//! from the message id, so a redelivered message overwrites its own object.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use serde_json::json;
use tracing::warn;
use uuid::Uuid;

use crate::decode::Rejected;
use crate::partition::NAMESPACE;
use crate::store::{Content, Expect, Metadata, ObjectStore, PutRequest};

/// Where the error output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorOutputOptions {
    /// Ends with `/`.
    pub prefix: String,
}

/// What the error output did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ErrorsWritten<'a> {
    pub(crate) records: u64,
    pub(crate) objects: u64,
    /// Messages whose invalid records could not be written.
    pub(crate) failed: Vec<&'a str>,
}

/// The object a message's invalid records go to; `now` dates it when SQS's SentTimestamp is missing.
pub(crate) fn object_key(prefix: &str, message_id: &str, sent_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let date = sent_at.unwrap_or(now).date_naive();
    let name = Uuid::new_v5(&NAMESPACE, message_id.as_bytes());
    format!("{prefix}dt={}/{name}.ndjson", date.format("%Y-%m-%d"))
}

/// One line per record: where it came from, why it was refused, and the record as it came.
fn line(rejected: &Rejected) -> String {
    json!({
        "message_id": rejected.message_id,
        "line": rejected.line,
        "sent_at": rejected.sent_at.map(|at| at.to_rfc3339()),
        "field": rejected.reason.field(),
        "problem": rejected.reason.problem().as_str(),
        "detail": rejected.reason.detail(),
        "record": rejected.text,
    })
    .to_string()
}

/// Writes each message's invalid records to its object, all messages at once.
pub(crate) async fn write_errors<'a, S: ObjectStore>(
    store: &S,
    options: &ErrorOutputOptions,
    rejected: &[Rejected<'a>],
    now: DateTime<Utc>,
) -> ErrorsWritten<'a> {
    let mut by_message: BTreeMap<&'a str, Vec<&Rejected<'a>>> = BTreeMap::new();
    for record in rejected {
        by_message.entry(record.message_id).or_default().push(record);
    }
    let content = Content { content_type: "application/x-ndjson", content_encoding: None };
    let writes = by_message.into_iter().map(|(message_id, records)| async move {
        let key = object_key(&options.prefix, message_id, records[0].sent_at, now);
        let mut body = records.iter().map(|record| line(record)).collect::<Vec<_>>().join("\n");
        body.push('\n');
        let body = body.into_bytes();
        let result =
            store.put(PutRequest { key: &key, body, content, expect: Expect::Any, metadata: Metadata::new() }).await;
        (message_id, records.len() as u64, result)
    });
    let mut written = ErrorsWritten::default();
    for (message_id, records, result) in join_all(writes).await {
        match result {
            Ok(()) => {
                written.objects += 1;
                written.records += records;
            }
            Err(error) => {
                warn!(message_id, error = %error, "error output write failed; the message is reported failed");
                written.failed.push(message_id);
            }
        }
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use shared::UserSession;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z").expect("valid").to_utc()
    }

    fn rejected<'a>(message_id: &'a str, line: Option<usize>, text: &'a str) -> Rejected<'a> {
        let reason = UserSession::from_json(text.as_bytes()).expect_err("invalid");
        Rejected { message_id, line, reason, text, sent_at: DateTime::from_timestamp_millis(1_764_136_800_100) }
    }

    #[tokio::test]
    async fn each_message_gets_one_object_with_a_line_per_record_and_its_reason() {
        let store = MemoryStore::default();
        let options = ErrorOutputOptions { prefix: "errors/".into() };
        let records = [rejected("m1", Some(2), "not json"), rejected("m2", None, "[]"), rejected("m1", Some(5), "{")];
        let written = write_errors(&store, &options, &records, now()).await;
        assert_eq!((written.records, written.objects, written.failed.len()), (3, 2, 0));
        let key = object_key("errors/", "m1", records[0].sent_at, now());
        assert!(key.starts_with("errors/dt=2025-11-26/"), "the day SQS took the message: {key}");
        let body = String::from_utf8(store.object(&key).expect("written")).expect("UTF-8");
        let lines: Vec<serde_json::Value> =
            body.lines().map(|line| serde_json::from_str(line).expect("JSON line")).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0]["line"].as_u64(), lines[0]["problem"].as_str()), (Some(2), Some("not_json")));
        assert_eq!(lines[1]["record"], "{");
        assert_eq!(lines[0]["message_id"], "m1");
    }

    #[tokio::test]
    async fn a_redelivered_message_overwrites_its_object_and_a_failed_write_names_its_message() {
        let store = MemoryStore::default();
        let options = ErrorOutputOptions { prefix: "errors/".into() };
        let records = [rejected("m1", None, "x")];
        write_errors(&store, &options, &records, now()).await;
        write_errors(&store, &options, &records, now()).await;
        assert_eq!(store.keys().len(), 1);
        store.fail_writes_to("errors/");
        let written = write_errors(&store, &options, &records, now()).await;
        assert_eq!(written.failed, ["m1"]);
    }
}
