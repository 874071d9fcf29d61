//! The append path: records added to the JSON array `streaming_data.json` with no lost update under
//! any number of concurrent writers, a cost per append independent of the array's size, no record
//! appended twice when SQS delivers it again, and the array sealed into numbered segments once full.
//!
//! Each attempt reads the end of the live array (and its ETag), lets `plan` decide, and writes
//! conditionally: `If-None-Match: *` to create, `If-Match` to continue or replace. A write that loses
//! a race is retried, reading only what was appended since, until the invocation's time runs out.
//! Every write carries the range of days of the array's records (`segments::Days`), widened from the
//! version it replaces, so no writer's days are lost either.

mod dedup;
mod plan;
mod seal;
mod segments;
mod splice;

use plan::{Action, Known, Read, plan};
pub use segments::segment_key;
use segments::{Label, keep_revision, read_days};
pub use splice::{SpliceError, new_array};

use std::collections::HashSet;
use std::time::Duration;

use chrono::NaiveDate;
use rand::Rng;
use shared::backoff::Backoff;
use tokio::time::Instant;
use tracing::debug;
use uuid::Uuid;

use crate::store::{Expect, JSON, ObjectStore, PutRequest, ReadRange, StoreError, Tail};

/// How the append path is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendOptions {
    pub key: String,
    /// Bytes at the end of the array searched for records already there.
    pub dedup_window_bytes: u64,
    /// Bytes searched instead when a record was delivered before: SQS gives a message again after its
    /// visibility timeout, by which time its record may lie far back in the array.
    pub redelivery_window_bytes: u64,
    /// The size at which the live array is sealed as a segment and a new one started; `None` never.
    pub rollover_bytes: Option<u64>,
}

/// One record to append: its encoded JSON, its unique id, whether its message was delivered before, and
/// the day of its `accessed_at`, which the array's range of days must cover.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub unique_id: Uuid,
    pub json: &'a [u8],
    pub delivered_before: bool,
    pub accessed_on: NaiveDate,
}

/// What an append did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub appended: u64,
    /// Records skipped because the history (or the batch itself) already held them.
    pub duplicates: u64,
    /// Attempts lost to concurrent writers and made again.
    pub retries: u64,
    /// Whether the object was composed on the store's side.
    pub composed: bool,
    /// Whether this append sealed the live array as a segment.
    pub sealed: bool,
}

/// Why the records could not be appended; none of them was.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("{key}: {source}")]
    Corrupt {
        key: String,
        #[source]
        source: SpliceError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{key}: {attempts} attempts lost to concurrent writers before the invocation's deadline")]
    Contention { key: String, attempts: u64 },
    /// A read answers that the object is missing while its creation is refused because it exists.
    #[error("{key} exists but reads as missing: the function's role may lack s3:GetObject on it")]
    Unreadable { key: String },
    /// The invocation's time ran out during an attempt; what it had begun is undone or left to be found.
    #[error("{key}: the invocation's deadline came before the append was done")]
    OutOfTime { key: String },
    /// The segment numbers from the live array's on are taken by other arrays' segments.
    #[error("{key}: segments {from} to {to} all belong to other arrays; the live array cannot be sealed")]
    NoSegmentFree { key: String, from: u64, to: u64 },
}

/// The wait before another attempt after a lost race: full jitter over a doubling bound, so writers
/// that collided spread out.
const BACKOFF: Backoff = Backoff { base: Duration::from_millis(40), max: Duration::from_millis(250) };

/// Appends `lines` that the history does not hold yet, retrying lost races until `stop_at`, where it
/// stops whatever it is doing and releases what the store holds for it (an open upload); `rng` draws the
/// backoff's jitter.
pub async fn append<S: ObjectStore, R: Rng + Send + ?Sized>(
    store: &S,
    options: &AppendOptions,
    lines: &[Line<'_>],
    stop_at: Instant,
    rng: &mut R,
) -> Result<Appended, AppendError> {
    if lines.is_empty() {
        return Ok(Appended::default());
    }
    let mut distinct = HashSet::with_capacity(lines.len());
    let unique: Vec<&Line> = lines.iter().filter(|line| distinct.insert(line.unique_id)).collect();
    let batch_duplicates = (lines.len() - unique.len()) as u64;
    let mut search = Search::default();
    let mut session = S::Session::default();
    let mut retries = 0;
    let result = loop {
        let attempted = tokio::time::timeout_at(stop_at, attempt(store, options, &unique, &mut search, &mut session));
        let Ok(attempted) = attempted.await else {
            break Err(AppendError::OutOfTime { key: options.key.clone() });
        };
        match attempted {
            Ok(mut appended) => {
                appended.retries = retries;
                appended.duplicates += batch_duplicates;
                break Ok(appended);
            }
            Err(AppendError::Store(error)) if error.is_contention() => {
                retries += 1;
                let wait = BACKOFF.wait(u32::try_from(retries - 1).unwrap_or(u32::MAX), rng);
                debug!(attempt = retries, key = %options.key, "lost a race to a concurrent writer");
                if Instant::now() + wait >= stop_at {
                    break Err(AppendError::Contention { key: options.key.clone(), attempts: retries });
                }
                tokio::time::sleep(wait).await;
            }
            Err(error) => break Err(error),
        }
    };
    store.close(session).await;
    result
}

/// What the attempts of one append have learnt, so a retry reads only what is new.
#[derive(Debug, Default)]
struct Search {
    /// Ids found in the history so far.
    seen: HashSet<Uuid>,
    /// The live array last read, and where its bytes that later versions keep end.
    scanned: Option<(Label, u64)>,
    /// Where the last write put its records, had it landed: a write whose answer was lost may have.
    written: Option<Written>,
    /// A creation was refused because the object exists.
    creation_refused: bool,
}

#[derive(Debug)]
struct Written {
    label: Label,
    offset: u64,
    len: u64,
}

async fn attempt<S: ObjectStore>(
    store: &S,
    options: &AppendOptions,
    lines: &[&Line<'_>],
    search: &mut Search,
    session: &mut S::Session,
) -> Result<Appended, AppendError> {
    let key = options.key.as_str();
    let live = read_live(store, options, lines, search).await?;
    let label = live.as_ref().map(|tail| Label::read(&tail.metadata, &tail.etag));
    let (ours_at, ours_sealed) = match (&search.written, &label) {
        (Some(written), Some(label)) if written.label == *label => (Some(written.offset), HashSet::new()),
        // The array the last write went to was sealed since: its records, had it landed, are in the segment.
        (Some(written), _) => {
            let segment = segment_key(key, written.label.segment);
            let range = ReadRange::Span { offset: written.offset, len: written.len };
            let found = store.read(&segment, range).await?;
            (None, found.map(|tail| dedup::unique_ids(&tail.bytes)).unwrap_or_default())
        }
        (None, _) => (None, HashSet::new()),
    };
    let known = Known {
        live: live.as_ref().map(|tail| Read {
            bytes: &tail.bytes,
            offset: tail.offset,
            size: tail.size,
            days: read_days(&tail.metadata),
        }),
        seen: &search.seen,
        ours_at,
        ours_sealed: &ours_sealed,
        rollover_bytes: options.rollover_bytes,
    };
    let decision = plan(lines, known).map_err(|source| AppendError::Corrupt { key: key.to_owned(), source })?;
    let mut appended = Appended {
        appended: decision.fresh + decision.landed_before,
        duplicates: decision.duplicates,
        ..Appended::default()
    };
    search.seen.extend(ours_sealed);
    if let Some(tail) = &live {
        search.seen.extend(dedup::unique_ids(&tail.bytes));
    }
    // Within one array a retry reads from the first read's end on, so what it reads also covers what an
    // upload left open by a lost race copied; a new array is read from its own end.
    if let (Some(label), Some(end)) = (&label, decision.end)
        && search.scanned.as_ref().is_none_or(|(scanned, _)| scanned != label)
    {
        search.scanned = Some((label.clone(), end.keep));
    }
    match (decision.action, live.zip(label)) {
        (Action::Nothing, _) => {}
        (Action::Append { keep, suffix }, Some((tail, label))) => {
            search.written = Some(Written { label: label.clone(), offset: keep, len: suffix.len() as u64 });
            let metadata = keep_revision(label.metadata(decision.days), &tail.metadata);
            appended.composed = store.splice(session, key, &tail, keep, suffix, metadata).await?;
        }
        (Action::RollOver(body), Some((tail, label))) => {
            let number = seal::seal(store, key, &tail, &label).await?;
            let next = Label::new(number.saturating_add(1));
            search.written = Some(Written { label: next.clone(), offset: 0, len: body.len() as u64 });
            let expect = Expect::Version(tail.etag);
            store.put(PutRequest { key, body, content: JSON, expect, metadata: next.metadata(decision.days) }).await?;
            appended.sealed = true;
        }
        // The plan continues or rolls over only an array it was given.
        (Action::Append { .. } | Action::RollOver(_), None) => {}
        (Action::Create(body), _) => {
            // S3 reads its own writes: after a creation refused because the object exists, a read that
            // still finds nothing cannot read it (or it was deleted in between, and SQS retries the batch).
            if search.creation_refused {
                return Err(AppendError::Unreadable { key: key.to_owned() });
            }
            let label = Label::new(1);
            search.written = Some(Written { label: label.clone(), offset: 0, len: body.len() as u64 });
            let metadata = label.metadata(decision.days);
            let request = PutRequest { key, body, content: JSON, expect: Expect::Absent, metadata };
            let created = store.put(request).await;
            search.creation_refused = matches!(created, Err(StoreError::Changed { .. }));
            created?;
        }
    }
    Ok(appended)
}

/// Reads the live array: its last window on the first attempt (and the newest segment's end when the
/// array is shorter than the window), what follows the last read on later ones.
async fn read_live<S: ObjectStore>(
    store: &S,
    options: &AppendOptions,
    lines: &[&Line<'_>],
    search: &mut Search,
) -> Result<Option<Tail>, AppendError> {
    let key = options.key.as_str();
    let window = if search.scanned.is_none() && lines.iter().any(|line| line.delivered_before) {
        options.redelivery_window_bytes.max(options.dedup_window_bytes)
    } else {
        options.dedup_window_bytes
    };
    let Some((scanned, upto)) = &search.scanned else {
        // A creation whose answer was lost may have made an array longer than the window: read from where
        // it starts, so every record it may hold is seen.
        if let Some(written) = &search.written {
            let from = ReadRange::From { offset: written.offset, or_last: window };
            return Ok(store.read(key, from).await?);
        }
        return read_window(store, key, window, search).await;
    };
    // From the last byte kept, so the read shows where the array ends even when nothing followed.
    let from = ReadRange::From { offset: upto.saturating_sub(1), or_last: window };
    let Some(tail) = store.read(key, from).await? else { return Ok(None) };
    let label = Label::read(&tail.metadata, &tail.etag);
    if label == *scanned {
        return Ok(Some(tail));
    }
    // Sealed since the last read: what was appended after it is in the newest segment.
    if label.segment > 1 {
        let segment = segment_key(key, label.segment - 1);
        let from = ReadRange::From { offset: upto.saturating_sub(1), or_last: 0 };
        if let Some(sealed) = store.read(&segment, from).await? {
            search.seen.extend(dedup::unique_ids(&sealed.bytes));
        }
    }
    // The new array may be our own rollover whose answer was lost, longer than the window: read it from
    // where that write put its records.
    if let Some(written) = search.written.as_ref().filter(|written| written.label == label) {
        let from = ReadRange::From { offset: written.offset, or_last: options.dedup_window_bytes };
        return Ok(store.read(key, from).await?);
    }
    read_window(store, key, options.dedup_window_bytes, search).await
}

/// The live array's last `window` bytes, and the rest of the window from the ends of the segments
/// before it, newest first.
async fn read_window<S: ObjectStore>(
    store: &S,
    key: &str,
    window: u64,
    search: &mut Search,
) -> Result<Option<Tail>, AppendError> {
    let Some(tail) = store.read(key, ReadRange::Last(window)).await? else { return Ok(None) };
    let mut number = Label::read(&tail.metadata, &tail.etag).segment;
    let mut rest = if tail.is_whole() { window.saturating_sub(tail.size) } else { 0 };
    while rest > 0 && number > 1 {
        number -= 1;
        let Some(sealed) = store.read(&segment_key(key, number), ReadRange::Last(rest)).await? else { break };
        search.seen.extend(dedup::unique_ids(&sealed.bytes));
        rest = if sealed.is_whole() { rest.saturating_sub(sealed.size) } else { 0 };
    }
    Ok(Some(tail))
}

#[cfg(test)]
mod tests;
