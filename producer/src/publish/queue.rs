//! The narrow port the producer's core sends through; SQS is one adapter, tests bring their own.

use std::error::Error as StdError;
use std::future::Future;

/// One message of a batch, with the entry id that its result refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Unique within its batch.
    pub id: String,
    /// One record, or several one a line.
    pub body: String,
    /// How many records the body carries, one a line.
    pub records: u64,
    /// Seconds the queue hides the message before its first delivery (SQS DelaySeconds, 0-900).
    pub delay_seconds: u32,
}

/// A message of a batch that the queue did not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFailure {
    /// The refused message's entry id.
    pub id: String,
    /// The queue's error code, for the logs.
    pub code: String,
    /// `false` when the fault is the message's own and sending it again cannot succeed.
    pub retryable: bool,
}

/// A whole batch call failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// What failed, naming the queue.
    pub message: String,
    /// `false` when every later call would fail the same way (no such queue, access denied).
    pub retryable: bool,
    /// The client's own error, when there is one.
    #[source]
    pub source: Option<Box<dyn StdError + Send + Sync>>,
}

/// A queue that takes batches of messages and reports which entries it refused.
pub trait MessageQueue {
    /// Sends one batch (at most ten messages, SendMessageBatch's limit); `Ok` lists the refused entries.
    fn send_batch(
        &self,
        messages: &[OutgoingMessage],
    ) -> impl Future<Output = Result<Vec<EntryFailure>, SendError>> + Send;
}
