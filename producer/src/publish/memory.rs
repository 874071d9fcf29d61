//! An in-memory [`MessageQueue`] that keeps what it is sent: the test double of this crate's unit tests,
//! compiled only for them.

use std::sync::Mutex;
use std::time::Duration;

use super::queue::{EntryFailure, MessageQueue, OutgoingMessage, SendError};

/// Accepts every message, after an optional delay per call, and keeps them in arrival order.
#[derive(Debug, Default)]
pub(crate) struct MemoryQueue {
    messages: Mutex<Vec<OutgoingMessage>>,
    latency: Duration,
}

impl MemoryQueue {
    /// A queue whose every call takes `latency`.
    pub(crate) fn with_latency(latency: Duration) -> Self {
        Self { latency, ..Self::default() }
    }

    /// The messages received so far.
    pub(crate) fn messages(&self) -> Vec<OutgoingMessage> {
        self.messages.lock().map(|messages| messages.clone()).unwrap_or_default()
    }

    /// The records received so far, one a line of the bodies.
    pub(crate) fn records(&self) -> Vec<String> {
        self.messages()
            .iter()
            .flat_map(|message| message.body.split('\n').map(str::to_owned).collect::<Vec<_>>())
            .collect()
    }
}

impl MessageQueue for MemoryQueue {
    async fn send_batch(&self, messages: &[OutgoingMessage]) -> Result<Vec<EntryFailure>, SendError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let mut received = self.messages.lock().map_err(|_| SendError {
            message: "memory queue poisoned by a panicked sender".into(),
            retryable: false,
            source: None,
        })?;
        received.extend_from_slice(messages);
        Ok(Vec::new())
    }
}
