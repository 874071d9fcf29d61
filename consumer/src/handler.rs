//! One invocation: the SQS batch decoded record by record, the records ingested, what was done reported
//! (`telemetry`), and every message not durably written whole answered back so SQS delivers it again.

use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Diagnostic, LambdaEvent};
use shared::{deadline, seed};
use tokio::time::Instant;

use crate::decode::{MissingMessageId, RecordWindow, decode};
use crate::ingest::{Outputs, ingest};
use crate::store::ObjectStore;
use crate::telemetry::{BatchReport, MetricSet, Metrics, log_rejections};

/// What an invocation needs, built once per container.
pub struct Consumer<S> {
    pub store: S,
    pub outputs: Outputs,
    /// The times a record may hold; the rest are refused.
    pub window: RecordWindow,
    pub metrics_namespace: String,
    pub metrics: MetricSet,
    pub function_name: String,
    /// How long before the invocation's deadline writes stop, leaving time to answer.
    pub deadline_margin: Duration,
}

/// Why an invocation failed as a whole; SQS then delivers the whole batch again.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    MissingMessageId(#[from] MissingMessageId),
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        tracing::error!(error = %error, "invocation failed");
        Diagnostic { error_type: "InvalidBatch".into(), error_message: error.to_string() }
    }
}

/// Handles one batch and reports the messages to deliver again.
pub async fn handle<S: ObjectStore>(
    consumer: &Consumer<S>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, HandlerError> {
    let messages = &event.payload.records;
    let now = chrono::Utc::now();
    let decoded = decode(messages, consumer.window, now)?;
    log_rejections(&decoded.rejected);
    let stop_at = deadline::stop_at(Instant::now(), event.context.deadline, consumer.deadline_margin);
    let mut rng = seed::rng(None);
    let ingested = ingest(&consumer.store, &consumer.outputs, &decoded, now, stop_at, &mut rng).await;

    let metrics = Metrics {
        set: consumer.metrics,
        namespace: &consumer.metrics_namespace,
        function_name: &consumer.function_name,
        timestamp_ms: now.timestamp_millis(),
    };
    BatchReport::new(messages.len(), &decoded, &ingested).write(&metrics, std::io::stdout());

    let mut response = SqsBatchResponse::default();
    // decode() checked every message's id.
    response.batch_item_failures = messages
        .iter()
        .filter_map(|message| message.message_id.as_deref())
        .filter(|message_id| ingested.failed.contains(message_id))
        .map(|message_id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id.to_owned();
            failure
        })
        .collect();
    Ok(response)
}
