//! Packs records into SendMessageBatch requests within SQS's limits.

use shared::UserSession;

use super::queue::OutgoingMessage;

/// SendMessageBatch takes at most ten entries.
pub const MAX_ENTRIES: usize = 10;
/// The bodies of one SendMessageBatch request add up to at most 256 KiB.
pub const MAX_BYTES: usize = 256 * 1024;

/// Groups records, in order, into batches of at most [`MAX_ENTRIES`] messages and [`MAX_BYTES`] bytes.
pub struct Batches<I> {
    records: I,
    carried: Option<String>,
}

impl<I: Iterator<Item = UserSession>> Batches<I> {
    pub fn new(records: I) -> Self {
        Self { records, carried: None }
    }
}

impl<I: Iterator<Item = UserSession>> Iterator for Batches<I> {
    type Item = Result<Vec<OutgoingMessage>, serde_json::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut batch: Vec<OutgoingMessage> = Vec::with_capacity(MAX_ENTRIES);
        let mut bytes = 0;
        while batch.len() < MAX_ENTRIES {
            let body = match self.carried.take() {
                Some(body) => body,
                None => match self.records.next().map(|record| record.to_json()) {
                    Some(Ok(body)) => body,
                    Some(Err(error)) => return Some(Err(error)),
                    None => break,
                },
            };
            if !batch.is_empty() && bytes + body.len() > MAX_BYTES {
                self.carried = Some(body);
                break;
            }
            bytes += body.len();
            batch.push(OutgoingMessage { id: batch.len().to_string(), body });
        }
        (!batch.is_empty()).then_some(Ok(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::user_session;
    use chrono::Utc;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn records(count: usize, address_len: usize) -> impl Iterator<Item = UserSession> {
        let mut rng = StdRng::seed_from_u64(11);
        std::iter::repeat_with(move || {
            let mut record = user_session(&mut rng, Utc::now());
            record.address = "x".repeat(address_len);
            record
        })
        .take(count)
    }

    #[test]
    fn small_records_fill_batches_of_ten_with_distinct_ids() {
        let batches: Vec<_> = Batches::new(records(25, 10)).collect::<Result<_, _>>().expect("encodes");
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 5]);
        let ids: Vec<&str> = batches[0].iter().map(|message| message.id.as_str()).collect();
        assert_eq!(ids, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    }

    #[test]
    fn large_records_split_batches_at_the_byte_limit() {
        let batches: Vec<_> = Batches::new(records(9, 100 * 1024)).collect::<Result<_, _>>().expect("encodes");
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 2, 2, 2, 1]);
        for batch in &batches {
            assert!(batch.iter().map(|message| message.body.len()).sum::<usize>() <= MAX_BYTES);
        }
    }

    #[test]
    fn no_records_make_no_batch() {
        assert_eq!(Batches::new(records(0, 1)).count(), 0);
    }
}
