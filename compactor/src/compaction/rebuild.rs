//! A rebuild: days of the curated lake made again from the whole history the raw bucket keeps (the array's
//! sealed segments, the live array, and the landing zone while it holds the day), committed to a shadow state
//! beside each day's partition and swapped in by one conditional write once every source is in: readers see
//! the day as it was or as rebuilt, never half of it. The request is kept in the lake with the next day to
//! rebuild, so a rebuild too large for one invocation goes on in the next, scheduled or invoked, from the
//! shadow's last commit. docs/curated-lake.md gives the argument.

use std::collections::BTreeSet;
use std::time::Instant;

use bytes::Bytes;
use chrono::{Days, NaiveDate, NaiveTime};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::array::{Days as ArrayDays, FIRST_DAY_METADATA, LAST_DAY_METADATA, segment_prefix};
use tracing::{info, warn};

use super::partition::{self, Target, publish, read_at, read_state};
use super::{CompactError, PartitionReport, Run, orphans};
use crate::lake::state::{PartitionState, RetiredFile};
use crate::store::{Condition, LakeStore, Listed, StoreError, Stores};

/// The most days one request rebuilds: ten years.
pub const MAX_DAYS: u64 = 3660;

/// The days to rebuild, both ends included, and the next one to rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebuildRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<NaiveDate>,
}

/// An invocation's event asked for a rebuild it cannot have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RebuildRefused {
    #[error(r#"a rebuild is asked for as {{"rebuild": {{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}}}}: {0}"#)]
    Shape(String),
    #[error("the rebuild's from ({from}) is after its to ({to})")]
    Backwards { from: NaiveDate, to: NaiveDate },
    #[error("a rebuild takes at most {MAX_DAYS} days; {from} to {to} is more")]
    TooLong { from: NaiveDate, to: NaiveDate },
}

impl RebuildRequest {
    /// The rebuild the event asks for: `Ok(None)` for an event without `rebuild` (the schedule's).
    pub fn from_event(event: &Value) -> Result<Option<Self>, RebuildRefused> {
        let Some(asked) = event.get("rebuild") else { return Ok(None) };
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Asked {
            from: NaiveDate,
            to: NaiveDate,
        }
        let Asked { from, to } = Asked::deserialize(asked).map_err(|error| RebuildRefused::Shape(error.to_string()))?;
        if from > to {
            return Err(RebuildRefused::Backwards { from, to });
        }
        if to.signed_duration_since(from).num_days() >= MAX_DAYS as i64 {
            return Err(RebuildRefused::TooLong { from, to });
        }
        Ok(Some(Self { from, to, next: None }))
    }

    fn next(&self) -> NaiveDate {
        self.next.unwrap_or(self.from)
    }
}

/// What a run did of the rebuild under way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RebuildReport {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Days swapped in by this run.
    pub days_rebuilt: u64,
    /// Days older than the retention, left alone.
    pub days_past_retention: u64,
    /// Days not rebuilt yet (the next run goes on), the one in progress included.
    pub days_left: u64,
    /// Sealed segments and the live array that can hold the days left (HEAD for their days), and those passed
    /// over: sealed more than a day before them, or, for each day, of other days.
    pub history_objects: u64,
    pub history_objects_skipped: u64,
    /// Days whose history holds fewer records than the partition (it expired), kept as they were.
    pub days_kept: Vec<NaiveDate>,
    #[serde(flatten)]
    pub totals: PartitionReport,
}

/// Why a rebuild stopped. The days swapped in stay; the request stays for the next run.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("the rebuild request: {0}")]
    Store(#[source] StoreError),
    #[error("the rebuild request {key} is not valid: {source}")]
    Request {
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("rebuilding {date}: {source}")]
    Day {
        date: NaiveDate,
        #[source]
        source: CompactError,
    },
}

/// An object of the array's history and the days it holds (`None`: it does not say).
struct HistoryObject {
    listed: Listed,
    days: Option<ArrayDays>,
}

/// Starts the rebuild `asked` for (replacing any under way), or goes on with the one under way, while the
/// run has time; `Ok(None)` when there is none.
pub(super) async fn run<S: LakeStore>(
    stores: &Stores<S>,
    run: &Run<'_>,
    keep_from: Option<NaiveDate>,
    asked: Option<RebuildRequest>,
) -> Result<Option<RebuildReport>, RebuildError> {
    let lake = &stores.lake;
    let key = run.layout.rebuild_key();
    let mut request = match asked {
        Some(asked) => {
            // The shadows of a rebuild this one replaces would otherwise keep their files for ever.
            let shadows = lake.list(&run.layout.shadow_state_prefix()).await.map_err(RebuildError::Store)?;
            for shadow in shadows {
                let date = run.layout.shadow_state_date(&shadow.key);
                if date.is_some_and(|date| date < asked.from || date > asked.to) {
                    lake.delete(&shadow.key).await.map_err(RebuildError::Store)?;
                }
            }
            save(lake, &key, &asked).await?;
            info!(from = %asked.from, to = %asked.to, "rebuild asked for");
            asked
        }
        None => match lake.get(&key).await.map_err(RebuildError::Store)? {
            None => return Ok(None),
            Some(found) => serde_json::from_slice(&found.body)
                .map_err(|source| RebuildError::Request { key: key.clone(), source })?,
        },
    };
    let mut report = RebuildReport { from: Some(request.from), to: Some(request.to), ..RebuildReport::default() };
    let (history, sealed_before) = history(&stores.landing, run, request.next()).await.map_err(RebuildError::Store)?;
    report.history_objects = history.len() as u64;
    report.history_objects_skipped = sealed_before;
    let mut day = request.next();
    while day <= request.to {
        if Instant::now() >= run.stop_at {
            break;
        }
        if keep_from.is_some_and(|from| day < from) {
            report.days_past_retention += 1;
        } else {
            let swapped = rebuild_day(stores, run, day, &history, &mut report)
                .await
                .map_err(|source| RebuildError::Day { date: day, source })?;
            if !swapped {
                break;
            }
        }
        let Some(next) = day.checked_add_days(Days::new(1)) else { break };
        day = next;
        request.next = Some(day);
        save(lake, &key, &request).await?;
    }
    report.days_left = (request.to.signed_duration_since(day).num_days() + 1).max(0) as u64;
    if report.days_left == 0 {
        lake.delete(&key).await.map_err(RebuildError::Store)?;
        info!(from = %request.from, to = %request.to, "rebuild finished");
    }
    Ok(Some(report))
}

async fn save<S: LakeStore>(lake: &S, key: &str, request: &RebuildRequest) -> Result<(), RebuildError> {
    // A request of dates always serialises.
    let body = serde_json::to_vec(request).unwrap_or_default();
    lake.put(key, Bytes::from(body), Condition::Always).await.map(|_| ()).map_err(RebuildError::Store)
}

/// HEADs of the history's objects in flight at once.
const HEADS_AT_ONCE: usize = 16;

/// The sealed segments and the live array that can hold `from` or a later day, each with the days its
/// metadata gives, and how many were passed over by their time alone.
///
/// An object last written more than a day before `from` holds no record of it: each of its records was
/// appended before that write, after SQS took its message, and the consumer refuses a record more than a day
/// after that. So years of segments cost a listing, and HEADs only of those sealed since.
async fn history<S: LakeStore>(
    raw: &S,
    run: &Run<'_>,
    from: NaiveDate,
) -> Result<(Vec<HistoryObject>, u64), StoreError> {
    let array_key = &run.layout.array_key;
    let mut listed = raw.list(&segment_prefix(array_key)).await?;
    listed.extend(raw.list(array_key).await?.into_iter().filter(|object| &object.key == array_key));
    let since = from.and_time(NaiveTime::MIN).and_utc() - chrono::Duration::days(1);
    let total = listed.len();
    listed.retain(|object| object.last_modified >= since);
    let sealed_before = (total - listed.len()) as u64;
    let heads: Vec<Option<HistoryObject>> = futures::stream::iter(listed)
        .map(|object| async move {
            let metadata = raw.metadata(&object.key).await?;
            Ok::<_, StoreError>(metadata.map(|metadata| {
                let day = |name| metadata.get(name).map(String::as_str);
                HistoryObject {
                    days: ArrayDays::parse(day(FIRST_DAY_METADATA), day(LAST_DAY_METADATA)),
                    listed: object,
                }
            }))
        })
        .buffered(HEADS_AT_ONCE)
        .try_collect()
        .await?;
    // An object gone since the listing was sealed (the live array) or expired (a segment).
    Ok((heads.into_iter().flatten().collect(), sealed_before))
}

/// Compacts every source of `day` into its shadow and swaps the shadow in: `Ok(false)` when time ran out
/// first (the shadow keeps what it has).
async fn rebuild_day<S: LakeStore>(
    stores: &Stores<S>,
    run: &Run<'_>,
    day: NaiveDate,
    history: &[HistoryObject],
    report: &mut RebuildReport,
) -> Result<bool, CompactError> {
    let meets = |object: &&HistoryObject| object.days.is_none_or(|days| days.contains(day));
    let sources: Vec<&Listed> = history.iter().filter(meets).map(|object| &object.listed).collect();
    report.history_objects_skipped += (history.len() - sources.len()) as u64;
    for _ in 0..run.settings.max_conflicts {
        let landed = stores.landing.list(&run.layout.landing_day_prefix(day)).await?;
        let landed_keys: BTreeSet<&str> = landed.iter().map(|object| object.key.as_str()).collect();
        let mut present = landed_keys.clone();
        present.extend(sources.iter().map(|object| object.key.as_str()));
        let mut ready = sources.clone();
        ready.extend(partition::ready(run, &landed));
        let shadow = partition::compact(stores, run, day, Target::Shadow, &present, &ready).await?;
        let left = shadow.objects_left;
        report.totals.add(&shadow);
        if left > 0 {
            return Ok(false);
        }
        match swap(stores, run, day, &landed_keys, report).await? {
            Swap::Done => return Ok(true),
            // A landed object the partition has and the shadow has not (compacted meanwhile): take it in.
            Swap::Behind => continue,
        }
    }
    Err(CompactError::Contended { date: day, conflicts: run.settings.max_conflicts })
}

enum Swap {
    Done,
    Behind,
}

/// Makes the shadow the partition, if it holds every landed object the partition does and no fewer records.
async fn swap<S: LakeStore>(
    stores: &Stores<S>,
    run: &Run<'_>,
    day: NaiveDate,
    landed: &BTreeSet<&str>,
    report: &mut RebuildReport,
) -> Result<Swap, CompactError> {
    let lake = &stores.lake;
    let current = read_state(lake, run, day).await?;
    let shadow_key = run.layout.shadow_state_key(day);
    let shadow = read_at(lake, &shadow_key).await?;
    let behind = current
        .state
        .compacted
        .iter()
        .any(|key| landed.contains(key.as_str()) && !shadow.state.compacted.contains(key));
    if behind {
        return Ok(Swap::Behind);
    }
    // The history lost records the partition has (segments past their retention): a rebuild never makes a
    // day smaller, so the day stays as it was and its shadow goes.
    if shadow.state.records() < current.state.records() {
        warn!(%day, history = shadow.state.records(), partition = current.state.records(),
            "the history holds fewer records of the day than the partition; the day is kept as it was");
        report.days_kept.push(day);
        lake.delete(&shadow_key).await?;
        return Ok(Swap::Done);
    }
    let cutoff = orphans::cutoff(run);
    let kept: BTreeSet<&str> = shadow.state.files.iter().map(|file| file.key.as_str()).collect();
    let mut retired: Vec<RetiredFile> =
        current.state.retired.iter().chain(&shadow.state.retired).filter(|file| file.at >= cutoff).cloned().collect();
    retired.extend(
        current
            .state
            .files
            .iter()
            .filter(|file| !kept.contains(file.key.as_str()))
            .map(|file| RetiredFile { key: file.key.clone(), at: run.now }),
    );
    let state = PartitionState {
        generation: current.state.generation + 1,
        files: shadow.state.files.clone(),
        compacted: shadow.state.compacted.iter().filter(|key| landed.contains(key.as_str())).cloned().collect(),
        retired,
        partial: current.state.partial.clone(),
    };
    let condition = match current.etag {
        Some(etag) => Condition::IfMatch(etag),
        None => Condition::IfAbsent,
    };
    match lake.put(&run.layout.state_key(day), Bytes::from(state.to_json()), condition).await {
        Ok(_) => {}
        Err(StoreError::Changed { .. }) => return Ok(Swap::Behind),
        Err(error) => return Err(error.into()),
    }
    info!(%day, generation = state.generation, files = state.files.len(), records = state.records(), "day rebuilt");
    report.days_rebuilt += 1;
    publish(lake, run, day, state).await?;
    lake.delete(&shadow_key).await?;
    Ok(Swap::Done)
}
