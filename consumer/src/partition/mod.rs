//! The partitioned path: records as NDJSON objects under `PREFIX/dt=YYYY-MM-DD/`, one object per
//! date per batch, named after the batch's messages so a retried batch overwrites its own object. At most
//! `concurrency` writes are on their way at once, however many dates a batch holds.

mod object;

pub(crate) use object::NAMESPACE;
pub(crate) use object::encode;
pub use object::object_key;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use futures::StreamExt;
use tracing::warn;

use crate::store::{Content, Expect, Metadata, ObjectStore, PutRequest};

/// How the partitioned path is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionOptions {
    /// Empty or ending with `/`.
    pub prefix: String,
    pub gzip: bool,
    /// Partition objects written at once (at least 1).
    pub concurrency: usize,
}

/// Partition objects written at once unless set: enough to hide S3's latency for the few dates a batch
/// usually holds, and a bound for a batch of a thousand dates.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// One record on its way to a partition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    pub(crate) message_id: &'a str,
    /// The UTC date of the record's `accessed_at`.
    pub(crate) date: NaiveDate,
    pub(crate) json: &'a [u8],
}

/// What the partitioned path did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Partitioned {
    pub(crate) records: u64,
    pub(crate) objects: u64,
    /// Positions in the entries of the records whose partition could not be written.
    pub(crate) failed: Vec<usize>,
}

/// Writes each date's records to its own object, `options.concurrency` objects at a time.
pub(crate) async fn write_partitions<S: ObjectStore>(
    store: &S,
    options: &PartitionOptions,
    entries: &[Entry<'_>],
) -> Partitioned {
    let mut by_date: BTreeMap<NaiveDate, Vec<(usize, &Entry)>> = BTreeMap::new();
    for (position, entry) in entries.iter().enumerate() {
        by_date.entry(entry.date).or_default().push((position, entry));
    }
    let content = Content {
        content_type: "application/x-ndjson",
        content_encoding: if options.gzip { Some("gzip") } else { None },
    };
    let writes = by_date.into_iter().map(|(date, entries)| async move {
        let key = object_key(&options.prefix, date, entries.iter().map(|(_, entry)| entry.message_id), options.gzip);
        let result = match encode(entries.iter().map(|(_, entry)| entry.json), options.gzip) {
            Ok(body) => store
                .put(PutRequest { key: &key, body, content, expect: Expect::Any, metadata: Metadata::new() })
                .await
                .map_err(|error| error.to_string()),
            Err(error) => Err(format!("compressing {key} failed: {error}")),
        };
        (entries, result)
    });
    let mut partitioned = Partitioned::default();
    let mut results = futures::stream::iter(writes).buffer_unordered(options.concurrency.max(1));
    while let Some((entries, result)) = results.next().await {
        match result {
            Ok(()) => {
                partitioned.objects += 1;
                partitioned.records += entries.len() as u64;
            }
            Err(error) => {
                warn!(error, messages = entries.len(), "partition write failed; its messages are reported failed");
                partitioned.failed.extend(entries.iter().map(|(position, _)| *position));
            }
        }
    }
    partitioned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    fn date(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, day).expect("valid date")
    }

    fn options() -> PartitionOptions {
        PartitionOptions { prefix: "lake/user_sessions/".into(), gzip: false, concurrency: DEFAULT_CONCURRENCY }
    }

    const JSON: &[u8] = br#"{"n":1}"#;

    #[tokio::test]
    async fn records_are_grouped_by_date_into_one_object_each() {
        let store = MemoryStore::default();
        let entries = [
            Entry { message_id: "m1", date: date(25), json: JSON },
            Entry { message_id: "m2", date: date(26), json: JSON },
            Entry { message_id: "m3", date: date(25), json: JSON },
        ];
        let partitioned = write_partitions(&store, &options(), &entries).await;
        assert_eq!((partitioned.records, partitioned.objects), (3, 2));
        assert!(partitioned.failed.is_empty());
        let keys = store.keys();
        assert_eq!(keys.len(), 2);
        assert!(keys[0].starts_with("lake/user_sessions/dt=2026-11-25/") && keys[0].ends_with(".ndjson"));
        assert!(keys[1].starts_with("lake/user_sessions/dt=2026-11-26/"));
        assert_eq!(store.object(&keys[0]), Some(b"{\"n\":1}\n{\"n\":1}\n".to_vec()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_thousand_dates_are_written_at_most_concurrency_at_a_time() {
        let latency =
            crate::store::memory::Latency { request: std::time::Duration::from_millis(20), copy_bytes_per_second: 1e9 };
        let store = MemoryStore::with_latency(latency);
        let ids: Vec<String> = (0..1_000).map(|n| format!("m{n}")).collect();
        let first = date(1);
        let entries: Vec<Entry> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| Entry { message_id: id, date: first + chrono::Days::new(n as u64), json: JSON })
            .collect();
        let partitioned = write_partitions(&store, &options(), &entries).await;
        assert_eq!((partitioned.objects, partitioned.failed.len()), (1_000, 0));
        assert_eq!(store.most_requests_at_once(), DEFAULT_CONCURRENCY as u64);
    }

    #[tokio::test]
    async fn a_retried_batch_overwrites_its_own_objects() {
        let store = MemoryStore::default();
        let entries = [Entry { message_id: "m1", date: date(25), json: JSON }];
        write_partitions(&store, &options(), &entries).await;
        write_partitions(&store, &options(), &entries).await;
        assert_eq!(store.keys().len(), 1);
    }

    #[tokio::test]
    async fn a_failed_write_fails_exactly_the_messages_of_its_partition() {
        let store = MemoryStore::default();
        store.fail_writes_to("dt=2026-11-26");
        let entries = [
            Entry { message_id: "m1", date: date(25), json: JSON },
            Entry { message_id: "m2", date: date(26), json: JSON },
            Entry { message_id: "m3", date: date(26), json: JSON },
        ];
        let partitioned = write_partitions(&store, &options(), &entries).await;
        assert_eq!(partitioned.failed, [1, 2]);
        assert_eq!((partitioned.records, partitioned.objects), (1, 1));
    }
}
