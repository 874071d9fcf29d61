//! Groups messages into SendMessageBatch requests within SQS's limits.

use super::pack::Message;
use super::queue::OutgoingMessage;

/// SendMessageBatch takes at most ten entries.
pub(crate) const MAX_ENTRIES: usize = 10;
/// The bodies of one SendMessageBatch request add up to at most 256 KiB; a larger message goes alone.
pub(crate) const MAX_BYTES: usize = 256 * 1024;

/// Groups messages, in order, into batches of at most [`MAX_ENTRIES`] entries and [`MAX_BYTES`] bytes.
pub(crate) struct Batches<I> {
    messages: I,
    carried: Option<Message>,
}

impl<I> Batches<I> {
    /// Batches of `messages`, which yields messages or the error that stopped making one.
    pub(crate) fn new(messages: I) -> Self {
        Self { messages, carried: None }
    }
}

impl<I, E> Iterator for Batches<I>
where
    I: Iterator<Item = Result<Message, E>>,
{
    type Item = Result<Vec<OutgoingMessage>, E>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut batch: Vec<OutgoingMessage> = Vec::with_capacity(MAX_ENTRIES);
        let mut bytes = 0;
        while batch.len() < MAX_ENTRIES {
            let message = match self.carried.take() {
                Some(message) => message,
                None => match self.messages.next() {
                    Some(Ok(message)) => message,
                    Some(Err(error)) => return Some(Err(error)),
                    None => break,
                },
            };
            if !batch.is_empty() && bytes + message.body.len() > MAX_BYTES {
                self.carried = Some(message);
                break;
            }
            bytes += message.body.len();
            batch.push(OutgoingMessage {
                id: batch.len().to_string(),
                body: message.body,
                records: message.records,
                delay_seconds: message.delay_seconds,
            });
        }
        (!batch.is_empty()).then_some(Ok(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(count: usize, len: usize) -> impl Iterator<Item = Result<Message, ()>> {
        (0..count).map(move |index| {
            Ok(Message { body: "x".repeat(len), records: 1, delay_seconds: u32::try_from(index).unwrap_or(0) })
        })
    }

    #[test]
    fn small_messages_fill_batches_of_ten_with_distinct_ids() {
        let batches: Vec<_> = Batches::new(messages(25, 10)).collect::<Result<_, _>>().expect("batches");
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 5]);
        let ids: Vec<&str> = batches[0].iter().map(|message| message.id.as_str()).collect();
        assert_eq!(ids, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
        assert_eq!(batches[1][3].delay_seconds, 13, "each message keeps its delay");
    }

    #[test]
    fn large_messages_split_batches_at_the_byte_limit() {
        let batches: Vec<_> = Batches::new(messages(9, 100 * 1024)).collect::<Result<_, _>>().expect("batches");
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 2, 2, 2, 1]);
        for batch in &batches {
            assert!(batch.iter().map(|message| message.body.len()).sum::<usize>() <= MAX_BYTES);
        }
        let alone: Vec<_> = Batches::new(messages(2, 300 * 1024)).collect::<Result<_, _>>().expect("batches");
        assert_eq!(alone.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1]);
    }

    #[test]
    fn no_messages_make_no_batch() {
        assert_eq!(Batches::new(messages(0, 1)).count(), 0);
    }
}
