//! Records packed into message bodies: NDJSON, one record a line, so a message of one record is exactly
//! the seed's single-record body.

use shared::UserSession;

use crate::plan::Packing;

/// A message body before it is given an entry id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) body: String,
    pub(crate) records: u64,
    /// SQS DelaySeconds, 0-900.
    pub(crate) delay_seconds: u32,
}

impl Message {
    /// A body of one record, delayed `delay_seconds`.
    pub(crate) fn single(record: &UserSession, delay_seconds: u32) -> Result<Self, serde_json::Error> {
        Ok(Self { body: record.to_json()?, records: 1, delay_seconds })
    }
}

/// Packs records, in order, into bodies of at most `packing.records` lines and `packing.bytes` bytes;
/// a record larger than `packing.bytes` travels alone.
pub(crate) struct Packed<I> {
    records: I,
    packing: Packing,
    carried: Option<String>,
}

impl<I: Iterator<Item = UserSession>> Packed<I> {
    /// Messages of `records`, packed as `packing` allows.
    pub(crate) fn new(records: I, packing: Packing) -> Self {
        Self { records, packing, carried: None }
    }
}

impl<I: Iterator<Item = UserSession>> Iterator for Packed<I> {
    type Item = Result<Message, serde_json::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut body = String::new();
        let mut records = 0;
        while records < self.packing.records {
            let line = match self.carried.take() {
                Some(line) => line,
                None => {
                    let Some(record) = self.records.next() else { break };
                    match record.to_json() {
                        Ok(line) => line,
                        Err(error) => return Some(Err(error)),
                    }
                }
            };
            if records > 0 && body.len() + 1 + line.len() > self.packing.bytes {
                self.carried = Some(line);
                break;
            }
            if records > 0 {
                body.push('\n');
            }
            body.push_str(&line);
            records += 1;
        }
        if records == 0 {
            return None;
        }
        Some(Ok(Message { body, records: records as u64, delay_seconds: 0 }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::user_session;
    use chrono::Utc;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn records(count: usize) -> impl Iterator<Item = UserSession> {
        let mut rng = StdRng::seed_from_u64(3);
        std::iter::repeat_with(move || user_session(&mut rng, Utc::now())).take(count)
    }

    #[test]
    fn records_are_packed_one_a_line_up_to_the_count() {
        let messages: Vec<Message> =
            Packed::new(records(25), Packing { records: 10, bytes: 1 << 20 }).collect::<Result<_, _>>().expect("packs");
        assert_eq!(messages.iter().map(|message| message.records).collect::<Vec<_>>(), [10, 10, 5]);
        for message in &messages {
            let lines: Vec<&str> = message.body.split('\n').collect();
            assert_eq!(lines.len() as u64, message.records);
            assert!(lines.iter().all(|line| UserSession::from_json(line.as_bytes()).is_ok()));
        }
    }

    #[test]
    fn bodies_stay_within_the_byte_limit() {
        let packing = Packing { records: 1000, bytes: 16 * 1024 };
        let messages: Vec<Message> = Packed::new(records(200), packing).collect::<Result<_, _>>().expect("packs");
        assert!(messages.iter().all(|message| message.body.len() <= packing.bytes));
        assert_eq!(messages.iter().map(|message| message.records).sum::<u64>(), 200);
        assert!(messages[0].records > 20, "a 16 KiB body holds more than 20 records of about 560 bytes");
    }

    #[test]
    fn one_record_a_message_is_the_single_record_body() {
        let record = records(1).next().expect("a record");
        let packed: Vec<Message> =
            Packed::new(std::iter::once(record.clone()), Packing::SINGLE).collect::<Result<_, _>>().expect("packs");
        assert_eq!(packed, [Message::single(&record, 0).expect("encodes")]);
    }
}
