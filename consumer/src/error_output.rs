//! The error output: records that are not valid, kept under their own prefix of the bucket with the
//! reason, as Amazon Data Firehose's error output does, so the rest of their message lands and an operator
//! finds them there instead of in the dead-letter queue.
//!
//! One object per message, `PREFIX` + `dt=YYYY-MM-DD/` (the day SQS took the message) + a name derived
//! from the message id, so a redelivered message overwrites its own object. Its first line is a JSON
//! header: the message, when SQS took it, how many records were refused and the reasons by a short code.
//! Each refused record follows as `code<TAB>text`, its text as it came. The text is not quoted, and a
//! reason is written once, not on every record, so that the object of a message is at most about twice the
//! message, whatever a sender packs into it: a record of two bytes costs four or five, not two hundred.
//! With the layout `lines` (a packed body) a record is the rest of its line; with `document` (a body that
//! is one record, perhaps over several lines) the one record is everything after its tab, less the final
//! newline.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures::future::join_all;
use serde_json::json;
use tracing::warn;
use uuid::Uuid;

use shared::Problem;

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
    format!("{prefix}dt={}/{name}.txt", date.format("%Y-%m-%d"))
}

/// The code of the reason ranked `rank` by frequency: one character for the 62 most frequent, so that
/// the codes of a message's records cost one byte each but for a few.
fn code(rank: usize) -> String {
    const DIGITS: &[u8; 62] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut code = Vec::new();
    let mut rest = rank;
    loop {
        code.push(DIGITS[rest % DIGITS.len()]);
        rest /= DIGITS.len();
        if rest == 0 {
            break;
        }
        rest -= 1;
    }
    code.reverse();
    String::from_utf8_lossy(&code).into_owned()
}

/// Reasons named in an object's header at most: with the code they share for the rest, every code is one
/// character.
const NAMED_REASONS: usize = 61;
/// Bytes the named reasons may take in the header, so that with the rest of the header it stays within
/// the 4 KiB a message's error output may cost beyond twice the message.
const REASONS_TABLE_BYTES: usize = 3 * 1024;

/// A reason as the error output keeps it: the field, the problem and what the schema expects. Where a
/// syntax error broke and how long a body was are left out: they differ from record to record (each would
/// be a reason of its own) and the record's text shows them.
type Reason<'a> = (&'a str, Problem, Option<&'a str>);

fn reason<'a>(record: &'a Rejected) -> Reason<'a> {
    let problem = record.reason.problem();
    let detail = match problem {
        Problem::NotJson | Problem::TooLarge => None,
        _ => record.reason.detail(),
    };
    (record.reason.field(), problem, detail)
}

/// One message's refused records (in order, at least one) as the object's body.
fn body(message_id: &str, records: &[&Rejected]) -> Vec<u8> {
    let mut reasons: Vec<(Reason, usize)> = Vec::new();
    let mut index: HashMap<Reason, usize> = HashMap::new();
    for record in records {
        let reason = reason(record);
        let at = *index.entry(reason).or_insert_with(|| {
            reasons.push((reason, 0));
            reasons.len() - 1
        });
        reasons[at].1 += 1;
    }
    let mut ranked: Vec<usize> = (0..reasons.len()).collect();
    ranked.sort_by_key(|at| std::cmp::Reverse(reasons[*at].1));
    // The most frequent reasons are named, each under a one-character code, while the table stays within
    // its bytes; the rest share the code `other` (their texts are there to decode again).
    let mut codes = vec![String::new(); reasons.len()];
    let mut table = serde_json::Map::new();
    let mut table_bytes = 0;
    let other = code(NAMED_REASONS);
    for at in ranked {
        let ((field, problem, detail), _) = reasons[at];
        let entry = json!({"field": field, "problem": problem.as_str(), "detail": detail});
        let entry_bytes = entry.to_string().len() + 8;
        if table.len() < NAMED_REASONS && table_bytes + entry_bytes <= REASONS_TABLE_BYTES {
            codes[at] = code(table.len());
            table_bytes += entry_bytes;
            table.insert(codes[at].clone(), entry);
        } else {
            codes[at] = other.clone();
        }
    }
    if codes.contains(&other) {
        let detail = "a reason the table has no room to name; decode the record again to see it";
        table.insert(other, json!({"field": null, "problem": "other", "detail": detail}));
    }
    let single = records.len() == 1 && records[0].line.is_none();
    let header = json!({
        "message_id": message_id,
        "sent_at": records[0].sent_at.map(|at| at.to_rfc3339()),
        "rejected": records.len(),
        "layout": if single { "document" } else { "lines" },
        "reasons": table,
    });
    let mut body = header.to_string().into_bytes();
    body.push(b'\n');
    for record in records {
        let code = &codes[index[&reason(record)]];
        body.extend_from_slice(code.as_bytes());
        body.push(b'\t');
        body.extend_from_slice(record.text.as_bytes());
        body.push(b'\n');
    }
    body
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
    let content = Content { content_type: "text/plain; charset=utf-8", content_encoding: None };
    let writes = by_message.into_iter().map(|(message_id, records)| async move {
        let key = object_key(&options.prefix, message_id, records[0].sent_at, now);
        let body = body(message_id, &records);
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

    /// A record's field (`*` for the reasons the table has no room to name) and problem, read back.
    type ReadReason = (String, String);

    /// An object read back: its header, and each record's reason and text.
    fn read(body: &[u8]) -> (serde_json::Value, Vec<(ReadReason, String)>) {
        let text = String::from_utf8(body.to_vec()).expect("UTF-8");
        let (header, rest) = text.split_once('\n').expect("a header line");
        let header: serde_json::Value = serde_json::from_str(header).expect("a JSON header");
        let rest = rest.strip_suffix('\n').expect("ends with a newline");
        let entries: Vec<&str> = if header["layout"] == "document" { vec![rest] } else { rest.split('\n').collect() };
        let records = entries
            .into_iter()
            .map(|entry| {
                let (code, text) = entry.split_once('\t').expect("code, tab, text");
                let reason = &header["reasons"][code];
                let field = reason["field"].as_str().unwrap_or("*").to_owned();
                ((field, reason["problem"].as_str().expect("a problem").to_owned()), text.to_owned())
            })
            .collect();
        (header, records)
    }

    #[tokio::test]
    async fn each_message_gets_one_object_with_its_records_and_their_reasons() {
        let store = MemoryStore::default();
        let options = ErrorOutputOptions { prefix: "errors/".into() };
        let records =
            [rejected("m1", Some(2), "not json"), rejected("m2", None, "[\n]"), rejected("m1", Some(5), "{\t")];
        let written = write_errors(&store, &options, &records, now()).await;
        assert_eq!((written.records, written.objects, written.failed.len()), (3, 2, 0));
        let key = object_key("errors/", "m1", records[0].sent_at, now());
        assert!(key.starts_with("errors/dt=2025-11-26/") && key.ends_with(".txt"), "the day SQS took it: {key}");
        let (header, lines) = read(&store.object(&key).expect("written"));
        assert_eq!((header["message_id"].as_str(), header["rejected"].as_u64()), (Some("m1"), Some(2)));
        assert_eq!(header["layout"], "lines");
        let not_json = || (".".to_owned(), "not_json".to_owned());
        assert_eq!(lines, [(not_json(), "not json".to_owned()), (not_json(), "{\t".to_owned())]);
        let (header, lines) =
            read(&store.object(&object_key("errors/", "m2", records[1].sent_at, now())).expect("written"));
        assert_eq!(header["layout"], "document");
        assert_eq!(lines, [((".".to_owned(), "not_an_object".to_owned()), "[\n]".to_owned())]);
    }

    #[test]
    fn codes_are_one_character_for_the_62_most_frequent_reasons_and_never_repeat() {
        let codes: Vec<String> = (0..62 + 62 * 62 + 5).map(code).collect();
        assert!(codes[..62].iter().all(|code| code.len() == 1));
        assert_eq!((codes[62].as_str(), codes[62 + 62 * 62].as_str()), ("aa", "aaa"));
        assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), codes.len());
    }

    #[test]
    fn a_message_of_tiny_bad_lines_makes_an_object_at_most_twice_its_size_and_a_little() {
        let texts: Vec<String> = (0..21_000).map(|line| ["{}", "x", "1", "[]"][line % 4].to_owned()).collect();
        let body: String = texts.iter().map(|text| format!("{text}\n")).collect();
        let records: Vec<Rejected> =
            texts.iter().enumerate().map(|(line, text)| rejected("m", Some(line + 1), text)).collect();
        let object = super::body("m", &records.iter().collect::<Vec<_>>());
        assert!(object.len() <= 2 * body.len() + 4096, "{} bytes from a body of {}", object.len(), body.len());
        let (_, read_back) = read(&object);
        assert_eq!(read_back.iter().map(|(_, text)| text).collect::<Vec<_>>(), texts.iter().collect::<Vec<_>>());
    }

    #[test]
    fn a_message_of_every_cheap_reason_stays_within_twice_its_size_and_4_kib() {
        // The cheapest record of each reason a field can have, so the reasons table is as large as a
        // message can make it for what it pays.
        let mut texts: Vec<String> = ["x", "1", "[]", "{}", "{\"zz\":1}"].map(str::to_owned).to_vec();
        for field in shared::record::FIELD_NAMES {
            for value in ["1", "\"x\"", "[]", "-1", "true", "null", "1.5", "{}", "99999999999"] {
                texts.push(format!("{{\"{field}\":{value}}}"));
            }
            texts.push(format!("{{\"{field}\":1,\"{field}\":1}}"));
        }
        let body: String = texts.iter().map(|text| format!("{text}\n")).collect();
        let records: Vec<Rejected> =
            texts.iter().enumerate().map(|(line, text)| rejected("m", Some(line + 1), text)).collect();
        let object = super::body("m", &records.iter().collect::<Vec<_>>());
        let (header, read_back) = read(&object);
        assert!(object.len() <= 2 * body.len() + 4096, "{} bytes from a body of {}", object.len(), body.len());
        assert_eq!(read_back.len(), texts.len());
        let reasons = header["reasons"].as_object().expect("reasons");
        assert!(reasons.len() > 20 && reasons.values().any(|reason| reason["problem"] == "other"), "{header}");
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
