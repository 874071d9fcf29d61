//! Records of erased persons removed from one object of the raw bucket: the live array or a segment (a JSON
//! array), a landing object (NDJSON, perhaps gzip) or an error output object (a header, then `code<TAB>text`
//! a refused record). The object is read a chunk at a time, the records found are blanked (`blank`), and it
//! is written again by the parts `rewrite_plan` gives, only if it is still the version read: a writer that
//! came between (the consumer appending) makes it read again. An array written again carries a new
//! `revision`, which the consumer keeps and compares, so an upload it left open on the old bytes is not
//! completed over the new ones.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use bytes::{Bytes, BytesMut};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use uuid::Uuid;

use super::blank::{ArrayScanner, Blanking, blank, lines_to_blank};
use super::person::Matcher;
use super::rewrite_plan::{PlannedPart, TooManyParts, WHOLE_OBJECT_BYTES, plan};
use crate::store::{Head, LakeStore, NewPart, Rewrite, StoreError};

/// The metadata an array or segment written again by an erasure carries: an id of that writing.
pub const REVISION_METADATA: &str = "revision";
/// Bytes read at a time from a large object.
const CHUNK_BYTES: u64 = 8 << 20;
/// Attempts at one object lost to writers that came between.
const MAX_ATTEMPTS: u32 = 8;
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
    #[error("{key} changed under each of {MAX_ATTEMPTS} attempts; left for the next run")]
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
    for _ in 0..MAX_ATTEMPTS {
        let Some(head) = raw.head(key).await? else { return Ok(Removed::new()) };
        match attempt(raw, key, &head, format, matcher).await {
            Err(RawError::Store(StoreError::Changed { .. })) => continue,
            result => return result,
        }
    }
    Err(RawError::Contended { key: key.to_owned() })
}

async fn attempt<S: LakeStore>(
    raw: &S,
    key: &str,
    head: &Head,
    format: Format,
    matcher: &Matcher<'_>,
) -> Result<Removed, RawError> {
    if key.ends_with(".gz") {
        return erase_gzip(raw, key, head, matcher).await;
    }
    let whole = head.size <= WHOLE_OBJECT_BYTES;
    let mut kept_whole = Vec::new();
    let mut finder = Finder::new(format);
    let mut offset = 0;
    // The bytes from the first not yet decided, so a record cut by a chunk's end is read whole.
    let mut pending = BytesMut::new();
    let mut pending_from = 0;
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
    GzDecoder::new(packed.as_ref())
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|source| RawError::Gzip { key: key.to_owned(), source })?;
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
struct Finder {
    format: Format,
    scanner: ArrayScanner,
    blanking: Blanking,
    /// Ranges to blank, found so far, in order.
    ranges: Vec<std::ops::Range<u64>>,
    removed: Removed,
}

impl Finder {
    fn new(format: Format) -> Self {
        Self {
            format,
            scanner: ArrayScanner::default(),
            blanking: Blanking::default(),
            ranges: Vec::new(),
            removed: Removed::new(),
        }
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
        lines_to_blank(rest, |line| {
            let text = line.iter().position(|byte| *byte == b'\t').map_or(line, |tab| &line[tab + 1..]);
            count(&mut self.removed, matcher.refused_text(text))
        })
        .into_iter()
        .map(|range| range.start + start as u64..range.end + start as u64)
        .collect()
    }
}
