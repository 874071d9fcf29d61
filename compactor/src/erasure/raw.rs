//! Records of erased persons removed from one object of the raw bucket: the live array or a segment (a JSON
//! array), a landing object (NDJSON, perhaps gzip) or an error output object (a header, then `code<TAB>text`
//! a refused record). The object is read a chunk at a time, the records found are blanked (`blank`), and it
//! is written again by the parts `rewrite_plan` gives, only if it is still the version read: a writer that
//! came between (the consumer appending) makes it read again. An array written again carries a new
//! `revision`, which the consumer keeps and compares, so an upload it left open on the old bytes is not
//! completed over the new ones.

use std::collections::BTreeMap;
use std::io::Write;

use bytes::{Bytes, BytesMut};
use flate2::Compression;
use flate2::write::GzEncoder;
use uuid::Uuid;

use super::blank::{ArrayScanner, Blanking, blank, lines_to_blank};
use super::person::Matcher;
use super::rewrite_plan::{PlannedPart, TooManyParts, WHOLE_OBJECT_BYTES, plan};
use crate::lake::landing::inflate;
use crate::store::{Head, LakeStore, NewPart, Rewrite, StoreError};

/// The metadata an array or segment written again by an erasure carries: an id of that writing.
pub const REVISION_METADATA: &str = "revision";
/// Bytes read at a time from a large object.
const CHUNK_BYTES: u64 = 8 << 20;
/// How long attempts at one object lost to writers that came between go on, and the wait before the next,
/// times the attempts made (at most ten times): a busy live array is appended to every few hundred
/// milliseconds, and each attempt after the first reads only what was appended.
const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(60);
const RETRY_WAIT: std::time::Duration = std::time::Duration::from_millis(50);
/// The most a gzip landing object inflates to here: far beyond a batch's, and bounded.
const MAX_INFLATED_BYTES: u64 = 512 << 20;

/// What an object holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// The live array or a sealed segment.
    Array,
    /// A landing object.
    Ndjson,
    /// An object of the error output.
    ErrorOutput,
}

/// Why an object could not be erased from.
#[derive(Debug, thiserror::Error)]
pub enum RawError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    TooManyParts(#[from] TooManyParts),
    #[error("{key} is not valid gzip: {source}")]
    Gzip {
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{key} inflates beyond {MAX_INFLATED_BYTES} bytes")]
    TooLarge { key: String },
    #[error("{key} changed under every attempt for {} s; left for the next run", RETRY_FOR.as_secs())]
    Contended { key: String },
}

/// Records removed from one object, by person; empty when it held none of theirs.
pub(crate) type Removed = BTreeMap<usize, u64>;

/// Removes from the object `key` the records `matcher` names, and says how many of each person's.
pub(crate) async fn erase<S: LakeStore>(
    raw: &S,
    key: &str,
    format: Format,
    matcher: &Matcher<'_>,
) -> Result<Removed, RawError> {
    let mut resume = None;
    let began = std::time::Instant::now();
    for attempt_number in 0.. {
        if began.elapsed() >= RETRY_FOR {
            break;
        }
        let Some(head) = raw.head(key).await? else { return Ok(Removed::new()) };
        match attempt(raw, key, &head, format, matcher, &mut resume).await {
            Err(RawError::Store(StoreError::Changed { .. })) => {
                // A consumer appended meanwhile: the next attempt reads only what it added.
                tokio::time::sleep(RETRY_WAIT * (attempt_number + 1).min(10)).await;
            }
            result => return result,
        }
    }
    Err(RawError::Contended { key: key.to_owned() })
}

/// What an attempt at a large live array or segment learnt, for the next: the array (by the id the consumer
/// labels it with) was read through `through`, the end of its last record. Versions of one array only grow
/// past that (the consumer keeps every byte up to its last record, and an erasure keeps every offset), so
/// the next attempt reads on from there.
struct Resume {
    array: String,
    through: u64,
    finder: Finder,
}

/// Bytes of the last record read that a resumed attempt checks are still there.
const LAST_TAIL_BYTES: usize = 64;
/// The consumer's label of a live array's id (its `array` metadata).
const ARRAY_ID_METADATA: &str = "array";

async fn attempt<S: LakeStore>(
    raw: &S,
    key: &str,
    head: &Head,
    format: Format,
    matcher: &Matcher<'_>,
    resume: &mut Option<Resume>,
) -> Result<Removed, RawError> {
    if key.ends_with(".gz") {
        return erase_gzip(raw, key, head, matcher).await;
    }
    let whole = head.size <= WHOLE_OBJECT_BYTES;
    let mut kept_whole = Vec::new();
    let array = head.metadata.get(ARRAY_ID_METADATA).filter(|_| format == Format::Array && !whole);
    let (mut finder, mut offset) = match resume.take() {
        Some(earlier) if array == Some(&earlier.array) && earlier.through <= head.size => {
            // The last record read must still end there: a writer that cut the array shorter (after another
            // run blanked its last records) would have written other records over those bytes.
            let tail = &earlier.finder.last_tail;
            let at = earlier.through - tail.len() as u64;
            if raw.get_version_range(key, &head.etag, at..earlier.through).await?.as_ref() == tail.as_slice() {
                (earlier.finder, earlier.through)
            } else {
                (Finder::new(format), 0)
            }
        }
        _ => (Finder::new(format), 0),
    };
    // The bytes from the first not yet decided, so a record cut by a chunk's end is read whole.
    let mut pending = BytesMut::new();
    let mut pending_from = offset;
    while offset < head.size {
        let end = (offset + CHUNK_BYTES).min(head.size);
        let chunk = raw.get_version_range(key, &head.etag, offset..end).await?;
        if whole {
            kept_whole.extend_from_slice(&chunk);
        }
        pending.extend_from_slice(&chunk);
        let keep_from = finder.feed(&pending, pending_from, offset, &chunk, end == head.size, matcher);
        let drop = (keep_from - pending_from) as usize;
        let _ = pending.split_to(drop.min(pending.len()));
        pending_from = keep_from;
        offset = end;
    }
    if let Some(array) = array {
        *resume = Some(Resume { array: array.clone(), through: finder.through, finder: finder.resumable() });
    }
    let Finder { ranges, removed, .. } = finder;
    if ranges.is_empty() {
        return Ok(removed);
    }
    let mut metadata = head.metadata.clone();
    if format == Format::Array {
        metadata.insert(REVISION_METADATA.to_owned(), Uuid::new_v4().simple().to_string());
    }
    let mut parts = Vec::new();
    for part in plan(head.size, &ranges)? {
        parts.push(match part {
            PlannedPart::Copy(range) => NewPart::Copy(range),
            PlannedPart::Upload(range) => {
                let mut bytes = if whole {
                    kept_whole[range.start as usize..range.end as usize].to_vec()
                } else {
                    raw.get_version_range(key, &head.etag, range.clone()).await?.to_vec()
                };
                blank(&mut bytes, range.start, &ranges);
                NewPart::Bytes(Bytes::from(bytes))
            }
        });
    }
    raw.rewrite(key, Rewrite { head, parts, metadata }).await?;
    Ok(removed)
}

/// A gzip landing object: inflated, its lines blanked, deflated again and written whole.
async fn erase_gzip<S: LakeStore>(raw: &S, key: &str, head: &Head, matcher: &Matcher<'_>) -> Result<Removed, RawError> {
    let packed = raw.get_version_range(key, &head.etag, 0..head.size).await?;
    let mut text = Vec::new();
    inflate(&packed, MAX_INFLATED_BYTES, &mut text).map_err(|source| RawError::Gzip { key: key.to_owned(), source })?;
    if text.len() as u64 > MAX_INFLATED_BYTES {
        return Err(RawError::TooLarge { key: key.to_owned() });
    }
    let mut removed = Removed::new();
    let ranges = lines_to_blank(&text, |line| count(&mut removed, matcher.record(line)));
    if ranges.is_empty() {
        return Ok(removed);
    }
    blank(&mut text, 0, &ranges);
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    let packed = encoder
        .write_all(&text)
        .and_then(|()| encoder.finish())
        .map_err(|source| RawError::Gzip { key: key.to_owned(), source })?;
    let parts = vec![NewPart::Bytes(Bytes::from(packed))];
    raw.rewrite(key, Rewrite { head, parts, metadata: head.metadata.clone() }).await?;
    Ok(removed)
}

/// Adds `persons`' records to `removed`; whether there were any.
fn count(removed: &mut Removed, persons: Vec<usize>) -> bool {
    for person in &persons {
        *removed.entry(*person).or_default() += 1;
    }
    !persons.is_empty()
}

/// Finds the records to blank in an object read in order.
#[derive(Debug, Clone)]
struct Finder {
    format: Format,
    scanner: ArrayScanner,
    blanking: Blanking,
    /// Ranges to blank, found so far, in order.
    ranges: Vec<std::ops::Range<u64>>,
    removed: Removed,
    /// Where the last element of an array read ends (0: none yet), and its last bytes (its id among them).
    through: u64,
    last_tail: Vec<u8>,
}

impl Finder {
    fn new(format: Format) -> Self {
        Self {
            format,
            scanner: ArrayScanner::default(),
            blanking: Blanking::default(),
            ranges: Vec::new(),
            removed: Removed::new(),
            through: 0,
            last_tail: Vec::new(),
        }
    }

    /// This finder as it was at the end of the array's last element, to read on from there: between two
    /// elements, all it found kept. With no element read, it starts over.
    fn resumable(&self) -> Self {
        if self.through == 0 {
            return Self::new(self.format);
        }
        Self { scanner: ArrayScanner::between_elements(), ..self.clone() }
    }

    /// Reads `pending` (the object's bytes from `pending_from` on, `chunk` from `offset` on its last ones)
    /// and answers from where the bytes are still needed.
    fn feed(
        &mut self,
        pending: &[u8],
        pending_from: u64,
        offset: u64,
        chunk: &[u8],
        last: bool,
        matcher: &Matcher<'_>,
    ) -> u64 {
        match self.format {
            Format::Array => {
                for element in self.scanner.feed(chunk, offset) {
                    let text = &pending[(element.span.start - pending_from) as usize..]
                        [..(element.span.end - element.span.start) as usize];
                    let keep = !count(&mut self.removed, matcher.record(text));
                    self.blanking.element(&element, keep);
                    self.through = element.span.end;
                    self.last_tail = text[text.len().saturating_sub(LAST_TAIL_BYTES)..].to_vec();
                }
                self.ranges.append(&mut self.blanking.ranges);
                self.scanner.open_since().unwrap_or(offset + chunk.len() as u64)
            }
            // An error output object is at most about twice a message: read whole, then decided.
            Format::ErrorOutput if !last => pending_from,
            Format::Ndjson | Format::ErrorOutput => {
                // Whole lines only, but for the object's last bytes.
                let through = if last {
                    pending.len()
                } else {
                    pending.iter().rposition(|byte| *byte == b'\n').map_or(0, |at| at + 1)
                };
                let text = &pending[..through];
                let found = if self.format == Format::Ndjson {
                    lines_to_blank(text, |line| count(&mut self.removed, matcher.record(line)))
                } else {
                    self.refused_records(text, matcher)
                };
                self.ranges.extend(found.into_iter().map(|range| range.start + pending_from..range.end + pending_from));
                pending_from + through as u64
            }
        }
    }

    /// The refused records of an error output object `text` (whole) to blank: each line's after the header,
    /// or in the `document` layout everything after the first tab (the one record, which may span lines).
    fn refused_records(&mut self, text: &[u8], matcher: &Matcher<'_>) -> Vec<std::ops::Range<u64>> {
        let start = text.iter().position(|byte| *byte == b'\n').map_or(text.len(), |at| at + 1);
        let document = serde_json::from_slice::<serde_json::Value>(text[..start].trim_ascii())
            .ok()
            .is_some_and(|header| header.get("layout").and_then(serde_json::Value::as_str) == Some("document"));
        let rest = &text[start..];
        if document {
            let Some(tab) = rest.iter().position(|byte| *byte == b'\t') else { return Vec::new() };
            let body = rest[tab + 1..].strip_suffix(b"\n").unwrap_or(&rest[tab + 1..]);
            if !count(&mut self.removed, matcher.refused_text(body)) {
                return Vec::new();
            }
            let from = (start + tab + 1) as u64;
            return std::iter::once(from..from + body.len() as u64).collect();
        }
        // A record's code and tab stay, so the object keeps its layout; its text goes.
        lines_to_blank(rest, |line| {
            let text = line.iter().position(|byte| *byte == b'\t').map_or(line, |tab| &line[tab + 1..]);
            count(&mut self.removed, matcher.refused_text(text))
        })
        .into_iter()
        .map(|range| {
            let line = &rest[range.start as usize..range.end as usize];
            let text_from = line.iter().position(|byte| *byte == b'\t').map_or(0, |tab| tab + 1) as u64;
            range.start + text_from + start as u64..range.end + start as u64
        })
        .collect()
    }
}
