//! A rebuild: days of the curated lake made again from the whole history the raw bucket keeps (the array's
//! sealed segments, the live array, and the landing zone while it holds the day), committed to a shadow state
//! beside each day's partition and swapped in by one conditional write once every source is in: readers see
//! the day as it was or as rebuilt, never half of it. The request is kept in the lake with the next day to
//! rebuild, so a rebuild too large for one invocation goes on in the next, scheduled or invoked, from the
//! shadow's last commit. docs/curated-lake.md gives the argument.
//!
//! `request` is the request and its keeping, `history` the objects it reads, `swap` the step that makes a
//! shadow the partition.

mod history;
mod request;
mod swap;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::time::Instant;

use chrono::{Days, NaiveDate};
use serde::Serialize;
use tracing::info;

use self::history::{HistoryObject, history};
pub use self::request::{MAX_DAYS, RebuildRefused, RebuildRequest};
use self::swap::{Swap, swap};
use super::partition::{self, Target};
use super::{CompactError, PartitionReport, Run};
use crate::store::{Condition, LakeStore, Listed, StoreError, Stores};

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
    /// Days whose history lacks records the day holds (they expired), kept as they were.
    pub days_kept: Vec<NaiveDate>,
    /// Sealed segments and the live array that can hold the days left, read for their days with a HEAD.
    pub history_objects: u64,
    /// Those last written too long before the first day left to hold it, passed over without a HEAD.
    pub history_written_before: u64,
    /// Over the days rebuilt, the history objects not read for a day because their days do not hold it.
    pub history_passed_over: u64,
    /// Another rebuild was asked for meanwhile: this run stopped, and that one goes on.
    pub superseded: bool,
    #[serde(flatten)]
    pub totals: PartitionReport,
}

/// Why a rebuild stopped. The days swapped in stay; the request stays for the next run.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("the rebuild's objects: {0}")]
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
    let mut kept = match asked {
        Some(asked) => {
            // The shadows of a rebuild this one replaces would otherwise keep their files for ever.
            let shadows = lake.list(&run.layout.shadow_state_prefix()).await.map_err(RebuildError::Store)?;
            for shadow in shadows {
                let date = run.layout.shadow_state_date(&shadow.key);
                if date.is_some_and(|date| date < asked.from || date > asked.to) {
                    lake.delete(&shadow.key).await.map_err(RebuildError::Store)?;
                }
            }
            info!(from = %asked.from, to = %asked.to, "rebuild asked for");
            match request::save(lake, &key, asked, Condition::Always).await? {
                Some(kept) => kept,
                None => return Ok(None),
            }
        }
        None => match request::read(lake, &key).await? {
            None => return Ok(None),
            Some(kept) => kept,
        },
    };
    let request = kept.request;
    let mut report = RebuildReport { from: Some(request.from), to: Some(request.to), ..RebuildReport::default() };
    let (history, written_before) = history(&stores.landing, run, request.next()).await.map_err(RebuildError::Store)?;
    report.history_objects = history.len() as u64;
    report.history_written_before = written_before;
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
        let advanced = RebuildRequest { next: Some(day), ..kept.request };
        match request::save(lake, &key, advanced, Condition::IfMatch(kept.etag.clone())).await? {
            Some(saved) => kept = saved,
            None => {
                info!(from = %request.from, to = %request.to, "another rebuild was asked for; this one stops");
                report.superseded = true;
                return Ok(Some(report));
            }
        }
    }
    report.days_left = (request.to.signed_duration_since(day).num_days() + 1).max(0) as u64;
    if report.days_left == 0 {
        request::finish(lake, &key, &kept).await?;
        info!(from = %request.from, to = %request.to, "rebuild finished");
    }
    Ok(Some(report))
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
    let sources: Vec<&Listed> =
        history.iter().filter(|object| object.may_hold(day)).map(|object| &object.listed).collect();
    report.history_passed_over += (history.len() - sources.len()) as u64;
    for _ in 0..run.settings.max_conflicts {
        let landed = stores.landing.list(&run.layout.landing_day_prefix(day)).await?;
        let mut present: BTreeSet<&str> = landed.iter().map(|object| object.key.as_str()).collect();
        present.extend(sources.iter().map(|object| object.key.as_str()));
        let mut ready = sources.clone();
        // The whole landing zone, the grace aside: a scheduled run may take an object this run's clock
        // finds too young, and the swap needs every object the day's state lists.
        ready.extend(partition::oldest_first(landed.iter()));
        let shadow = partition::compact(stores, run, day, Target::Shadow, &present, &ready).await?;
        let left = shadow.objects_left;
        report.totals.add(&shadow);
        if left > 0 {
            return Ok(false);
        }
        match swap(stores, run, day, report).await? {
            Swap::Done => return Ok(true),
            Swap::OutOfTime => return Ok(false),
            // A landed object the partition has and the shadow has not (compacted meanwhile): take it in.
            Swap::Behind => continue,
        }
    }
    Err(CompactError::Contended { date: day, conflicts: run.settings.max_conflicts })
}
