//! Each SQS message decoded and validated on its own, and each record of a packed message on its own, so
//! one bad record fails alone.
//!
//! A body is one record (what the seed's producer and other clients send, pretty-printed or not) or
//! several packed one a line (NDJSON, what this project's producer sends). A record of a time outside the
//! window around when SQS took its message is refused too: it would land in a partition no query reads, and
//! the window bounds how many dates, so how many objects, one batch can write.

use aws_lambda_events::event::sqs::SqsMessage;
use chrono::{DateTime, TimeDelta, Utc};
use shared::{DecodeError, UserSession};

/// The times a record's `accessed_at` may hold, measured from when SQS took its message (its
/// SentTimestamp, the same on every delivery, so a redelivered message is judged as it was the first time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordWindow {
    /// At most this long before.
    pub max_age: TimeDelta,
    /// At most this long after: a sender's clock a little ahead.
    pub max_ahead: TimeDelta,
}

/// `MAX_RECORD_AGE_DAYS`'s default.
pub const DEFAULT_MAX_RECORD_AGE_DAYS: u32 = 30;

impl RecordWindow {
    /// Records up to `max_age_days` old and a day ahead.
    pub fn days(max_age_days: u32) -> Self {
        Self { max_age: TimeDelta::days(i64::from(max_age_days)), max_ahead: TimeDelta::days(1) }
    }

    /// Why `record` is outside the window around `sent_at`, if it is.
    fn refuse(&self, record: &UserSession, sent_at: DateTime<Utc>) -> Option<DecodeError> {
        let at = record.accessed_at.and_utc();
        // Beyond chrono's range, the bound is no bound: only a test's SentTimestamp can be that far out.
        let earliest = sent_at.checked_sub_signed(self.max_age);
        let latest = sent_at.checked_add_signed(self.max_ahead);
        let inside = earliest.is_none_or(|earliest| at >= earliest) && latest.is_none_or(|latest| at <= latest);
        (!inside).then(|| {
            let rule = format!(
                "accessed_at out of range: more than {} days before or {} day after SQS took the message",
                self.max_age.num_days(),
                self.max_ahead.num_days()
            );
            DecodeError::out_of_range("accessed_at", rule)
        })
    }
}

impl Default for RecordWindow {
    fn default() -> Self {
        Self::days(DEFAULT_MAX_RECORD_AGE_DAYS)
    }
}

/// A valid record and the message that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accepted<'a> {
    pub(crate) message_id: &'a str,
    pub(crate) record: UserSession,
    /// SQS delivered the message before (its ApproximateReceiveCount is above 1).
    pub(crate) delivered_before: bool,
}

/// A record that is not valid, and why: the field and the kind of problem. `text` is the record as it
/// came, for the error output only; it is personal data and never logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejected<'a> {
    pub(crate) message_id: &'a str,
    /// The record's line in a packed body, from 1; `None` for a single-record body.
    pub(crate) line: Option<usize>,
    pub(crate) reason: DecodeError,
    pub(crate) text: &'a str,
    /// When SQS first took the message (its SentTimestamp), the same on every delivery.
    pub(crate) sent_at: Option<DateTime<Utc>>,
}

/// A batch split into its valid and invalid records, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Decoded<'a> {
    pub(crate) accepted: Vec<Accepted<'a>>,
    pub(crate) rejected: Vec<Rejected<'a>>,
}

/// The event holds a message without an id, which no partial-batch response can name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("message {index} of the batch has no messageId; the whole batch is returned to the queue")]
pub struct MissingMessageId {
    pub(crate) index: usize,
}

/// Splits a batch into accepted and rejected records, in order; `now` stands for the time SQS took a
/// message that does not say.
pub(crate) fn decode(
    messages: &[SqsMessage],
    window: RecordWindow,
    now: DateTime<Utc>,
) -> Result<Decoded<'_>, MissingMessageId> {
    let mut decoded = Decoded { accepted: Vec::with_capacity(messages.len()), rejected: Vec::new() };
    for (index, message) in messages.iter().enumerate() {
        let message_id = message.message_id.as_deref().filter(|id| !id.is_empty()).ok_or(MissingMessageId { index })?;
        let delivered_before = delivered_before(message);
        let sent_at = sent_at(message);
        let reject = |line, reason, text| Rejected { message_id, line, reason, text, sent_at };
        let Some(body) = message.body.as_deref() else {
            decoded.rejected.push(reject(None, DecodeError::no_body(), ""));
            continue;
        };
        for (line, text) in records(body) {
            let decoded_record = UserSession::from_json(text.as_bytes()).and_then(|record| {
                match window.refuse(&record, sent_at.unwrap_or(now)) {
                    Some(reason) => Err(reason),
                    None => Ok(record),
                }
            });
            match decoded_record {
                Ok(record) => decoded.accepted.push(Accepted { message_id, record, delivered_before }),
                Err(reason) => decoded.rejected.push(reject(line, reason, text)),
            }
        }
    }
    Ok(decoded)
}

/// The records of a body with their line numbers: the whole body when it is one document (on one line,
/// or spread over several, so its first line does not close an object), else each line that is not blank.
fn records(body: &str) -> Box<dyn Iterator<Item = (Option<usize>, &str)> + '_> {
    let trimmed = body.trim();
    let single =
        !trimmed.contains('\n') || trimmed.lines().next().is_some_and(|first| !first.trim_end().ends_with('}'));
    if single {
        return Box::new(std::iter::once((None, body)));
    }
    Box::new(
        body.split('\n')
            .enumerate()
            .map(|(index, line)| (Some(index + 1), line.strip_suffix('\r').unwrap_or(line)))
            .filter(|(_, line)| !line.trim().is_empty()),
    )
}

fn delivered_before(message: &SqsMessage) -> bool {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse::<u32>().ok())
        .is_some_and(|count| count > 1)
}

fn sent_at(message: &SqsMessage) -> Option<DateTime<Utc>> {
    let millis = message.attributes.get("SentTimestamp")?.parse::<i64>().ok()?;
    DateTime::from_timestamp_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: Option<&str>, body: Option<&str>) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = id.map(str::to_owned);
        message.body = body.map(str::to_owned);
        message
    }

    const GOOD: &str = r#"{"person_name":"Ioana Popescu","user_name":"ioanapopescu","email":"ioanapopescu@gmail.com","personal_number":"2900101120015","birth_date":"1990-01-01","address":"Strada Florilor nr. 7, 400123 Cluj-Napoca, jud. Cluj","phone_number":"0722 123 456","mac_address":"0a:1b:2c:3d:4e:5f","ip_address":"10.0.0.1","iban":"RO49AAAA1B31007593840000","accessed_at":"2026-11-26 06:30:00.123456","session_duration":1,"download_speed":2,"upload_speed":3,"consumed_traffic":4,"unique_id":"7c9e6679-7425-40de-944b-e07fc1f90ae7"}"#;

    /// Decoded half an hour after GOOD's time, by the default window.
    fn decode_at(messages: &[SqsMessage]) -> Result<Decoded<'_>, MissingMessageId> {
        decode(messages, RecordWindow::default(), at("2026-11-26T07:00:00Z"))
    }

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).expect("a time").to_utc()
    }

    fn ids<'a>(decoded: &'a Decoded) -> (Vec<&'a str>, Vec<(&'a str, Option<usize>)>) {
        (
            decoded.accepted.iter().map(|a| a.message_id).collect(),
            decoded.rejected.iter().map(|r| (r.message_id, r.line)).collect(),
        )
    }

    #[test]
    fn bad_messages_are_rejected_alone_with_a_reason() {
        let messages = [
            message(Some("a"), Some(GOOD)),
            message(Some("b"), Some("not json")),
            message(Some("c"), Some(&GOOD.replace("\"upload_speed\":3", "\"upload_speed\":900"))),
            message(Some("d"), None),
            message(Some("e"), Some(GOOD)),
        ];
        let decoded = decode_at(&messages).expect("every message has an id");
        assert_eq!(ids(&decoded), (vec!["a", "e"], vec![("b", None), ("c", None), ("d", None)]));
        let reason = &decoded.rejected[1].reason;
        assert_eq!((reason.field(), reason.problem()), ("upload_speed", shared::Problem::OutOfRange));
        assert_eq!(decoded.rejected[2].reason.problem(), shared::Problem::NoBody);
        assert_eq!(decoded.rejected[0].text, "not json");
    }

    #[test]
    fn a_packed_body_is_decoded_line_by_line_and_a_bad_line_fails_alone() {
        let second = GOOD.replace("7c9e6679", "00000000");
        let body = format!("{GOOD}\n{{\"broken\": \n\r\n{second}\n");
        let messages = [message(Some("p"), Some(&body))];
        let decoded = decode_at(&messages).expect("an id");
        assert_eq!(ids(&decoded), (vec!["p", "p"], vec![("p", Some(2))]));
        assert_eq!(decoded.rejected[0].reason.problem(), shared::Problem::NotJson);
        assert_eq!(decoded.rejected[0].text, "{\"broken\": ");
    }

    #[test]
    fn single_documents_stay_whole_on_one_line_or_pretty_printed() {
        let pretty = serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(GOOD).expect("JSON"))
            .expect("encodes");
        let wrapped = GOOD.replacen(",", ",\n  ", 3);
        for body in [GOOD.to_owned(), format!("{GOOD}\n"), pretty, wrapped] {
            let messages = [message(Some("s"), Some(&body))];
            let decoded = decode_at(&messages).expect("an id");
            assert_eq!(ids(&decoded), (vec!["s"], vec![]), "{body}");
        }
    }

    #[test]
    fn a_message_without_an_id_fails_the_batch() {
        let messages = [message(Some("a"), Some(GOOD)), message(None, Some(GOOD))];
        assert_eq!(decode_at(&messages), Err(MissingMessageId { index: 1 }));
        assert_eq!(decode_at(&[message(Some(""), Some(GOOD))]), Err(MissingMessageId { index: 0 }));
    }

    #[test]
    fn a_receive_count_above_one_marks_a_redelivery_and_the_sent_time_is_kept() {
        let mut messages =
            [message(Some("a"), Some(GOOD)), message(Some("b"), Some(GOOD)), message(Some("c"), Some("x"))];
        messages[1].attributes.insert("ApproximateReceiveCount".into(), "1".into());
        messages[0].attributes.insert("ApproximateReceiveCount".into(), "3".into());
        messages[2].attributes.insert("SentTimestamp".into(), "1764136800100".into());
        let decoded = decode_at(&messages).expect("every message has an id");
        assert_eq!(decoded.accepted.iter().map(|a| a.delivered_before).collect::<Vec<_>>(), [true, false]);
        assert_eq!(decoded.rejected[0].sent_at, DateTime::from_timestamp_millis(1_764_136_800_100));
    }

    #[test]
    fn a_record_outside_the_window_around_the_sent_time_is_refused_as_out_of_range() {
        let stamped = |accessed_at: &str| GOOD.replace("2026-11-26 06:30:00.123456", accessed_at);
        let bodies = [
            stamped("2026-10-28 00:00:00"),
            stamped("2026-10-26 23:59:59.999999"),
            stamped("2026-11-27 06:59:59"),
            stamped("2026-11-27 07:00:01"),
            stamped("1900-01-01 00:00:00"),
            stamped("+12345-01-01 00:00:00"),
        ];
        let messages: Vec<SqsMessage> = bodies
            .iter()
            .enumerate()
            .map(|(index, body)| {
                let mut message = message(Some(&index.to_string()), Some(body));
                // SQS took it at 07:00 on 26 November; the consumer reads it two months later.
                message.attributes.insert("SentTimestamp".into(), "1795676400000".into());
                message
            })
            .collect();
        let decoded = decode(&messages, RecordWindow::days(30), at("2027-01-26T00:00:00Z")).expect("ids");
        assert_eq!(ids(&decoded), (vec!["0", "2"], vec![("1", None), ("3", None), ("4", None), ("5", None)]));
        let reason = &decoded.rejected[0].reason;
        assert_eq!((reason.field(), reason.problem()), ("accessed_at", shared::Problem::OutOfRange));
        assert!(reason.to_string().contains("accessed_at out of range"), "{reason}");

        // Without a SentTimestamp, the consumer's clock stands in.
        let unstamped = [message(Some("u"), Some(&bodies[0]))];
        assert_eq!(
            decode(&unstamped, RecordWindow::days(30), at("2026-11-26T07:00:00Z")).expect("an id").rejected.len(),
            0
        );
        assert_eq!(
            decode(&unstamped, RecordWindow::days(30), at("2026-11-28T07:00:00Z")).expect("an id").rejected.len(),
            1
        );
    }
}
