//! The outcome of a run, as the Lambda response body, the command line and the logs report it.

use std::time::Duration;

use serde::Serialize;

use crate::plan::Mode;
use crate::publish::delivery::Delivery;

/// Counts of one run, in records but for `messages` and `sqs_calls`. `sent + failed + unsent` is `requested`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub(crate) mode: Mode,
    /// The burst's record count, or the records a stream's window holds.
    pub(crate) requested: u64,
    /// Records the queue accepted.
    pub sent: u64,
    /// Records given up on after retries.
    pub failed: u64,
    /// Records not attempted because the deadline came first.
    pub unsent: u64,
    /// Messages the queue accepted.
    pub messages: u64,
    /// SendMessageBatch calls, retries included.
    pub sqs_calls: u64,
    pub(crate) elapsed_ms: u64,
}

impl Summary {
    /// The counts of a run in `mode` that asked for `requested` records and ended with `delivery`.
    pub(crate) fn new(mode: Mode, requested: u64, delivery: Delivery, elapsed: Duration) -> Self {
        let attempted = delivery.sent + delivery.failed;
        Self {
            mode,
            requested,
            sent: delivery.sent,
            failed: delivery.failed,
            unsent: requested.saturating_sub(attempted),
            messages: delivery.messages,
            sqs_calls: delivery.calls,
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Every requested record reached the queue.
    pub(crate) fn is_complete(&self) -> bool {
        self.failed == 0 && self.unsent == 0
    }
}
