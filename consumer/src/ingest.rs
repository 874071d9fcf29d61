//! The consumer's core, which knows nothing of Lambda: accepted records go to every configured output
//! at once, and a message counts as written only when every output holds it.

use std::collections::HashSet;

use tracing::{error, warn};

use crate::append::{AppendOptions, Appended, Line, append};
use crate::decode::Accepted;
use crate::partition::{Entry, PartitionOptions, Partitioned, write_partitions};
use crate::store::ObjectStore;

/// Which outputs are on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    pub append: Option<AppendOptions>,
    pub partition: Option<PartitionOptions>,
}

/// What became of a batch's accepted records.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ingested<'a> {
    pub appended: Appended,
    pub partitioned: u64,
    pub partition_objects: u64,
    /// Messages not durably in every output, in batch order.
    pub failed: Vec<&'a str>,
}

/// Writes `accepted` to the outputs.
pub async fn ingest<'a, S: ObjectStore>(store: &S, outputs: &Outputs, accepted: &[Accepted<'a>]) -> Ingested<'a> {
    let mut encoded: Vec<(&Accepted<'a>, Vec<u8>)> = Vec::with_capacity(accepted.len());
    let mut failed = HashSet::new();
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
        let lines: Vec<Line> =
            encoded.iter().map(|(message, json)| Line { unique_id: message.record.unique_id, json }).collect();
        append(store, options, &lines).await
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
    let (appended, partitioned) = tokio::join!(appending, partitioning);

    let appended = appended.unwrap_or_else(|cause| {
        error!(error = %cause, messages = encoded.len(), "append failed; the batch's records are reported failed");
        failed.extend(encoded.iter().map(|(message, _)| message.message_id));
        Appended::default()
    });
    failed.extend(
        partitioned.failed.iter().filter_map(|position| encoded.get(*position)).map(|(message, _)| message.message_id),
    );
    let failed = accepted.iter().map(|message| message.message_id).filter(|id| failed.contains(id)).collect();
    Ingested { appended, partitioned: partitioned.records, partition_objects: partitioned.objects, failed }
}
