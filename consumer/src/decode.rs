//! Each SQS message decoded and validated on its own, so one bad message fails alone.

use aws_lambda_events::event::sqs::SqsMessage;
use shared::{DecodeError, UserSession};

/// A message that holds a valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted<'a> {
    pub message_id: &'a str,
    pub record: UserSession,
    /// SQS delivered the message before (its ApproximateReceiveCount is above 1).
    pub delivered_before: bool,
}

/// A message that does not, and why: the field and the kind of problem, never the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected<'a> {
    pub message_id: &'a str,
    pub reason: DecodeError,
}

/// The event holds a message without an id, which no partial-batch response can name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("message {index} of the batch has no messageId; the whole batch is returned to the queue")]
pub struct MissingMessageId {
    pub index: usize,
}

/// Splits a batch into accepted and rejected messages, in order.
pub fn decode(messages: &[SqsMessage]) -> Result<(Vec<Accepted<'_>>, Vec<Rejected<'_>>), MissingMessageId> {
    let mut accepted = Vec::with_capacity(messages.len());
    let mut rejected = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let message_id = message.message_id.as_deref().filter(|id| !id.is_empty()).ok_or(MissingMessageId { index })?;
        match message.body.as_deref().map(|body| UserSession::from_json(body.as_bytes())) {
            Some(Ok(record)) => {
                accepted.push(Accepted { message_id, record, delivered_before: delivered_before(message) })
            }
            Some(Err(reason)) => rejected.push(Rejected { message_id, reason }),
            None => rejected.push(Rejected { message_id, reason: DecodeError::no_body() }),
        }
    }
    Ok((accepted, rejected))
}

fn delivered_before(message: &SqsMessage) -> bool {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse::<u32>().ok())
        .is_some_and(|count| count > 1)
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

    const GOOD: &str = r#"{"person_name":"Ioana Popescu","user_name":"ioanapopescu","email":"ioanapopescu@gmail.com","personal_number":"2900101120013","birth_date":"1990-01-01","address":"Strada Florilor nr. 7, 400123 Cluj-Napoca, jud. Cluj","phone_number":"0722 123 456","mac_address":"0a:1b:2c:3d:4e:5f","ip_address":"10.0.0.1","iban":"RO49AAAA1B31007593840000","accessed_at":"2026-11-26 06:30:00.123456","session_duration":1,"download_speed":2,"upload_speed":3,"consumed_traffic":4,"unique_id":"7c9e6679-7425-40de-944b-e07fc1f90ae7"}"#;

    #[test]
    fn bad_messages_are_rejected_alone_with_a_reason() {
        let messages = [
            message(Some("a"), Some(GOOD)),
            message(Some("b"), Some("not json")),
            message(Some("c"), Some(&GOOD.replace("\"upload_speed\":3", "\"upload_speed\":900"))),
            message(Some("d"), None),
            message(Some("e"), Some(GOOD)),
        ];
        let (accepted, rejected) = decode(&messages).expect("every message has an id");
        assert_eq!(accepted.iter().map(|a| a.message_id).collect::<Vec<_>>(), ["a", "e"]);
        assert_eq!(rejected.iter().map(|r| r.message_id).collect::<Vec<_>>(), ["b", "c", "d"]);
        let reason = &rejected[1].reason;
        assert_eq!((reason.field(), reason.problem()), ("upload_speed", shared::Problem::OutOfRange));
        assert_eq!(rejected[2].reason.problem(), shared::Problem::NoBody);
    }

    #[test]
    fn a_message_without_an_id_fails_the_batch() {
        let messages = [message(Some("a"), Some(GOOD)), message(None, Some(GOOD))];
        assert_eq!(decode(&messages), Err(MissingMessageId { index: 1 }));
        assert_eq!(decode(&[message(Some(""), Some(GOOD))]), Err(MissingMessageId { index: 0 }));
    }

    #[test]
    fn a_receive_count_above_one_marks_a_redelivery() {
        let mut messages =
            [message(Some("a"), Some(GOOD)), message(Some("b"), Some(GOOD)), message(Some("c"), Some(GOOD))];
        messages[1].attributes.insert("ApproximateReceiveCount".into(), "1".into());
        messages[2].attributes.insert("ApproximateReceiveCount".into(), "3".into());
        let (accepted, _) = decode(&messages).expect("every message has an id");
        assert_eq!(accepted.iter().map(|a| a.delivered_before).collect::<Vec<_>>(), [false, false, true]);
    }
}
