//! An in-memory S3 for tests and benchmarks: conditional writes, ranged reads and multipart uploads
//! with S3's rules enforced (part sizes, part numbers, the ETag guards), objects of any size held as
//! runs of blanks and shared byte slices, and optional per-request latency and copy rate.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::parts::{MAX_PART_BYTES, MAX_PARTS, MIN_PART_BYTES};
use super::s3_api::{Completion, GetRange, PartCopy};
use super::{Content, Expect, Metadata, PutRequest, S3Api, StoreError, Tail};

/// The bytes of an object: shared slices and runs of spaces, so a copy costs no memory and a test can
/// hold a 60 GiB array whose end alone is real.
#[derive(Debug, Clone, Default)]
struct Rope {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    Bytes(Arc<Vec<u8>>, Range<usize>),
    Blank(u64),
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Piece::Bytes(_, range) => range.len() as u64,
            Piece::Blank(len) => *len,
        }
    }
}

impl Rope {
    fn from_bytes(bytes: Vec<u8>) -> Self {
        let len = bytes.len();
        Self { pieces: vec![Piece::Bytes(Arc::new(bytes), 0..len)] }
    }

    fn len(&self) -> u64 {
        self.pieces.iter().map(Piece::len).sum()
    }

    fn extend(&mut self, other: Rope) {
        for piece in other.pieces {
            self.push(piece);
        }
    }

    /// Adds `piece`, merged with the last one when it continues it, so a rope copied part by part
    /// and joined again is as short as before.
    fn push(&mut self, piece: Piece) {
        match (self.pieces.last_mut(), piece) {
            (Some(Piece::Blank(last)), Piece::Blank(len)) => *last += len,
            (Some(Piece::Bytes(last, range)), Piece::Bytes(bytes, next))
                if Arc::ptr_eq(last, &bytes) && range.end == next.start =>
            {
                range.end = next.end;
            }
            (_, piece) => self.pieces.push(piece),
        }
    }

    /// The bytes in `range`, sharing this rope's.
    fn slice(&self, range: Range<u64>) -> Rope {
        let mut out = Rope::default();
        let mut start = 0;
        for piece in &self.pieces {
            let end = start + piece.len();
            let (from, to) = (range.start.max(start), range.end.min(end));
            if from < to {
                let (from, to) = (from - start, to - start);
                out.push(match piece {
                    Piece::Bytes(bytes, inner) => {
                        Piece::Bytes(bytes.clone(), inner.start + from as usize..inner.start + to as usize)
                    }
                    Piece::Blank(_) => Piece::Blank(to - from),
                });
            }
            start = end;
        }
        out
    }

    fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(usize::try_from(self.len()).unwrap_or(0));
        for piece in &self.pieces {
            match piece {
                Piece::Bytes(bytes, range) => out.extend_from_slice(&bytes[range.clone()]),
                Piece::Blank(len) => out.resize(out.len() + *len as usize, b' '),
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
struct Object {
    body: Rope,
    content: Content,
    metadata: Metadata,
    etag: String,
}

#[derive(Debug)]
struct Upload {
    key: String,
    content: Content,
    metadata: Metadata,
    parts: BTreeMap<u32, (Rope, String)>,
}

/// Per-request latency and server-side copy rate, as a model of S3 seen from a function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Each request's round trip; its effect takes place half-way.
    pub request: Duration,
    /// Bytes a second one UploadPartCopy copies; copies run side by side at this rate each.
    pub copy_bytes_per_second: f64,
}

#[derive(Debug, Default)]
struct State {
    objects: HashMap<String, Object>,
    uploads: HashMap<String, Upload>,
    next_version: u64,
    failing_keys: Option<String>,
    slow_keys: Option<(String, Duration)>,
    lost_answer_keys: Option<String>,
    unreadable_keys: Option<String>,
    bytes_written: u64,
    bytes_read: u64,
    requests: u64,
    requests_in_flight: u64,
    most_requests_in_flight: u64,
}

impl State {
    fn version(&mut self) -> u64 {
        self.next_version += 1;
        self.next_version
    }
}

/// Objects in a map. Every request yields to the scheduler first, so concurrent writers interleave as
/// they would against a real store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    latency: Option<Latency>,
}

impl MemoryStore {
    /// A store whose requests take the time `latency` models.
    pub fn with_latency(latency: Latency) -> Self {
        Self { state: Mutex::default(), latency: Some(latency) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread leaves plain data behind, still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes every write to a key containing `pattern` fail, as an outage would.
    pub fn fail_writes_to(&self, pattern: &str) {
        self.state().failing_keys = Some(pattern.to_owned());
    }

    /// Ends the failures [`Self::fail_writes_to`] started.
    pub fn recover(&self) {
        self.state().failing_keys = None;
    }

    /// Makes every write to a key containing `pattern` take `delay` first, as a slow store would.
    pub fn delay_writes_to(&self, pattern: &str, delay: Duration) {
        self.state().slow_keys = Some((pattern.to_owned(), delay));
    }

    /// Makes the next write to a key containing `pattern` land but answer as a lost race would, as S3
    /// does when a write lands, its answer is lost, and the SDK's retry of it finds the object changed.
    pub fn lose_next_answer_to(&self, pattern: &str) {
        self.state().lost_answer_keys = Some(pattern.to_owned());
    }

    /// Makes every read of a key containing `pattern` answer that there is no such object, as the S3
    /// adapter does when S3 answers 403 (the role may not read it, or the key is missing and the role may
    /// not list the bucket).
    pub fn deny_reads_of(&self, pattern: &str) {
        self.state().unreadable_keys = Some(pattern.to_owned());
    }

    /// The object's bytes.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.state().objects.get(key).map(|object| object.body.to_vec())
    }

    /// The object's last `bytes` bytes.
    pub fn object_end(&self, key: &str, bytes: u64) -> Option<Vec<u8>> {
        let state = self.state();
        let body = &state.objects.get(key)?.body;
        Some(body.slice(body.len().saturating_sub(bytes)..body.len()).to_vec())
    }

    /// The object's size.
    pub fn size(&self, key: &str) -> Option<u64> {
        self.state().objects.get(key).map(|object| object.body.len())
    }

    /// The object's content headers.
    pub fn content(&self, key: &str) -> Option<Content> {
        self.state().objects.get(key).map(|object| object.content)
    }

    /// The object's user metadata.
    pub fn metadata(&self, key: &str) -> Option<Metadata> {
        self.state().objects.get(key).map(|object| object.metadata.clone())
    }

    /// Keys in order.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.state().objects.keys().cloned().collect();
        keys.sort();
        keys
    }

    /// Multipart uploads neither completed nor aborted.
    pub fn open_uploads(&self) -> usize {
        self.state().uploads.len()
    }

    /// Bytes sent to the store by writes (bodies and uploaded parts; copied bytes not counted).
    pub fn bytes_written(&self) -> u64 {
        self.state().bytes_written
    }

    /// Bytes the store sent back to reads.
    pub fn bytes_read(&self) -> u64 {
        self.state().bytes_read
    }

    /// Requests made of the store.
    pub fn requests(&self) -> u64 {
        self.state().requests
    }

    /// The most requests that were on their way at once (with a latency, which keeps them on their way).
    pub fn most_requests_at_once(&self) -> u64 {
        self.state().most_requests_in_flight
    }

    /// Stores `body` as a new version, as an outside writer would.
    pub fn insert(&self, key: &str, body: Vec<u8>) {
        self.insert_rope(key, Rope::from_bytes(body), Metadata::new());
    }

    /// Stores `array` (a JSON array) padded after its opening bracket with spaces to `size` bytes, so a
    /// test can hold an array of any size whose records are all real.
    pub fn insert_padded(&self, key: &str, array: &[u8], size: u64) {
        let (open, rest) = array.split_at(1.min(array.len()));
        let mut body = Rope::from_bytes(open.to_vec());
        body.push(Piece::Blank(size.saturating_sub(array.len() as u64)));
        body.extend(Rope::from_bytes(rest.to_vec()));
        self.insert_rope(key, body, Metadata::new());
    }

    fn insert_rope(&self, key: &str, body: Rope, metadata: Metadata) {
        let mut state = self.state();
        let etag = format!("\"v{}\"", state.version());
        state.objects.insert(key.to_owned(), Object { body, content: super::JSON, metadata, etag });
    }

    /// Waits out the first half of a request's round trip, and counts it.
    async fn request(&self) {
        tokio::task::yield_now().await;
        {
            let mut state = self.state();
            state.requests += 1;
            state.requests_in_flight += 1;
            state.most_requests_in_flight = state.most_requests_in_flight.max(state.requests_in_flight);
        }
        if let Some(latency) = self.latency {
            tokio::time::sleep(latency.request / 2).await;
        }
        self.state().requests_in_flight -= 1;
    }

    /// Waits out the second half.
    async fn answer(&self) {
        if let Some(latency) = self.latency {
            tokio::time::sleep(latency.request / 2).await;
        }
    }

    async fn before_write(&self, operation: &'static str, key: &str) -> Result<(), StoreError> {
        let (delay, failing) = {
            let state = self.state();
            let delay = state.slow_keys.as_ref().filter(|(pattern, _)| key.contains(pattern)).map(|(_, delay)| *delay);
            (delay, state.failing_keys.as_deref().is_some_and(|pattern| key.contains(pattern)))
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        if failing {
            return Err(StoreError::failed(operation, key, "injected failure"));
        }
        Ok(())
    }

    fn answer_lost(&self, key: &str) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.lost_answer_keys.as_deref().is_some_and(|pattern| key.contains(pattern)) {
            state.lost_answer_keys = None;
            return Err(StoreError::Changed { key: key.to_owned() });
        }
        Ok(())
    }
}

fn expected(objects: &HashMap<String, Object>, key: &str, expect: &Expect) -> Result<(), StoreError> {
    let current = objects.get(key).map(|object| object.etag.as_str());
    let allowed = match expect {
        Expect::Absent => current.is_none(),
        Expect::Version(etag) => current == Some(etag.as_str()),
        Expect::Any => true,
    };
    if allowed { Ok(()) } else { Err(StoreError::Changed { key: key.to_owned() }) }
}

fn upload<'a>(
    uploads: &'a mut HashMap<String, Upload>,
    key: &str,
    upload_id: &str,
) -> Result<&'a mut Upload, StoreError> {
    uploads
        .get_mut(upload_id)
        .filter(|upload| upload.key == key)
        .ok_or_else(|| StoreError::failed("UploadPart", key, format!("NoSuchUpload: {upload_id}")))
}

fn check_part_number(key: &str, part: u32) -> Result<(), StoreError> {
    if (1..=MAX_PARTS).contains(&u64::from(part)) {
        Ok(())
    } else {
        Err(StoreError::failed("UploadPart", key, format!("InvalidArgument: part number {part} is not 1-10000")))
    }
}

impl S3Api for MemoryStore {
    async fn get_object(&self, key: &str, range: GetRange, if_match: Option<&str>) -> Result<Option<Tail>, StoreError> {
        self.request().await;
        let read = {
            let mut state = self.state();
            if state.unreadable_keys.as_deref().is_some_and(|pattern| key.contains(pattern)) {
                None
            } else if let Some(object) = state.objects.get(key) {
                if if_match.is_some_and(|etag| etag != object.etag) {
                    return Err(StoreError::Changed { key: key.to_owned() });
                }
                let size = object.body.len();
                let span = match range {
                    GetRange::Whole => 0..size,
                    GetRange::Suffix(bytes) if size > 0 => size.saturating_sub(bytes)..size,
                    GetRange::From(start) if start < size => start..size,
                    GetRange::Span { start, end_inclusive } if start < size => start..(end_inclusive + 1).min(size),
                    _ => return Err(StoreError::OutOfRange { key: key.to_owned() }),
                };
                if span.end - span.start > 1 << 30 {
                    return Err(StoreError::failed(
                        "GetObject",
                        key,
                        "the in-memory store reads at most 1 GiB at once",
                    ));
                }
                let bytes = object.body.slice(span.clone()).to_vec();
                let tail = Tail {
                    bytes,
                    offset: span.start,
                    size,
                    etag: object.etag.clone(),
                    metadata: object.metadata.clone(),
                };
                state.bytes_read += tail.bytes.len() as u64;
                Some(tail)
            } else {
                None
            }
        };
        self.answer().await;
        Ok(read)
    }

    async fn put_object(&self, request: PutRequest<'_>) -> Result<(), StoreError> {
        let PutRequest { key, body, content, expect, metadata } = request;
        self.request().await;
        self.before_write("PutObject", key).await?;
        {
            let mut state = self.state();
            expected(&state.objects, key, &expect)?;
            state.bytes_written += body.len() as u64;
            let etag = format!("\"v{}\"", state.version());
            state.objects.insert(key.to_owned(), Object { body: Rope::from_bytes(body), content, metadata, etag });
        }
        self.answer().await;
        self.answer_lost(key)
    }

    async fn create_upload(&self, key: &str, content: Content, metadata: Metadata) -> Result<String, StoreError> {
        self.request().await;
        let upload_id = {
            let mut state = self.state();
            let upload_id = format!("upload-{}", state.version());
            let upload = Upload { key: key.to_owned(), content, metadata, parts: BTreeMap::new() };
            state.uploads.insert(upload_id.clone(), upload);
            upload_id
        };
        self.answer().await;
        Ok(upload_id)
    }

    async fn copy_part(&self, request: PartCopy<'_>) -> Result<String, StoreError> {
        let PartCopy { key, upload_id, part, source, range, etag } = request;
        self.request().await;
        check_part_number(key, part)?;
        let len = range.end.saturating_sub(range.start);
        if len > MAX_PART_BYTES {
            return Err(StoreError::failed(
                "UploadPartCopy",
                key,
                format!("InvalidRequest: a {len}-byte part exceeds 5 GiB"),
            ));
        }
        let bytes = {
            let state = self.state();
            let object = state
                .objects
                .get(source)
                .filter(|object| object.etag == etag)
                .ok_or_else(|| StoreError::Changed { key: key.to_owned() })?;
            if range.start >= range.end || range.end > object.body.len() {
                return Err(StoreError::failed("UploadPartCopy", key, format!("InvalidRange: {range:?}")));
            }
            object.body.slice(range)
        };
        if let Some(latency) = self.latency {
            tokio::time::sleep(Duration::from_secs_f64(len as f64 / latency.copy_bytes_per_second)).await;
        }
        let part_etag = {
            let mut state = self.state();
            let part_etag = format!("\"p{}\"", state.version());
            upload(&mut state.uploads, key, upload_id)?.parts.insert(part, (bytes, part_etag.clone()));
            part_etag
        };
        self.answer().await;
        Ok(part_etag)
    }

    async fn upload_part(&self, key: &str, upload_id: &str, part: u32, body: Vec<u8>) -> Result<String, StoreError> {
        self.request().await;
        check_part_number(key, part)?;
        if body.len() as u64 > MAX_PART_BYTES {
            return Err(StoreError::failed("UploadPart", key, "EntityTooLarge"));
        }
        let part_etag = {
            let mut state = self.state();
            state.bytes_written += body.len() as u64;
            let part_etag = format!("\"p{}\"", state.version());
            upload(&mut state.uploads, key, upload_id)?.parts.insert(part, (Rope::from_bytes(body), part_etag.clone()));
            part_etag
        };
        self.answer().await;
        Ok(part_etag)
    }

    async fn complete_upload(&self, request: Completion<'_>) -> Result<(), StoreError> {
        let Completion { key, upload_id, parts, expect } = request;
        self.request().await;
        self.before_write("CompleteMultipartUpload", key).await?;
        {
            let mut state = self.state();
            let refuse = |message: String| StoreError::failed("CompleteMultipartUpload", key, message);
            if parts.is_empty() || parts.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
                return Err(refuse("InvalidPartOrder: parts must be listed in ascending order, once each".into()));
            }
            let upload = upload(&mut state.uploads, key, upload_id)?;
            let mut body = Rope::default();
            for (index, (number, etag)) in parts.iter().enumerate() {
                let (bytes, stored) =
                    upload.parts.get(number).ok_or_else(|| refuse(format!("InvalidPart: {number}")))?;
                if stored != etag {
                    return Err(refuse(format!("InvalidPart: {number} has another ETag")));
                }
                if index + 1 < parts.len() && bytes.len() < MIN_PART_BYTES {
                    return Err(refuse(format!("EntityTooSmall: part {number} has {} bytes", bytes.len())));
                }
                body.extend(bytes.clone());
            }
            let (content, metadata) = (upload.content, upload.metadata.clone());
            expected(&state.objects, key, &expect)?;
            state.uploads.remove(upload_id);
            let etag = format!("\"v{}-{}\"", state.version(), parts.len());
            state.objects.insert(key.to_owned(), Object { body, content, metadata, etag });
        }
        self.answer().await;
        self.answer_lost(key)
    }

    async fn abort_upload(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        self.request().await;
        {
            let mut state = self.state();
            if state.uploads.get(upload_id).is_some_and(|upload| upload.key == key) {
                state.uploads.remove(upload_id);
            }
        }
        self.answer().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{JSON, ObjectStore, ReadRange};

    const MIB: u64 = 1 << 20;

    async fn tail(store: &MemoryStore, key: &str) -> Tail {
        store.read(key, ReadRange::Last(1 << 20)).await.expect("reads").expect("exists")
    }

    #[tokio::test]
    async fn completion_enforces_s3s_part_rules() {
        let store = MemoryStore::default();
        store.insert("source", vec![b'x'; 12 * MIB as usize]);
        let etag = tail(&store, "source").await.etag;
        let upload = store.create_upload("target", JSON, Metadata::new()).await.expect("created");
        let part =
            PartCopy { key: "target", upload_id: &upload, part: 1, source: "source", range: 0..MIB, etag: &etag };
        let small = store.copy_part(part.clone()).await.expect("copied");
        let last = store.upload_part("target", &upload, 2, b"end".to_vec()).await.expect("uploaded");
        let complete = |parts| Completion { key: "target", upload_id: &upload, parts, expect: Expect::Absent };
        let error = store
            .complete_upload(complete(vec![(1, small.clone()), (2, last.clone())]))
            .await
            .expect_err("a 1 MiB part before the last is too small");
        assert!(error.to_string().contains("EntityTooSmall"), "{error}");
        let error =
            store.complete_upload(complete(vec![(2, last.clone()), (1, small)])).await.expect_err("out of order");
        assert!(error.to_string().contains("InvalidPartOrder"), "{error}");
        assert!(store.copy_part(PartCopy { part: 10_001, ..part.clone() }).await.is_err());
        assert!(store.copy_part(PartCopy { range: 0..13 * MIB, ..part.clone() }).await.is_err(), "beyond the end");
        let stale = PartCopy { range: 0..6 * MIB, etag: "\"v0\"", ..part.clone() };
        let stale = store.copy_part(stale).await.expect_err("stale");
        assert!(stale.is_contention());
        let big = store.copy_part(PartCopy { range: 0..6 * MIB, ..part }).await.expect("copied");
        store.complete_upload(complete(vec![(1, big), (2, last)])).await.expect("completes");
        assert_eq!(store.size("target"), Some(6 * MIB + 3));
        assert_eq!(store.open_uploads(), 0);
    }

    #[tokio::test]
    async fn a_part_copies_at_most_five_gibibytes() {
        let store = MemoryStore::default();
        store.insert_padded("big", b"[\n]\n", 6 << 30);
        let etag = tail(&store, "big").await.etag;
        let upload = store.create_upload("big", JSON, Metadata::new()).await.expect("created");
        let part =
            PartCopy { key: "big", upload_id: &upload, part: 1, source: "big", range: 0..(6 << 30) - 3, etag: &etag };
        let error = store.copy_part(part).await.expect_err("too large");
        assert!(error.to_string().contains("exceeds 5 GiB"), "{error}");
    }

    #[tokio::test]
    async fn a_padded_array_reads_as_json_with_blanks() {
        let store = MemoryStore::default();
        store.insert_padded("a", b"[\n{\"n\":1}\n]\n", 1000);
        let body = store.object("a").expect("exists");
        assert_eq!(body.len(), 1000);
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).expect("JSON"), serde_json::json!([{"n": 1}]));
        assert_eq!(store.object_end("a", 4).expect("exists"), b"1}\n]\n"[1..].to_vec());
    }
}
