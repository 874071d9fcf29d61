//! Rebuilds on the in-memory store: from every source each record once, readers seeing the old day until
//! the swap, a rebuild that stopped going on from its shadow, and never a day made smaller.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use shared::UserSession;
use shared::array::{FIRST_DAY_METADATA, LAST_DAY_METADATA};

use super::{RebuildRefused, RebuildRequest};
use crate::compaction::partition::{self, Target};
use crate::compaction::tests::{date, ids, land, layout, records_from, run, settings, table, time};
use crate::compaction::{Run, Settings};
use crate::curate::PersonalData;
use crate::store::memory::MemoryLake;
use crate::store::{Condition, LakeStore, Stores};

/// `records` as the consumer's array: a record a line between brackets.
fn array(records: &[UserSession]) -> Bytes {
    let lines: Vec<String> = records.iter().map(|record| record.to_json().expect("encodes")).collect();
    Bytes::from(format!("[\n{}\n]\n", lines.join(",\n")))
}

fn put_array(lake: &MemoryLake, key: &str, records: &[UserSession], days: Option<(&str, &str)>) {
    let metadata: Vec<(&str, &str)> =
        days.map(|(first, last)| vec![(FIRST_DAY_METADATA, first), (LAST_DAY_METADATA, last)]).unwrap_or_default();
    lake.put_with_metadata(key, array(records), &metadata);
}

fn request(from: &str, to: &str) -> RebuildRequest {
    let event = serde_json::json!({ "rebuild": { "from": from, "to": to } });
    RebuildRequest::from_event(&event).expect("valid").expect("a rebuild")
}

/// The report of a run that asks for the rebuild of `from` to `to`.
async fn rebuilt(stores: &Stores<MemoryLake>, run: &Run<'_>, from: &str, to: &str) -> super::RebuildReport {
    crate::compaction::rebuild(stores, run, Some(request(from, to))).await.expect("rebuilt").expect("a rebuild")
}

fn a_run<'a>(layout: &'a crate::lake::layout::Layout, settings: &'a Settings, now: &str) -> Run<'a> {
    Run {
        layout,
        settings,
        personal: &PersonalData::Raw,
        now: time(now),
        stop_at: Instant::now() + Duration::from_secs(60),
        take_until: Instant::now() + Duration::from_secs(60),
    }
}

/// The 29th's 300 records spread over two segments (one without days), the live array and the landing
/// zone, with overlaps; a segment of the 30th only. The partition holds what the landing zone had.
async fn history(lake: &MemoryLake) -> Vec<UserSession> {
    let day = records_from(11, 300, "2026-11-29T10:00:00Z");
    let next_day = records_from(12, 100, "2026-11-30T10:00:00Z");
    put_array(lake, "streaming_data/00000001.json", &day[..150], Some(("2026-11-29", "2026-11-29")));
    put_array(lake, "streaming_data/00000002.json", &next_day, Some(("2026-11-30", "2026-11-30")));
    put_array(lake, "streaming_data/00000003.json", &[&day[100..200], &next_day[..10]].concat(), None);
    put_array(lake, "streaming_data.json", &day[200..250], Some(("2026-11-29", "2026-11-30")));
    land(lake, "late", &[&day[250..], &day[..10]].concat()).await;
    run(lake, &settings(), "2026-11-29T12:00:00Z").await;
    assert_eq!(table(lake).await.len(), 60);
    day
}

#[test]
fn a_rebuild_is_asked_for_by_days_and_anything_else_is_refused_by_name() {
    use serde_json::json;
    assert_eq!(RebuildRequest::from_event(&json!({})), Ok(None), "the schedule's event");
    assert_eq!(request("2026-11-01", "2026-11-01").from, chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("valid"));
    let refused = |event| RebuildRequest::from_event(&event).expect_err("refused").to_string();
    assert!(
        refused(json!({"rebuild": {"from": "2026-11-31", "to": "2026-12-01"}}))
            .starts_with(r#"a rebuild is asked for as {"rebuild": {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}}: "#)
    );
    assert!(refused(json!({"rebuild": {"from": "2026-11-01"}})).contains("missing field `to`"));
    assert!(refused(json!({"rebuild": {"from": "2026-11-01", "to": "2026-11-02", "x": 1}})).contains("unknown field"));
    assert_eq!(
        RebuildRequest::from_event(&json!({"rebuild": {"from": "2026-11-02", "to": "2026-11-01"}})),
        Err(RebuildRefused::Backwards {
            from: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).expect("valid"),
            to: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("valid"),
        })
    );
    assert_eq!(
        refused(json!({"rebuild": {"from": "2000-01-01", "to": "2026-11-01"}})),
        "a rebuild takes at most 3660 days; 2000-01-01 to 2026-11-01 is more"
    );
}

#[tokio::test]
async fn a_day_is_rebuilt_from_segments_array_and_landing_each_record_once_reading_only_what_holds_it() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let day = history(&lake).await;
    let (layout, settings) = (layout(), settings());
    let run = a_run(&layout, &settings, "2026-11-29T13:00:00Z");
    let stores = Stores::single(lake.clone());
    let report = rebuilt(&stores, &run, "2026-11-29", "2026-11-29").await;
    assert_eq!((report.days_rebuilt, report.days_left), (1, 0));
    assert_eq!((report.history_objects, report.history_passed_over), (4, 1), "the 30th's segment is not read");
    assert_eq!((report.totals.records_written, report.totals.other_days), (300, 10));
    let table = table(&lake).await;
    assert_eq!(table.len(), 300);
    assert!(ids(&day).iter().all(|id| table.get(id) == Some(&1)));
    let objects = lake.objects();
    assert!(!objects.contains_key(&layout.rebuild_key()) && !objects.contains_key(&layout.shadow_state_key(date())));
    // Nothing under way: the next run has no rebuild to go on with.
    assert_eq!(crate::compaction::rebuild(&stores, &run, None).await.expect("nothing"), None);
}

#[tokio::test]
async fn a_rebuild_that_stopped_goes_on_from_its_shadow_and_readers_see_the_old_day_until_the_swap() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let day = history(&lake).await;
    let (layout, settings) = (layout(), settings());
    let stores = Stores::single(lake.clone());
    // An invocation that committed two segments to the shadow, one commit each, and stopped: the shadow's
    // generation passes the partition's, and still no manifest shows it.
    let first = a_run(&layout, &settings, "2026-11-29T13:00:00Z");
    let small = Settings { input_bytes_per_commit: 1, ..settings.clone() };
    let shadow_run = Run { settings: &small, ..first.clone() };
    let segments = lake.list("streaming_data/").await.expect("listed");
    let present: BTreeSet<&str> = segments.iter().map(|object| object.key.as_str()).collect();
    let ready = [&segments[0], &segments[2]];
    let shadow = partition::compact(&stores, &shadow_run, date(), Target::Shadow, &present, &ready).await;
    assert_eq!(shadow.expect("shadow commits").commits, 2);
    let stopped = Run { stop_at: Instant::now(), ..first.clone() };
    let report =
        crate::compaction::rebuild(&stores, &stopped, Some(request("2026-11-29", "2026-11-30"))).await.expect("asked");
    assert_eq!(report.expect("a rebuild").days_left, 2);
    assert_eq!(table(&lake).await.len(), 60, "readers see the day as it was");
    assert!(lake.objects().contains_key(&layout.shadow_state_key(date())));

    // The next run, scheduled, finds the request and goes on: the shadow's commit is kept, not redone.
    let next = a_run(&layout, &settings, "2026-11-29T14:00:00Z");
    let report = crate::compaction::rebuild(&stores, &next, None).await.expect("went on").expect("a rebuild");
    assert_eq!((report.days_rebuilt, report.days_left), (2, 0));
    assert_eq!(report.totals.records_written, 100 + 100, "the rest of the 29th, and the 30th");
    assert!(lake.objects().keys().all(|key| !key.starts_with(&layout.shadow_state_prefix())));
    let table = table(&lake).await;
    assert_eq!(table.len(), 300);
    assert!(ids(&day).iter().all(|id| table.get(id) == Some(&1)));
}

#[tokio::test]
async fn a_history_that_lost_records_of_a_day_leaves_the_day_as_it_was() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let day = records_from(13, 40, "2026-11-29T10:00:00Z");
    land(&lake, "a", &day).await;
    run(&lake, &settings(), "2026-11-29T12:00:00Z").await;
    // Only half of the day is in the array's history (the rest expired with its segments), beside more
    // records than the day lost: the shadow is larger, and still lacks records the day holds.
    let more = records_from(18, 30, "2026-11-29T11:00:00Z");
    put_array(
        &lake,
        "streaming_data/00000009.json",
        &[&day[..20], &more[..]].concat(),
        Some(("2026-11-29", "2026-11-29")),
    );
    lake.delete("landing/dt=2026-11-29/a.ndjson").await.expect("expired");
    let (layout, settings) = (layout(), settings());
    let run = a_run(&layout, &settings, "2026-11-29T13:00:00Z");
    let report = rebuilt(&Stores::single(lake.clone()), &run, "2026-11-29", "2026-11-29").await;
    assert_eq!((report.days_rebuilt, report.days_kept, report.days_left), (0, vec![date()], 0));
    assert_eq!(table(&lake).await.len(), 40);
}

#[tokio::test]
async fn rebuilding_one_day_of_a_hundred_segments_reads_at_most_three_segments_beyond_its_records() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    // Ten days of records, 432 seconds apart, sealed in order into 100 segments of 20 records each: ten
    // segments a day, some straddling a midnight.
    let history = records_from(14, 2_000, "2026-11-20T00:03:00Z");
    let history: Vec<UserSession> = history
        .into_iter()
        .enumerate()
        .map(|(n, mut record)| {
            record.accessed_at = time("2026-11-20T00:03:00Z").naive_utc() + chrono::Duration::seconds(432 * n as i64);
            record
        })
        .collect();
    let mut largest = 0;
    for (n, segment) in history.chunks(20).enumerate() {
        let days: Vec<String> = [segment[0].accessed_at, segment[19].accessed_at]
            .iter()
            .map(|at| at.date().format("%Y-%m-%d").to_string())
            .collect();
        let key = format!("streaming_data/{:08}.json", n + 1);
        put_array(&lake, &key, segment, Some((&days[0], &days[1])));
        largest = largest.max(array(segment).len() as u64);
    }
    let (layout, settings) = (layout(), settings());
    let run = a_run(&layout, &settings, "2026-11-30T13:00:00Z");
    let report = rebuilt(&Stores::single(lake.clone()), &run, "2026-11-24", "2026-11-24").await;
    let day: Vec<&UserSession> =
        history.iter().filter(|record| record.accessed_at.date().to_string() == "2026-11-24").collect();
    let day_bytes: u64 = day.iter().map(|record| record.to_json().expect("encodes").len() as u64 + 2).sum();
    assert_eq!((report.days_rebuilt, report.totals.records_written), (1, day.len() as u64));
    let beyond = report.totals.landed_bytes - day_bytes;
    assert!(beyond <= 3 * largest, "read {beyond} bytes beyond the day's, more than 3 segments of {largest}");
    assert!(report.history_passed_over >= 88, "{} passed over", report.history_passed_over);
}

#[tokio::test]
async fn a_new_request_drops_the_shadows_of_days_it_does_not_rebuild() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    history(&lake).await;
    let (layout, settings) = (layout(), settings());
    let stores = Stores::single(lake.clone());
    let segments = lake.list("streaming_data/00000001.json").await.expect("listed");
    let present: BTreeSet<&str> = segments.iter().map(|object| object.key.as_str()).collect();
    let ready: Vec<_> = segments.iter().collect();
    let first = a_run(&layout, &settings, "2026-11-29T13:00:00Z");
    partition::compact(&stores, &first, date(), Target::Shadow, &present, &ready).await.expect("a shadow commit");
    let stopped = Run { stop_at: Instant::now(), ..first.clone() };
    crate::compaction::rebuild(&stores, &stopped, Some(request("2026-11-30", "2026-11-30"))).await.expect("asked");
    assert!(!lake.objects().contains_key(&layout.shadow_state_key(date())));
}

#[tokio::test]
async fn a_segment_larger_than_a_commits_input_is_read_a_part_at_a_time_each_record_once() {
    let (raw, lake) = (MemoryLake::new(time("2026-11-29T10:00:00Z")), MemoryLake::new(time("2026-11-29T10:00:00Z")));
    let day = records_from(15, 6_000, "2026-11-29T10:00:00Z");
    put_array(&raw, "streaming_data/00000001.json", &day[..5_000], Some(("2026-11-29", "2026-11-29")));
    put_array(&raw, "streaming_data.json", &day[4_900..], Some(("2026-11-29", "2026-11-29")));
    raw.reset_traffic();
    let layout = layout();
    // 2 MiB a commit (a part's least), so the segment of about 2.7 MB takes two parts.
    let settings = Settings { input_bytes_per_commit: 2 << 20, ..settings() };
    let run = a_run(&layout, &settings, "2026-11-29T13:00:00Z");
    let stores = Stores { landing: raw.clone(), lake: lake.clone() };
    let report = rebuilt(&stores, &run, "2026-11-29", "2026-11-29").await;
    assert!(report.totals.commits >= 3, "{} commits", report.totals.commits);
    assert_eq!((report.days_rebuilt, report.totals.records_written, report.totals.rejected_lines), (1, 6_000, 0));
    // Each byte of the history read once, the segment's last part by range too, not the whole object again:
    // beyond it only the line a part's end cuts, read again by the next part, and a byte to check it
    // begins a line.
    let history: u64 = raw.list("streaming_data").await.expect("listed").iter().map(|object| object.size).sum();
    assert!(raw.traffic().read <= history + 4096, "read {} of a history of {history}", raw.traffic().read);
    let table = table(&lake).await;
    assert_eq!(table.len(), 6_000);
    assert!(ids(&day).iter().all(|id| table.get(id) == Some(&1)));
}

#[tokio::test]
async fn a_part_begins_on_a_line_or_the_object_is_read_again_from_its_start() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    lake.put_with_metadata("a.json", Bytes::from_static(b"abc\ndef\nghi\n"), &[]);
    let object = lake.list("a.json").await.expect("listed").remove(0);
    let part = |from, budget| {
        let (lake, object) = (lake.clone(), object.clone());
        async move {
            match partition::read_part(&lake, &object, from, budget).await.expect("read") {
                partition::Part::Lines { body, end, whole } => Some((body, end, whole)),
                partition::Part::LineTooLong => None,
            }
        }
    };
    assert_eq!(part(0, 6).await, Some((Bytes::from_static(b"abc\n"), 4, false)));
    assert_eq!(part(4, 6).await, Some((Bytes::from_static(b"def\n"), 8, false)));
    assert_eq!(part(8, 6).await, Some((Bytes::from_static(b"ghi\n"), 12, true)));
    assert_eq!(part(5, 6).await, Some((Bytes::from_static(b"abc\n"), 4, false)), "not a line's start");
    assert_eq!(part(40, 6).await, Some((Bytes::from_static(b"abc\n"), 4, false)), "beyond the end");
    assert_eq!(part(0, 2).await, None, "a line longer than the budget");
}

#[tokio::test]
async fn segments_sealed_more_than_a_day_before_the_days_are_passed_over_unread() {
    let lake = MemoryLake::new(time("2026-11-01T10:00:00Z"));
    // Sealed on the 1st, saying nothing of its days: it cannot hold the 29th, whatever it says.
    put_array(&lake, "streaming_data/00000001.json", &records_from(16, 10, "2026-11-01T09:00:00Z"), None);
    lake.set_now(time("2026-11-29T10:00:00Z"));
    let day = records_from(17, 20, "2026-11-29T09:00:00Z");
    put_array(&lake, "streaming_data/00000002.json", &day, None);
    let (layout, settings) = (layout(), settings());
    let run = a_run(&layout, &settings, "2026-11-29T13:00:00Z");
    let report = rebuilt(&Stores::single(lake.clone()), &run, "2026-11-29", "2026-11-29").await;
    assert_eq!((report.history_objects, report.history_written_before), (1, 1));
    assert_eq!((report.totals.landed_objects, report.totals.records_written), (1, 20));
}

#[tokio::test]
async fn a_shadow_that_lacks_a_landed_object_the_day_compacted_meanwhile_is_not_swapped_in() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let day = records_from(19, 30, "2026-11-29T10:00:00Z");
    put_array(&lake, "streaming_data/00000001.json", &day[..20], Some(("2026-11-29", "2026-11-29")));
    let (layout, settings) = (layout(), settings());
    let stores = Stores::single(lake.clone());
    let first = a_run(&layout, &settings, "2026-11-29T13:00:00Z");
    let segments = lake.list("streaming_data/").await.expect("listed");
    let present: BTreeSet<&str> = segments.iter().map(|object| object.key.as_str()).collect();
    let ready: Vec<_> = segments.iter().collect();
    partition::compact(&stores, &first, date(), Target::Shadow, &present, &ready).await.expect("a shadow commit");
    // A scheduled run compacts an object that landed after the shadow was made.
    land(&lake, "meanwhile", &day[20..]).await;
    run(&lake, &settings, "2026-11-29T14:00:00Z").await;
    let mut report = super::RebuildReport::default();
    let swapped = super::swap::swap(&stores, &first, date(), &mut report).await.expect("read");
    assert!(matches!(swapped, super::swap::Swap::Behind), "swapped in without the object");
    assert_eq!(table(&lake).await.len(), 10);
    // The rebuild takes it in and then swaps.
    let report = rebuilt(&stores, &first, "2026-11-29", "2026-11-29").await;
    assert_eq!(report.days_rebuilt, 1);
    let table = table(&lake).await;
    assert!(table.len() == 30 && ids(&day).iter().all(|id| table.get(id) == Some(&1)));
}

#[tokio::test]
async fn a_rebuild_replaced_meanwhile_cannot_advance_the_request() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let key = layout().rebuild_key();
    let first = super::request::save(&lake, &key, request("2026-11-01", "2026-11-02"), Condition::Always)
        .await
        .expect("saved")
        .expect("written");
    super::request::save(&lake, &key, request("2026-11-10", "2026-11-12"), Condition::Always).await.expect("saved");
    let advanced =
        RebuildRequest { next: Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 2).expect("valid")), ..first.request };
    let stale = super::request::save(&lake, &key, advanced, Condition::IfMatch(first.etag.clone())).await.expect("ran");
    assert!(stale.is_none(), "the older rebuild overwrote the newer one");
    super::request::finish(&lake, &key, &first).await.expect("ran");
    let kept = super::request::read(&lake, &key).await.expect("read").expect("still there");
    assert_eq!(kept.request.from, chrono::NaiveDate::from_ymd_opt(2026, 11, 10).expect("valid"));
}

#[tokio::test]
async fn a_day_whose_files_do_not_say_their_times_is_checked_by_their_statistics_and_swapped_in() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let day = records_from(21, 30, "2026-11-29T10:00:00Z");
    // A partition of an earlier version: its state gives no file's times.
    crate::table::fixtures::older_schema_partition(&lake, &layout(), date(), &day[..20], &PersonalData::Raw).await;
    put_array(&lake, "streaming_data/00000001.json", &day, Some(("2026-11-29", "2026-11-29")));
    let (layout, settings) = (layout(), settings());
    let run = a_run(&layout, &settings, "2026-11-29T13:00:00Z");
    let report = rebuilt(&Stores::single(lake.clone()), &run, "2026-11-29", "2026-11-29").await;
    assert_eq!((report.days_rebuilt, report.days_kept.len()), (1, 0));
    let table = table(&lake).await;
    assert!(table.len() == 30 && ids(&day).iter().all(|id| table.get(id) == Some(&1)));
}
