//! The SQS adapter of [`MessageQueue`]: the only code that calls SendMessageBatch.

use std::collections::HashSet;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchError;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use shared::aws::describe_error;

use super::queue::{EntryFailure, MessageQueue, OutgoingMessage, SendError};

/// Error codes of a whole SendMessageBatch call that a later attempt may not meet.
const TRANSIENT_CODES: &[&str] =
    &["RequestThrottled", "ThrottlingException", "Throttling", "ServiceUnavailable", "InternalError", "KmsThrottled"];

/// One SQS queue, addressed by its URL.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    /// The queue at `queue_url`, reached through `client`.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self { client, queue_url: queue_url.into() }
    }
}

impl MessageQueue for SqsQueue {
    async fn send_batch(&self, messages: &[OutgoingMessage]) -> Result<Vec<EntryFailure>, SendError> {
        let entries = messages
            .iter()
            .map(|message| {
                let delay = i32::try_from(message.delay_seconds).ok().filter(|delay| *delay > 0);
                SendMessageBatchRequestEntry::builder()
                    .id(&message.id)
                    .message_body(&message.body)
                    .set_delay_seconds(delay)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| SendError {
                message: format!("cannot build a SendMessageBatch entry: {error}"),
                retryable: false,
                source: Some(error.into()),
            })?;
        let output = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|error| call_error(&self.queue_url, error))?;

        let mut failures: Vec<EntryFailure> = output
            .failed()
            .iter()
            .map(|failed| EntryFailure {
                id: failed.id().to_owned(),
                code: failed.code().to_owned(),
                retryable: !failed.sender_fault(),
            })
            .collect();
        // SQS lists every entry as successful or failed; one it lists in neither was not confirmed.
        let answered: HashSet<&str> = output
            .successful()
            .iter()
            .map(|entry| entry.id())
            .chain(output.failed().iter().map(|entry| entry.id()))
            .collect();
        failures.extend(
            messages.iter().filter(|message| !answered.contains(message.id.as_str())).map(|message| EntryFailure {
                id: message.id.clone(),
                code: "NotConfirmed".into(),
                retryable: true,
            }),
        );
        Ok(failures)
    }
}

fn call_error(queue_url: &str, error: SdkError<SendMessageBatchError, HttpResponse>) -> SendError {
    let retryable = match &error {
        SdkError::ServiceError(service) => {
            service.raw().status().is_server_error()
                || service.err().code().is_some_and(|code| TRANSIENT_CODES.contains(&code))
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        _ => false,
    };
    SendError {
        message: format!("SendMessageBatch to {queue_url} failed: {}", describe_error(&error)),
        retryable,
        source: Some(Box::new(error)),
    }
}
