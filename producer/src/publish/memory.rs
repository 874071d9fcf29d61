//! An in-memory [`MessageQueue`] that keeps what it is sent, for tests and dry runs.

use std::sync::Mutex;
use std::time::Duration;

use super::queue::{EntryFailure, MessageQueue, OutgoingMessage, SendError};

/// Accepts every message, after an optional delay per call, and keeps the bodies in arrival order.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    bodies: Mutex<Vec<String>>,
    latency: Duration,
}

impl MemoryQueue {
    /// A queue whose every call takes `latency`.
    pub fn with_latency(latency: Duration) -> Self {
        Self { latency, ..Self::default() }
    }

    /// The bodies received so far.
    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().map(|bodies| bodies.clone()).unwrap_or_default()
    }
}

impl MessageQueue for MemoryQueue {
    async fn send_batch(&self, messages: &[OutgoingMessage]) -> Result<Vec<EntryFailure>, SendError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let mut bodies = self.bodies.lock().map_err(|_| SendError {
            message: "memory queue poisoned by a panicked sender".into(),
            retryable: false,
            source: None,
        })?;
        bodies.extend(messages.iter().map(|message| message.body.clone()));
        Ok(Vec::new())
    }
}
