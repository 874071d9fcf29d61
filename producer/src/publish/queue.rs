//! The narrow port the producer's core sends through; SQS is one adapter, tests bring their own.

use std::error::Error as StdError;
use std::future::Future;

/// One message of a batch, with the entry id that its result refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub id: String,
    pub body: String,
    /// How many records the body carries, one a line.
    pub records: u64,
    /// Seconds the queue hides the message before its first delivery (SQS DelaySeconds, 0-900).
    pub delay_seconds: u32,
}

/// A message of a batch that the queue did not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFailure {
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
    pub message: String,
    /// `false` when every later call would fail the same way (no such queue, access denied).
    pub retryable: bool,
    #[source]
    pub source: Option<Box<dyn StdError + Send + Sync>>,
}

/// A queue that takes batches of messages and reports which entries it refused.
pub trait MessageQueue {
    /// Sends one batch (at most [`super::batch::MAX_ENTRIES`] messages); `Ok` lists the refused entries.
    fn send_batch(
        &self,
        messages: &[OutgoingMessage],
    ) -> impl Future<Output = Result<Vec<EntryFailure>, SendError>> + Send;
}
