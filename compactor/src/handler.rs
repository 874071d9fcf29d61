//! The Lambda handler: an event starts one run over the buckets: the pending erasure requests, then the
//! compaction, a rebuild under way, and the sweep of erased persons' records that arrived again. The
//! schedule's event says nothing more; `{"rebuild": {"from": …, "to": …}}` starts a rebuild. The run's account is the response, and a partition that failed makes the
//! invocation fail, so the function's Errors metric and alarm see it.

use std::time::{Duration, Instant};

use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use crate::compaction::rebuild::{RebuildError, RebuildRefused, RebuildRequest};
use crate::compaction::{self, Report, Run, RunError};
use crate::curate::PersonalData;
use crate::erasure::{self, ErasureError, ErasureReport};
use crate::lake::layout::Layout;
use crate::store::{LakeStore, Stores};

/// Time kept back at the end of an invocation: no commit is started later, and one in flight takes no more
/// landed objects in its second half, so it finishes (a commit of the default input takes a few seconds:
/// docs/curated-lake.md).
const COMMIT_ALLOWANCE: Duration = Duration::from_secs(120);

/// What the handler needs, built once per container.
pub struct Compactor<S> {
    pub stores: Stores<S>,
    pub layout: Layout,
    pub settings: compaction::Settings,
    pub personal: PersonalData,
}

/// Why an invocation failed. The committed work of the other partitions stays.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    RebuildRefused(#[from] RebuildRefused),
    #[error(transparent)]
    Rebuild(#[from] RebuildError),
    #[error(transparent)]
    Erasure(#[from] ErasureError),
    #[error("{0} erasure requests were refused and moved to erasure/refused/ with their reasons")]
    ErasureRefused(usize),
    #[error("{} partitions were not compacted: {}", .0.len(), dates(.0))]
    Partitions(Vec<chrono::NaiveDate>),
    #[error("{0} landed lines are not records and were left out; the log names each object and line")]
    Rejected(u64),
    #[error("{0} landed objects inflate beyond the input budget; they are left in the landing zone, named in the log")]
    TooLarge(u64),
    #[error("the curated partitions could not be listed to delete those past the retention; the log says why")]
    RetentionUnlisted,
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match error {
            HandlerError::Run(RunError::List(_)) => "ListFailed",
            HandlerError::Run(RunError::KeyRefused(_)) => "PseudonymKeyRefused",
            HandlerError::Run(_) => "KeyLedgerFailed",
            HandlerError::RebuildRefused(_) => "RebuildRefused",
            HandlerError::Rebuild(_) => "RebuildFailed",
            HandlerError::Erasure(_) => "ErasureFailed",
            HandlerError::ErasureRefused(_) => "ErasureRequestRefused",
            HandlerError::Partitions(_) => "PartitionsNotCompacted",
            HandlerError::Rejected(_) => "LandedLinesRejected",
            HandlerError::TooLarge(_) => "LandedObjectsTooLarge",
            HandlerError::RetentionUnlisted => "RetentionUnlisted",
        };
        Diagnostic { error_type: error_type.into(), error_message: error.to_string() }
    }
}

fn dates(dates: &[chrono::NaiveDate]) -> String {
    dates.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Takes the pending erasure requests, runs one compaction over the buckets, sweeps out erased persons'
/// records that arrived again, reports it all, and fails the invocation if any of it failed.
pub async fn handle<S: LakeStore>(compactor: &Compactor<S>, event: LambdaEvent<Value>) -> Result<Report, HandlerError> {
    let asked = RebuildRequest::from_event(&event.payload)?;
    let started = Instant::now();
    let stop_at = shared::deadline::stop_at(started, event.context.deadline, COMMIT_ALLOWANCE);
    let run = Run {
        layout: &compactor.layout,
        settings: &compactor.settings,
        personal: &compactor.personal,
        now: Utc::now(),
        stop_at,
        take_until: shared::deadline::stop_at(started, event.context.deadline, COMMIT_ALLOWANCE / 2),
    };
    // Requests go first, with half the time at most, so the landing zone is compacted by every run.
    let erase_until = started + stop_at.saturating_duration_since(started) / 2;
    let taken = erasure::take_requests(&compactor.stores, &run, erase_until).await;
    let mut report = compaction::compact(&compactor.stores, &run).await?;
    let rebuilt = compaction::rebuild(&compactor.stores, &run, asked).await;
    if let Ok(rebuild) = &rebuilt {
        report.rebuild.clone_from(rebuild);
    }
    let (mut erasure, taken) = match taken {
        Ok(erasure) => (erasure, Ok(())),
        Err(failure) => (ErasureReport::default(), Err(failure)),
    };
    let swept = erasure::sweep(&compactor.stores, &run, run.stop_at, &mut erasure).await;
    report.erasure = erasure;
    // The run's account is logged whatever failed; the first failure fails the invocation.
    report.log();
    rebuilt?;
    taken?;
    swept?;
    if !report.erasure.refused.is_empty() {
        return Err(HandlerError::ErasureRefused(report.erasure.refused.len()));
    }
    if !report.failed_partitions.is_empty() {
        return Err(HandlerError::Partitions(report.failed_partitions));
    }
    if report.retention_unlisted {
        return Err(HandlerError::RetentionUnlisted);
    }
    // Reported once, by the run that compacted the object: the rest of it is in the table.
    if report.totals.rejected_lines > 0 {
        return Err(HandlerError::Rejected(report.totals.rejected_lines));
    }
    if report.totals.objects_too_large > 0 {
        return Err(HandlerError::TooLarge(report.totals.objects_too_large));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use bytes::Bytes;
    use lambda_runtime::Context;

    use super::*;
    use crate::compaction::tests::{layout, settings, time};
    use crate::store::Condition;
    use crate::store::memory::MemoryLake;

    fn invocation() -> LambdaEvent<Value> {
        let mut context = Context::default();
        let deadline = SystemTime::now() + Duration::from_secs(900);
        context.deadline = deadline.duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as u64;
        LambdaEvent::new(serde_json::json!({}), context)
    }

    #[tokio::test]
    async fn a_refused_request_fails_the_invocation_by_name_after_the_run_did_the_rest() {
        let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
        let compactor = Compactor {
            stores: Stores::single(lake.clone()),
            layout: layout(),
            settings: settings(),
            personal: PersonalData::Raw,
        };
        let bad = Bytes::from_static(b"{\"names\":[\"x\"]}");
        lake.put("erasure/requests/t.json", bad, Condition::Always).await.expect("put");
        let good = Bytes::from_static(b"{\"emails\":[\"nobody@example.invalid\"]}");
        lake.put("erasure/requests/u.json", good, Condition::Always).await.expect("put");

        let error = handle(&compactor, invocation()).await.expect_err("a request was refused");

        assert_eq!(Diagnostic::from(error).error_type, "ErasureRequestRefused");
        let objects = lake.objects();
        assert!(objects.contains_key("erasure/refused/t.json") && objects.contains_key("erasure/receipts/u.json"));
        assert!(!objects.keys().any(|key| key.starts_with("erasure/requests/")));
    }
}
