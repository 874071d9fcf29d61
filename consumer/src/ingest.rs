//! The consumer's core, which knows nothing of Lambda: accepted records go to every configured output
//! at once, invalid ones to the error output, and a message counts as written only when every output
//! holds each of its records.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::time::{Instant, sleep_until};
use tracing::{error, warn};

use crate::append::{AppendError, AppendOptions, Appended, Line, append};
use crate::decode::{Accepted, Decoded};
use crate::error_output::{ErrorOutputOptions, ErrorsWritten, write_errors};
use crate::partition::{Entry, PartitionOptions, Partitioned, write_partitions};
use crate::store::ObjectStore;

/// Which outputs are on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    pub append: Option<AppendOptions>,
    pub partition: Option<PartitionOptions>,
    /// Where invalid records go; without it their messages are reported failed, and so reach the
    /// dead-letter queue whole.
    pub errors: Option<ErrorOutputOptions>,
}

/// What became of a batch's accepted records.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Ingested<'a> {
    pub(crate) appended: Appended,
    pub(crate) partitioned: u64,
    pub(crate) partition_objects: u64,
    /// Invalid records written to the error output.
    pub(crate) rejected_written: u64,
    /// Messages not durably in every output.
    pub(crate) failed: HashSet<&'a str>,
    /// Writes were cut off at `stop_at`, so their messages are among the failed.
    pub(crate) out_of_time: bool,
}

/// Writes the accepted records to the outputs and the rejected ones to the error output; `now` dates
/// error objects that lack SQS's sent time, and `rng` draws the jitter of retries. Writes not done by
/// `stop_at` are abandoned and their messages reported failed, so the invocation can answer before
/// Lambda times out the whole batch; none starts after it.
pub(crate) async fn ingest<'a, S: ObjectStore, R: Rng + Send + ?Sized>(
    store: &S,
    outputs: &Outputs,
    decoded: &Decoded<'a>,
    now: DateTime<Utc>,
    stop_at: Instant,
    rng: &mut R,
) -> Ingested<'a> {
    // Without an error output a message with an invalid record goes back to the queue, and on to the
    // dead-letter queue, whole: none of its records is written, so none is written twice on redelivery.
    let held_back: HashSet<&'a str> = match outputs.errors {
        Some(_) => HashSet::new(),
        None => decoded.rejected.iter().map(|rejected| rejected.message_id).collect(),
    };
    let accepted = decoded.accepted.iter().filter(|record| !held_back.contains(record.message_id));
    let mut encoded: Vec<(&Accepted<'a>, Vec<u8>)> = Vec::with_capacity(decoded.accepted.len());
    let mut failed = held_back.clone();
    for message in accepted {
        match message.record.to_json() {
            Ok(json) => encoded.push((message, json.into_bytes())),
            Err(error) => {
                warn!(message_id = message.message_id, error = %error, "cannot encode a record");
                failed.insert(message.message_id);
            }
        }
    }
    let appending = async {
        let Some(options) = &outputs.append else { return Ok(Appended::default()) };
        let lines: Vec<Line> = encoded
            .iter()
            .map(|(message, json)| Line {
                unique_id: message.record.unique_id,
                json,
                delivered_before: message.delivered_before,
                accessed_on: message.record.accessed_at.date(),
            })
            .collect();
        append(store, options, &lines, stop_at, rng).await
    };
    let partitioning = async {
        let Some(options) = &outputs.partition else { return Partitioned::default() };
        let entries: Vec<Entry> = encoded
            .iter()
            .map(|(message, json)| Entry {
                message_id: message.message_id,
                date: message.record.accessed_at.date(),
                json,
            })
            .collect();
        write_partitions(store, options, &entries).await
    };
    let rejecting = async {
        match &outputs.errors {
            Some(options) => write_errors(store, options, &decoded.rejected, now).await,
            None => ErrorsWritten::default(),
        }
    };
    // The append stops itself at `stop_at`, so it can release what it holds (an open multipart upload).
    let (appended, partitioned, errors) =
        tokio::join!(appending, before(stop_at, partitioning), before(stop_at, rejecting));
    let appended = match appended {
        Err(AppendError::OutOfTime { .. }) => None,
        appended => Some(appended),
    };
    let out_of_time = appended.is_none() || partitioned.is_none() || errors.is_none();
    let errors = errors.unwrap_or_else(|| ErrorsWritten {
        failed: decoded.rejected.iter().map(|rejected| rejected.message_id).collect(),
        ..ErrorsWritten::default()
    });
    failed.extend(errors.failed.iter().copied());
    if out_of_time {
        warn!(messages = encoded.len(), "writes cut off before the deadline; their messages are reported failed");
    }

    let every_message = || encoded.iter().map(|(message, _)| message.message_id);
    let appended = match appended {
        Some(Ok(appended)) => appended,
        Some(Err(cause)) => {
            error!(error = %cause, messages = encoded.len(), "append failed; the batch's records are reported failed");
            failed.extend(every_message());
            Appended::default()
        }
        None => {
            failed.extend(every_message());
            Appended::default()
        }
    };
    let partitioned = partitioned.unwrap_or_else(|| {
        failed.extend(every_message());
        Partitioned::default()
    });
    failed.extend(
        partitioned.failed.iter().filter_map(|position| encoded.get(*position)).map(|(message, _)| message.message_id),
    );
    Ingested {
        appended,
        partitioned: partitioned.records,
        partition_objects: partitioned.objects,
        rejected_written: errors.records,
        failed,
        out_of_time,
    }
}

/// `work`'s output, or `None` when `stop_at` comes first; a `stop_at` already passed starts nothing.
async fn before<T>(stop_at: Instant, work: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        biased;
        () = sleep_until(stop_at) => None,
        output = work => Some(output),
    }
}
