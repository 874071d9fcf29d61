//! Rebuild scenarios against a real S3 API on loopback (moto): a curated lake deleted whole comes back from
//! the array's sealed segments, the live array and what the landing zone still holds, each record once,
//! through S3 faults and a rebuild killed between any two of its writes; readers see each day whole, as
//! it was or as rebuilt, never half of it.

use std::collections::HashSet;

use compactor::compaction::rebuild::RebuildRequest;
use shared::UserSession;

use crate::support::faults::FaultyLake;
use crate::support::moto::{MotoLake, records, row_id, settings};

const DAY_1: &str = "2026-11-28T10:00:00Z";
const DAY_2: &str = "2026-11-29T10:00:00Z";

fn request() -> RebuildRequest {
    let event = serde_json::json!({ "rebuild": { "from": "2026-11-28", "to": "2026-11-29" } });
    RebuildRequest::from_event(&event).expect("valid").expect("a rebuild")
}

/// Two days of history: segments of both days (one written before arrays said their days), the live
/// array, and a landing zone that holds only the last records of the second day (the rest expired); a
/// segment of another day the rebuild passes over. The lake is compacted from the landing zone.
async fn history(lake: &MotoLake, seed: u64) -> (Vec<UserSession>, Vec<UserSession>) {
    let (first, second) = (records(seed, 80, DAY_1), records(seed + 1, 120, DAY_2));
    let other = records(seed + 2, 30, "2026-11-27T10:00:00Z");
    lake.put_array("streaming_data/00000001.json", &other, Some(("2026-11-27", "2026-11-27"))).await;
    lake.put_array("streaming_data/00000002.json", &[&first[..], &second[..30]].concat(), None).await;
    lake.put_array("streaming_data/00000003.json", &second[20..90], Some(("2026-11-29", "2026-11-29"))).await;
    lake.put_array("streaming_data.json", &second[80..], Some(("2026-11-29", "2026-11-29"))).await;
    lake.land(&DAY_2[..10], "recent", &second[100..]).await;
    lake.run(&lake.stores, &settings()).await.expect("compacted");
    (first, second)
}

/// The ids of the table readers see, each asserted once.
async fn seen(lake: &MotoLake) -> HashSet<String> {
    let table = lake.table().await;
    assert!(table.values().all(|count| *count == 1), "a record twice");
    table.into_keys().collect()
}

fn ids(records: &[UserSession]) -> HashSet<String> {
    records.iter().map(row_id).collect()
}

#[tokio::test]
async fn a_lake_deleted_whole_is_rebuilt_from_the_history_each_record_once_through_faults() {
    let lake = MotoLake::new().await;
    let (first, second) = history(&lake, 40).await;
    lake.delete_curated().await;
    let faulty = lake.faulty(|store| FaultyLake::random(store, 0.3, 11));
    let _ = lake.rebuild(&faulty, Some(request())).await;
    for _ in 0..20 {
        let _ = lake.rebuild(&faulty, None).await;
        let seen = seen(&lake).await;
        // A day is there whole or not at all.
        for day in [ids(&first), ids(&second)] {
            assert!(day.is_subset(&seen) || day.is_disjoint(&seen), "half a day");
        }
    }
    // Whatever the faults left, clean runs finish it (asking again if no request was ever saved).
    if lake.rebuild(&lake.stores, None).await.expect("clean").is_none() {
        lake.rebuild(&lake.stores, Some(request())).await.expect("clean");
    }
    let all: HashSet<String> = ids(&first).union(&ids(&second)).cloned().collect();
    assert_eq!(seen(&lake).await, all);
}

#[tokio::test]
async fn a_rebuild_killed_between_any_two_writes_leaves_each_day_whole_and_the_next_run_finishes_it() {
    for writes in 0.. {
        assert!(writes <= 80, "a rebuild needs more writes than expected");
        let lake = MotoLake::new().await;
        let (first, second) = history(&lake, 50).await;
        let landed = ids(&second[100..]);
        assert_eq!(seen(&lake).await, landed);
        let killed =
            lake.rebuild(&lake.faulty(|store| FaultyLake::dying_after_writes(store, writes)), Some(request())).await;
        let finished = killed.is_ok_and(|report| report.is_some_and(|report| report.days_left == 0));
        let seen_then = seen(&lake).await;
        assert!(ids(&first).is_subset(&seen_then) || ids(&first).is_disjoint(&seen_then), "half of the first day");
        assert!(seen_then.is_subset(&ids(&first).union(&ids(&second)).cloned().collect()));
        assert!(
            landed.is_subset(&seen_then)
                && (seen_then.is_disjoint(&ids(&second[..100])) || ids(&second).is_subset(&seen_then)),
            "the second day as it was or whole: after {writes} writes, {} of the landed, {} of the rest",
            landed.intersection(&seen_then).count(),
            ids(&second[..100]).intersection(&seen_then).count()
        );
        if lake.rebuild(&lake.stores, None).await.expect("the next run").is_none() {
            lake.rebuild(&lake.stores, Some(request())).await.expect("asked again");
        }
        let all: HashSet<String> = ids(&first).union(&ids(&second)).cloned().collect();
        assert_eq!(seen(&lake).await, all);
        if finished {
            break;
        }
    }
}
