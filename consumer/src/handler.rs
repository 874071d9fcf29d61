//! One invocation: the SQS batch decoded record by record, the records ingested, and every message not
//! durably written whole reported back so SQS delivers it again.

use std::time::{Duration, SystemTime};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Diagnostic, LambdaEvent};
use rand::rngs::StdRng;
use shared::deadline;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::decode::{MissingMessageId, Rejected, decode};
use crate::ingest::{Outputs, ingest};
use crate::metrics::{Counts, MetricSet};
use crate::store::ObjectStore;

/// What an invocation needs, built once per container.
pub struct Consumer<S> {
    pub store: S,
    pub outputs: Outputs,
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
    let decoded = decode(messages)?;
    for Rejected { message_id, line, reason, .. } in &decoded.rejected {
        warn!(
            message_id,
            line,
            field = reason.field(),
            problem = reason.problem().as_str(),
            detail = reason.detail(),
            "message rejected"
        );
    }
    let stop_at =
        Instant::now() + deadline::until_stop(event.context.deadline, consumer.deadline_margin, SystemTime::now());
    let mut rng: StdRng = rand::make_rng();
    let now = chrono::Utc::now();
    let ingested = ingest(&consumer.store, &consumer.outputs, &decoded, now, stop_at, &mut rng).await;

    let counts = Counts {
        messages: messages.len() as u64,
        records: (decoded.accepted.len() + decoded.rejected.len()) as u64,
        rejected: decoded.rejected.len() as u64,
        appended: ingested.appended.appended,
        duplicates: ingested.appended.duplicates,
        partitioned: ingested.partitioned,
        failed_messages: ingested.failed.len() as u64,
        retries: ingested.appended.retries,
    };
    info!(
        messages = counts.messages,
        records = counts.records,
        rejected = counts.rejected,
        rejected_written = ingested.rejected_written,
        appended = counts.appended,
        duplicates = counts.duplicates,
        partitioned = counts.partitioned,
        partition_objects = ingested.partition_objects,
        failed_messages = counts.failed_messages,
        retries = counts.retries,
        composed = ingested.appended.composed,
        sealed = ingested.appended.sealed,
        out_of_time = ingested.out_of_time,
        "batch done"
    );
    let emf =
        counts.emf(consumer.metrics, &consumer.metrics_namespace, &consumer.function_name, now.timestamp_millis());
    // EMF must be a line of its own on standard output, not wrapped in a log record.
    println!("{emf}");

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
