//! Erasure on request: a person an operator names under `erasure/requests/` is removed from every place of
//! the stack that holds them (the error output, the landing zone, the array's segments, the live array and
//! the curated lake), with a receipt, and stays removed: their records that arrive later are swept out by
//! every later run. docs/erasure.md gives the procedure, the guarantees and the cost.
//!
//! A run takes the pending requests before it compacts ([`take_requests`]): the valid ones make one pass
//! over the stores, which goes on in the next run where it stopped; a malformed one is moved to
//! `erasure/refused/`. After compacting it sweeps what arrived since the last sweep ([`sweep`]), and the
//! compaction itself leaves out erased persons' rows ([`erased_persons`]).

mod blank;
pub mod ledger;
mod person;
mod raw;
mod rewrite_plan;
#[cfg(test)]
mod tests;

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::{error, info, warn};

pub use self::ledger::ErasedPersons;
use self::ledger::{
    ERASED_KEY, Erased, LedgerError, PASS_KEY, Pass, Places, RECEIPTS_PREFIX, REFUSED_PREFIX, REQUESTS_PREFIX, Receipt,
    Refused, Stage, Taken,
};
pub use self::person::Refusal;
use self::person::{COLUMNS, Identifiers, Matcher, Tokens, token};
use self::raw::Format;
pub use self::raw::{REVISION_METADATA, RawError};
use crate::compaction::erase::{RowOwners, erase_rows};
use crate::compaction::{CompactError, Run};
use crate::curate::{PersonalData, normalised};
use crate::store::{Condition, LakeStore, Listed, StoreError, Stores};

/// How long before the last sweep an object may have been written and still be searched again: a write
/// that began before the sweep listed the bucket may land after it.
const SWEEP_OVERLAP: chrono::Duration = chrono::Duration::minutes(15);
/// Attempts at a ledger write lost to another run before this run leaves erasure to it.
const MAX_LEDGER_ATTEMPTS: u32 = 8;

/// What erasure did in a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErasureReport {
    /// Requests not finished yet: the pass's under way, and those waiting for the next pass.
    pub pending: Vec<String>,
    /// Requests finished by this run: their receipts are written and they are deleted.
    pub finished: Vec<String>,
    /// Requests refused by this run, moved to `erasure/refused/` with their reasons.
    pub refused: Vec<String>,
    /// Records and rows the pass removed in this run.
    pub records_removed: u64,
    /// Records of erased persons that arrived again, removed by the sweep.
    pub records_swept: u64,
    /// Objects the sweep searched.
    pub objects_swept: u64,
    /// The sweep stopped for lack of time; the next run searches the same objects again.
    pub sweep_unfinished: bool,
}

/// Why erasure stopped in a run. What it finished stays finished, and the next run goes on.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error("the erasure ledger: {0}")]
    Ledger(#[from] LedgerError),
    #[error("erasing from {key}: {source}")]
    Raw {
        key: String,
        #[source]
        source: RawError,
    },
    #[error("erasing from the curated partition {key}: {source}")]
    Lake {
        key: String,
        #[source]
        source: CompactError,
    },
    /// A request could not be read, moved or deleted.
    #[error("an erasure request: {0}")]
    Request(#[from] StoreError),
    #[error("listing {prefix}: {source}")]
    List {
        prefix: String,
        #[source]
        source: StoreError,
    },
}

/// The erased persons, for a compaction to leave out.
pub async fn erased_persons<S: LakeStore>(raw: &S) -> Result<ErasedPersons, LedgerError> {
    let erased: Option<(Erased, String)> = ledger::read(raw, ERASED_KEY).await?;
    Ok(ErasedPersons::new(erased.map(|(erased, _)| erased.persons).unwrap_or_default()))
}

/// Takes the pending requests: refuses the malformed ones, begins a pass with the others unless one is under
/// way, and goes on with the pass until `until`. A request arriving during a pass waits for the next one.
pub async fn take_requests<S: LakeStore>(
    stores: &Stores<S>,
    run: &Run<'_>,
    until: Instant,
) -> Result<ErasureReport, ErasureError> {
    let raw = &stores.landing;
    let mut report = ErasureReport::default();
    let requests = list(raw, REQUESTS_PREFIX).await?;
    let pass: Option<(Pass, String)> = ledger::read(raw, PASS_KEY).await?;
    let (mut pass, mut etag, identifiers) = match pass {
        Some((pass, etag)) => {
            let identifiers = taken_identifiers(raw, &pass).await?;
            (pass, etag, identifiers)
        }
        None if requests.is_empty() => return Ok(report),
        None => {
            let Some(begun) = begin(raw, run, &requests, &mut report).await? else { return Ok(report) };
            begun
        }
    };
    let mut matcher = Matcher::new(run.personal);
    for (index, (taken, identifiers)) in pass.requests.iter().zip(&identifiers).enumerate() {
        matcher.add(index, &taken.persons);
        if let Some(identifiers) = identifiers {
            matcher.add_raw(index, identifiers);
        }
    }
    let removed_before: u64 = pass.requests.iter().map(|taken| taken.places.records()).sum();
    let outcome = go_on(stores, run, &mut pass, &mut etag, &matcher, until).await;
    report.records_removed = pass.requests.iter().map(|taken| taken.places.records()).sum::<u64>() - removed_before;
    if let Ok(true) = outcome {
        finish(raw, run, &pass, &mut report).await?;
    }
    // Pending: the pass's requests unless finished, and those waiting for the next pass.
    report.pending = requests
        .iter()
        .map(|request| request_name(&request.key))
        .chain(pass.requests.iter().map(|taken| taken.name.clone()))
        .filter(|name| !report.finished.contains(name) && !report.refused.contains(name))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    outcome.map(|_| report)
}

/// The raw identifiers of each request of `pass`, which find refused text that is no record: read again from
/// the request, which is there until its receipt (`None` if it was put again since it was taken).
async fn taken_identifiers<S: LakeStore>(raw: &S, pass: &Pass) -> Result<Vec<Option<Identifiers>>, ErasureError> {
    let mut identifiers = Vec::with_capacity(pass.requests.len());
    for taken in &pass.requests {
        let fetched = raw.get(&request_key(&taken.name)).await?;
        let current = fetched.filter(|fetched| fetched.etag == taken.etag);
        identifiers.push(current.and_then(|fetched| Identifiers::parse(&fetched.body).ok()));
    }
    Ok(identifiers)
}

/// A pass begun, its ETag, and the raw identifiers of each of its requests.
type Begun = (Pass, String, Vec<Option<Identifiers>>);

/// Reads the pending requests, moves the malformed ones to `erasure/refused/`, adds the others' persons to
/// the erased ones and begins a pass with them; `None` when none is valid or another run began one first.
async fn begin<S: LakeStore>(
    raw: &S,
    run: &Run<'_>,
    requests: &[Listed],
    report: &mut ErasureReport,
) -> Result<Option<Begun>, ErasureError> {
    let mut taken = Vec::new();
    let mut identifiers_taken = Vec::new();
    for request in requests {
        let name = request_name(&request.key);
        // Not read, so not copied either: left where it is, refused by every run until an operator splits it.
        if request.size > person::MAX_REQUEST_BYTES {
            error!(request = %name, reason = %Refusal::TooLarge, "an erasure request is refused and left in place");
            report.refused.push(name);
            continue;
        }
        let Some(fetched) = raw.get(&request.key).await? else { continue };
        match Identifiers::parse(&fetched.body) {
            Ok(identifiers) => {
                taken.push(Taken {
                    name,
                    etag: fetched.etag.clone(),
                    received_at: request.last_modified,
                    persons: identifiers.tokens(run.personal),
                    places: Places::default(),
                });
                identifiers_taken.push(Some(identifiers));
            }
            Err(refusal) => {
                error!(request = %name, reason = %refusal, "an erasure request is refused; moved to erasure/refused/");
                let text = String::from_utf8_lossy(&fetched.body);
                let refused = Refused { reason: refusal.to_string(), refused_at: run.now, request: &text };
                ledger::write(raw, &format!("{REFUSED_PREFIX}{name}"), &refused, Condition::Always).await?;
                raw.delete(&request.key).await?;
                report.refused.push(name);
            }
        }
    }
    if taken.is_empty() {
        return Ok(None);
    }
    // Erased from now on: what a compaction adds leaves them out, and the sweep searches what arrives.
    let mut persons = Tokens::default();
    for request in &taken {
        persons.extend(&request.persons);
    }
    add_erased(raw, run.now, &persons).await?;
    let pass = Pass { started_at: run.now, requests: taken, stage: Stage::Errors, after: None };
    match ledger::write(raw, PASS_KEY, &pass, Condition::IfAbsent).await {
        Ok(etag) => {
            info!(requests = pass.requests.len(), "an erasure pass begins");
            Ok(Some((pass, etag, identifiers_taken)))
        }
        // Another run began one: its requests wait for the pass after it.
        Err(StoreError::Changed { .. }) => Ok(None),
        Err(failure) => Err(failure.into()),
    }
}

/// Adds `persons` to the erased ones. The sweep's mark stays where it was, or starts at `now` (the pass
/// searches everything written before it ends).
async fn add_erased<S: LakeStore>(raw: &S, now: DateTime<Utc>, persons: &Tokens) -> Result<(), ErasureError> {
    let added = update_erased(raw, |erased| {
        let mut erased = erased.unwrap_or_default();
        erased.persons.extend(persons);
        erased.swept_at = Some(erased.swept_at.map_or(now, |at| at.min(now)));
        Some(erased)
    })
    .await?;
    if !added {
        return Err(StoreError::Changed { key: ERASED_KEY.to_owned() }.into());
    }
    Ok(())
}

/// Replaces the erased persons' list by what `change` makes of it (`None`: no list yet), only if no other run
/// wrote it since it was read, reading it again after a lost race; `change` answering `None` leaves it be.
/// Answers whether it was written, `false` after [`MAX_LEDGER_ATTEMPTS`] lost races too.
async fn update_erased<S: LakeStore>(
    raw: &S,
    change: impl Fn(Option<Erased>) -> Option<Erased>,
) -> Result<bool, ErasureError> {
    for _ in 0..MAX_LEDGER_ATTEMPTS {
        let read: Option<(Erased, String)> = ledger::read(raw, ERASED_KEY).await?;
        let (read, condition) = match read {
            Some((erased, etag)) => (Some(erased), Condition::IfMatch(etag)),
            None => (None, Condition::IfAbsent),
        };
        let Some(erased) = change(read) else { return Ok(false) };
        match ledger::write(raw, ERASED_KEY, &erased, condition).await {
            Ok(_) => return Ok(true),
            Err(StoreError::Changed { .. }) => continue,
            Err(failure) => return Err(failure.into()),
        }
    }
    Ok(false)
}

/// Goes through the stores from where `pass` stopped until `until`, saving how far it went; answers whether
/// it reached the end. Another run that advanced the pass meanwhile takes it over: this one stops.
async fn go_on<S: LakeStore>(
    stores: &Stores<S>,
    run: &Run<'_>,
    pass: &mut Pass,
    etag: &mut String,
    matcher: &Matcher<'_>,
    until: Instant,
) -> Result<bool, ErasureError> {
    let raw = &stores.landing;
    while pass.stage < Stage::Done {
        let objects = stage_objects(stores, run, pass.stage, pass.started_at - SWEEP_OVERLAP).await?;
        let done_through = pass.after.clone();
        for object in objects.iter().filter(|key| done_through.as_ref().is_none_or(|after| *key > after)) {
            if Instant::now() >= until {
                return save(raw, pass, etag).await.map(|_| false);
            }
            let place = if pass.stage == Stage::Since { place_of(run, object) } else { pass.stage };
            let removed = match place {
                Stage::Curated => {
                    let erased = erase_rows(&stores.lake, run, object, &RowMatcher { matcher, personal: run.personal })
                        .await
                        .map_err(|source| ErasureError::Lake { key: object.clone(), source })?;
                    erased.by_person
                }
                stage => raw::erase(raw, object, format(stage), matcher)
                    .await
                    .map_err(|source| ErasureError::Raw { key: object.clone(), source })?,
            };
            for (person, records) in &removed {
                if let Some(taken) = pass.requests.get_mut(*person) {
                    let place = taken.places.at(place);
                    place.records += records;
                    place.objects.insert(object.clone());
                }
            }
            pass.after = Some(object.clone());
            if !removed.is_empty() && !save(raw, pass, etag).await? {
                return Ok(false);
            }
        }
        pass.stage = next(pass.stage);
        pass.after = None;
        if !save(raw, pass, etag).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Saves how far `pass` went; `false` when another run advanced it first.
async fn save<S: LakeStore>(raw: &S, pass: &Pass, etag: &mut String) -> Result<bool, ErasureError> {
    match ledger::write(raw, PASS_KEY, pass, Condition::IfMatch(etag.clone())).await {
        Ok(new) => {
            *etag = new;
            Ok(true)
        }
        Err(StoreError::Changed { .. }) => {
            warn!("another run advanced the erasure pass; this run leaves it to that one");
            Ok(false)
        }
        Err(failure) => Err(failure.into()),
    }
}

/// Writes each request's receipt, deletes the request, then ends the pass.
async fn finish<S: LakeStore>(
    raw: &S,
    run: &Run<'_>,
    pass: &Pass,
    report: &mut ErasureReport,
) -> Result<(), ErasureError> {
    for taken in &pass.requests {
        let receipt = Receipt {
            request: &taken.name,
            received_at: taken.received_at,
            finished_at: run.now.max(taken.received_at),
            persons: &taken.persons,
            places: &taken.places,
        };
        ledger::write(raw, &format!("{RECEIPTS_PREFIX}{}", taken.name), &receipt, Condition::Always).await?;
        // A request put again under this name since it was taken is another one, for the next pass.
        if raw.head(&request_key(&taken.name)).await?.is_some_and(|head| head.etag == taken.etag) {
            raw.delete(&request_key(&taken.name)).await?;
        }
        info!(request = %taken.name, records = taken.places.records(), "an erasure request is finished");
        report.finished.push(taken.name.clone());
    }
    raw.delete(PASS_KEY).await?;
    Ok(())
}

/// Searches what was written since the last sweep (less an overlap) in the raw bucket for erased persons'
/// records and removes them, until `until`; the mark advances only when the sweep went through everything.
pub async fn sweep<S: LakeStore>(
    stores: &Stores<S>,
    run: &Run<'_>,
    until: Instant,
    report: &mut ErasureReport,
) -> Result<(), ErasureError> {
    let raw = &stores.landing;
    let Some((erased, _)) = ledger::read::<S, Erased>(raw, ERASED_KEY).await? else { return Ok(()) };
    // The persons of a pass under way are the pass's to remove, and to count in their receipts: its last
    // stage goes through what was written since it began.
    let mut persons = erased.persons.clone();
    if let Some((pass, _)) = ledger::read::<S, Pass>(raw, PASS_KEY).await? {
        pass.requests.iter().for_each(|taken| persons.remove(&taken.persons));
    }
    if persons.is_empty() {
        return Ok(());
    }
    let since = erased.swept_at.map(|at| at - SWEEP_OVERLAP);
    let mut matcher = Matcher::new(run.personal);
    matcher.add(0, &persons);
    for stage in [Stage::Errors, Stage::Landing, Stage::Segments, Stage::Array] {
        for object in listed(stores, run, stage).await? {
            if since.is_some_and(|since| object.last_modified < since) {
                continue;
            }
            if Instant::now() >= until {
                report.sweep_unfinished = true;
                return Ok(());
            }
            report.objects_swept += 1;
            let removed = raw::erase(raw, &object.key, format(stage), &matcher)
                .await
                .map_err(|source| ErasureError::Raw { key: object.key.clone(), source })?;
            let records: u64 = removed.values().sum();
            if records > 0 {
                warn!(key = %object.key, records, "records of erased persons arrived again and were removed");
            }
            report.records_swept += records;
        }
    }
    // Not advanced after lost races: the next sweep searches the same objects again.
    update_erased(raw, |erased| {
        erased.map(|mut erased| {
            erased.swept_at = Some(erased.swept_at.map_or(run.now, |at| at.max(run.now)));
            erased
        })
    })
    .await?;
    Ok(())
}

fn next(stage: Stage) -> Stage {
    match stage {
        Stage::Errors => Stage::Landing,
        Stage::Landing => Stage::Segments,
        Stage::Segments => Stage::Array,
        Stage::Array => Stage::Curated,
        Stage::Curated => Stage::Since,
        Stage::Since | Stage::Done => Stage::Done,
    }
}

fn format(stage: Stage) -> Format {
    match stage {
        Stage::Errors => Format::ErrorOutput,
        Stage::Landing => Format::Ndjson,
        Stage::Segments | Stage::Array | Stage::Curated | Stage::Since | Stage::Done => Format::Array,
    }
}

/// The place an object of the `Since` stage is in, by its key.
fn place_of(run: &Run<'_>, key: &str) -> Stage {
    let layout = run.layout;
    if is_state(run, key) {
        Stage::Curated
    } else if key.starts_with(&layout.errors_prefix) {
        Stage::Errors
    } else if layout.landing_date(key).is_some() {
        Stage::Landing
    } else if key == layout.array_key {
        Stage::Array
    } else {
        Stage::Segments
    }
}

fn is_state(run: &Run<'_>, key: &str) -> bool {
    run.layout.state_date(key).or_else(|| run.layout.shadow_state_date(key)).is_some()
}

/// The keys a stage of a pass goes through, in order; for `Since`, those written from `since` on.
async fn stage_objects<S: LakeStore>(
    stores: &Stores<S>,
    run: &Run<'_>,
    stage: Stage,
    since: DateTime<Utc>,
) -> Result<Vec<String>, ErasureError> {
    let mut objects = match stage {
        Stage::Curated | Stage::Since => {
            let states = list(&stores.lake, &run.layout.state_prefix()).await?;
            states.into_iter().filter(|state| is_state(run, &state.key)).collect()
        }
        stage => listed(stores, run, stage).await?,
    };
    if stage == Stage::Since {
        for place in [Stage::Errors, Stage::Landing, Stage::Segments, Stage::Array] {
            objects.extend(listed(stores, run, place).await?);
        }
        objects.retain(|object| object.last_modified >= since);
    }
    let mut keys: Vec<String> = objects.into_iter().map(|object| object.key).collect();
    keys.sort();
    Ok(keys)
}

/// The raw objects of a stage, in key order.
async fn listed<S: LakeStore>(stores: &Stores<S>, run: &Run<'_>, stage: Stage) -> Result<Vec<Listed>, ErasureError> {
    let raw = &stores.landing;
    let layout = run.layout;
    Ok(match stage {
        Stage::Errors => list(raw, &layout.errors_prefix).await?,
        Stage::Landing => list(raw, &layout.landing_prefix)
            .await?
            .into_iter()
            .filter(|object| layout.landing_date(&object.key).is_some())
            .collect(),
        Stage::Segments => list(raw, &shared::array::segment_prefix(&layout.array_key)).await?,
        Stage::Array => {
            list(raw, &layout.array_key).await?.into_iter().filter(|object| object.key == layout.array_key).collect()
        }
        Stage::Curated | Stage::Since | Stage::Done => Vec::new(),
    })
}

async fn list<S: LakeStore>(store: &S, prefix: &str) -> Result<Vec<Listed>, ErasureError> {
    store.list(prefix).await.map_err(|source| ErasureError::List { prefix: prefix.to_owned(), source })
}

fn request_key(name: &str) -> String {
    format!("{REQUESTS_PREFIX}{name}")
}

/// A request's name: its key under [`REQUESTS_PREFIX`] (which every listed request's key begins with).
fn request_name(key: &str) -> String {
    key.strip_prefix(REQUESTS_PREFIX).unwrap_or(key).to_owned()
}

/// The curated table's rows of the persons a matcher holds: its identifier columns hold tokens, or with
/// personal data raw the normalised values, whose digests the matcher holds.
struct RowMatcher<'a> {
    matcher: &'a Matcher<'a>,
    personal: &'a PersonalData,
}

impl RowOwners for RowMatcher<'_> {
    fn columns(&self) -> &[&'static str] {
        &COLUMNS
    }

    fn owners(&self, values: &[Option<&str>]) -> Vec<usize> {
        let mut persons = Vec::new();
        for (column, value) in COLUMNS.iter().zip(values) {
            let Some(value) = value else { continue };
            let found = match self.personal {
                PersonalData::Pseudonymised(_) => self.matcher.token_owners(column, value),
                PersonalData::Raw => {
                    self.matcher.token_owners(column, &token(self.personal, column, &normalised(column, value)))
                }
            };
            persons.extend(found);
        }
        persons.sort_unstable();
        persons.dedup();
        persons
    }
}
