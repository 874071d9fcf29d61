use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use shared::UserSession;

use super::{Run, Settings, compact};
use crate::curate::PersonalData;
use crate::lake::layout::Layout;
use crate::lake::state::PartitionState;
use crate::store::memory::MemoryLake;
use crate::store::{Condition, LakeStore, Stores};
use crate::table::reader::for_each_unique_id;

pub(crate) fn layout() -> Layout {
    Layout {
        curated_bucket: "lake".into(),
        landing_prefix: "landing/".into(),
        curated_prefix: "curated/".into(),
        array_key: "streaming_data.json".into(),
        errors_prefix: "errors/".into(),
    }
}

pub(crate) fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("valid").to_utc()
}

pub(crate) fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 29).expect("valid")
}

pub(crate) fn records(seed: u64, count: usize) -> Vec<UserSession> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count).map(|_| producer::generator::user_session(&mut rng, time("2026-11-29T10:00:00Z"))).collect()
}

pub(crate) async fn land(lake: &MemoryLake, name: &str, records: &[UserSession]) {
    let text: String = records.iter().map(|record| record.to_json().expect("encodes") + "\n").collect();
    let key = format!("landing/dt=2026-11-29/{name}.ndjson");
    lake.put(&key, Bytes::from(text), Condition::Always).await.expect("landed");
}

pub(crate) async fn run(lake: &MemoryLake, settings: &Settings, now: &str) -> super::Report {
    let layout = layout();
    let run = Run {
        layout: &layout,
        settings,
        personal: &PersonalData::Raw,
        now: time(now),
        stop_at: Instant::now() + Duration::from_secs(60),
        take_until: Instant::now() + Duration::from_secs(60),
    };
    compact(&Stores::single(lake.clone()), &run).await.expect("listed")
}

/// How many times each `unique_id` is in the files the manifest lists.
pub(crate) async fn table(lake: &MemoryLake) -> HashMap<String, usize> {
    let manifest = lake.objects().get(&layout().manifest_key(date())).cloned().unwrap_or_default();
    let mut counts = HashMap::new();
    for line in std::str::from_utf8(&manifest).expect("text").lines() {
        let key = line.strip_prefix("s3://lake/").expect("a URI of the bucket");
        let size = lake.objects()[key].len() as u64;
        for_each_unique_id(lake, key, size, |id| *counts.entry(id.to_owned()).or_default() += 1).await.expect("a file");
    }
    counts
}

/// The partition's committed state.
pub(crate) fn state(lake: &MemoryLake) -> PartitionState {
    PartitionState::from_json("state", &lake.objects()[&layout().state_key(date())]).expect("a state")
}

pub(crate) fn ids(records: &[UserSession]) -> Vec<String> {
    records.iter().map(|record| record.unique_id.to_string()).collect()
}

pub(crate) fn settings() -> Settings {
    Settings { grace: Duration::from_secs(60), ..Settings::default() }
}

#[tokio::test]
async fn a_record_landed_twice_is_in_the_table_once() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let produced = records(1, 30);
    land(&lake, "a", &produced[..20]).await;
    land(&lake, "b", &produced[10..]).await;
    let report = run(&lake, &settings(), "2026-11-29T11:00:00Z").await;
    assert_eq!((report.totals.records_read, report.totals.duplicates, report.totals.records_written), (40, 10, 30));
    let table = table(&lake).await;
    assert_eq!(table.len(), 30);
    assert!(ids(&produced).iter().all(|id| table.get(id) == Some(&1)));
}

#[tokio::test]
async fn late_records_join_the_partition_once_and_its_small_file_is_rewritten() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let produced = records(2, 30);
    land(&lake, "a", &produced[..20]).await;
    run(&lake, &settings(), "2026-11-29T11:00:00Z").await;
    let first: Vec<String> = lake.objects().keys().filter(|key| key.ends_with(".parquet")).cloned().collect();
    lake.set_now(time("2026-11-29T12:00:00Z"));
    land(&lake, "late", &produced[15..]).await;
    let report = run(&lake, &settings(), "2026-11-29T13:00:00Z").await;
    assert_eq!((report.totals.duplicates, report.totals.files_merged, report.totals.files), (5, 1, 1));
    let table = table(&lake).await;
    assert_eq!(table.len(), 30);
    assert!(table.values().all(|count| *count == 1));
    // The replaced file stays, unlisted, until it is older than any reader of the old manifest.
    assert!(lake.objects().contains_key(&first[0]));
    run(&lake, &settings(), "2026-11-30T14:00:00Z").await;
    assert!(!lake.objects().contains_key(&first[0]));
    assert_eq!(lake.objects().keys().filter(|key| key.ends_with(".parquet")).count(), 1);
}

/// `count` records a second apart from `start`.
pub(crate) fn records_from(seed: u64, count: usize, start: &str) -> Vec<UserSession> {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = DateTime::parse_from_rfc3339(start).expect("valid").to_utc();
    (0..count)
        .map(|n| producer::generator::user_session(&mut rng, start + chrono::Duration::seconds(n as i64)))
        .collect()
}

#[tokio::test]
async fn a_commit_searches_only_the_files_whose_times_meet_its_rows() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let settings = Settings { target_file_bytes: 32 << 10, ..settings() };
    // Three batches of rows, so three files (a file is cut between batches).
    let morning = records_from(4, 17_000, "2026-11-29T00:00:00Z");
    land(&lake, "morning", &morning).await;
    run(&lake, &settings, "2026-11-29T11:00:00Z").await;
    let files = state(&lake).files;
    assert!(files.len() >= 3, "{} files", files.len());
    let small = files.iter().filter(|file| file.bytes < 32 << 10).count() as u64;

    lake.set_now(time("2026-11-29T13:00:00Z"));
    let noon = records_from(5, 100, "2026-11-29T12:00:00Z");
    land(&lake, "noon", &noon).await;
    let report = run(&lake, &settings, "2026-11-29T14:00:00Z").await;
    assert_eq!((report.totals.files_searched, report.totals.records_written), (small, 100), "only the small file");

    // A copy of a morning record, redelivered hours later, is found in the one file that spans its time.
    lake.set_now(time("2026-11-29T15:00:00Z"));
    let small = state(&lake).files.iter().filter(|file| file.bytes < 32 << 10).count() as u64;
    let afternoon = records_from(6, 10, "2026-11-29T14:30:00Z");
    land(&lake, "late-copy", &[&afternoon[..], &morning[10_000..10_001]].concat()).await;
    let report = run(&lake, &settings, "2026-11-29T16:00:00Z").await;
    assert_eq!((report.totals.files_searched, report.totals.duplicates), (small + 1, 1));

    // A record of the morning that is not a copy, late: the Bloom filters of the file that spans its time
    // say it is not there, and its ids are not read.
    lake.set_now(time("2026-11-29T17:00:00Z"));
    let small = state(&lake).files.iter().filter(|file| file.bytes < 32 << 10).count() as u64;
    let late = records_from(8, 1, "2026-11-29T02:46:40.5Z");
    land(&lake, "late-new", &late).await;
    let report = run(&lake, &settings, "2026-11-29T18:00:00Z").await;
    assert_eq!(
        (report.totals.files_searched, report.totals.files_ruled_out, report.totals.records_written),
        (small, 1, 1)
    );
    let table = table(&lake).await;
    assert_eq!(table.len(), 17_111);
    assert!(table.values().all(|count| *count == 1));
}

#[tokio::test]
async fn a_commit_past_its_time_to_take_objects_commits_what_it_took() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let produced = records(7, 30);
    for (n, part) in produced.chunks(10).enumerate() {
        land(&lake, &format!("{n}"), part).await;
    }
    let layout = layout();
    let settings = settings();
    let run = Run {
        layout: &layout,
        settings: &settings,
        personal: &PersonalData::Raw,
        now: time("2026-11-29T11:00:00Z"),
        stop_at: Instant::now() + Duration::from_secs(60),
        take_until: Instant::now(),
    };
    let report = compact(&Stores::single(lake.clone()), &run).await.expect("listed");
    assert_eq!((report.totals.commits, report.totals.records_written, report.totals.objects_left), (3, 30, 0));
    assert_eq!(table(&lake).await.len(), 30);
}

#[tokio::test]
async fn objects_younger_than_the_grace_wait_and_a_run_again_changes_nothing() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let produced = records(3, 10);
    land(&lake, "a", &produced[..5]).await;
    lake.set_now(time("2026-11-29T10:59:30Z"));
    land(&lake, "b", &produced[5..]).await;
    let report = run(&lake, &settings(), "2026-11-29T11:00:00Z").await;
    assert_eq!((report.totals.records_written, table(&lake).await.len()), (5, 5));
    let state = lake.objects()[&layout().state_key(date())].clone();
    let again = run(&lake, &settings(), "2026-11-29T11:00:10Z").await;
    assert_eq!((again.totals.commits, lake.objects()[&layout().state_key(date())].clone()), (0, state));
    run(&lake, &settings(), "2026-11-29T11:01:00Z").await;
    assert_eq!(table(&lake).await.len(), 10);
}

#[tokio::test]
async fn a_partition_is_committed_in_bounded_steps() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let produced = records(4, 40);
    for (n, part) in produced.chunks(10).enumerate() {
        land(&lake, &format!("o{n}"), part).await;
    }
    let settings = Settings { input_bytes_per_commit: 1, ..settings() };
    let report = run(&lake, &settings, "2026-11-29T11:00:00Z").await;
    assert_eq!((report.totals.commits, report.totals.files), (4, 1));
    let state = state(&lake);
    assert_eq!((state.generation, state.compacted.len(), state.records()), (4, 4, 40));
}

#[tokio::test]
async fn a_landed_line_that_is_not_a_record_is_left_out_once_and_the_rest_compacted() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let good = records(5, 3);
    let text = format!(
        "{}\n{{\"not\":\"a record\"}}\n{}\n",
        good[0].to_json().expect("json"),
        good[1].to_json().expect("json")
    );
    lake.put("landing/dt=2026-11-29/damaged.ndjson", Bytes::from(text), Condition::Always).await.expect("landed");
    land(&lake, "good", &good[2..]).await;
    let report = run(&lake, &settings(), "2026-11-29T11:00:00Z").await;
    assert_eq!((report.totals.rejected_lines, report.failed_partitions.len()), (1, 0));
    assert_eq!(table(&lake).await.len(), 3);
    let again = run(&lake, &settings(), "2026-11-29T12:00:00Z").await;
    assert_eq!((again.totals.rejected_lines, again.totals.commits), (0, 0));
}

#[tokio::test]
async fn a_replaced_file_stays_a_day_after_it_was_replaced_however_old_it_is() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let produced = records(8, 20);
    land(&lake, "a", &produced[..10]).await;
    run(&lake, &settings(), "2026-11-29T11:00:00Z").await;
    let first: Vec<String> = lake.objects().into_keys().filter(|key| key.ends_with(".parquet")).collect();
    // Late records three days on: the first file, three days old, is replaced, and queries that read the
    // manifest before may still be reading it.
    lake.set_now(time("2026-12-02T10:00:00Z"));
    land(&lake, "late", &produced[10..]).await;
    run(&lake, &settings(), "2026-12-02T11:00:00Z").await;
    assert!(lake.objects().contains_key(&first[0]), "deleted right after it was replaced");
    run(&lake, &settings(), "2026-12-03T11:00:01Z").await;
    assert!(!lake.objects().contains_key(&first[0]), "kept more than a day after it was replaced");
    assert_eq!(table(&lake).await.len(), 20);
}

#[tokio::test]
async fn a_partition_fed_a_little_at_a_time_ends_as_files_of_the_target_size_and_one_smaller() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let produced = records(6, 3_000);
    let settings = Settings { target_file_bytes: 64 * 1024, input_bytes_per_commit: 1, ..settings() };
    for (n, part) in produced.chunks(250).enumerate() {
        lake.set_now(time("2026-11-29T10:00:00Z") + chrono::Duration::hours(n as i64));
        land(&lake, &format!("o{n:02}"), part).await;
        run(&lake, &settings, "2026-11-30T00:00:00Z").await;
    }
    let state = state(&lake);
    assert_eq!(state.records(), 3_000);
    let small = state.files.iter().filter(|file| file.bytes < 64 * 1024).count();
    assert!(state.files.len() >= 4 && small <= 1, "{:?}", state.files);
    assert!(table(&lake).await.values().all(|count| *count == 1));
}

#[tokio::test]
async fn a_day_of_the_default_stream_compacted_hourly_is_one_data_file() {
    let lake = MemoryLake::new(time("2026-11-29T00:00:00Z"));
    // 10,800 records a day: the producer's default stream. One landed object an hour keeps the test short;
    // the consumer writes more, smaller ones, which change nothing here.
    let produced = records(7, 10_800);
    for (hour, part) in produced.chunks(450).enumerate() {
        let at = time("2026-11-29T00:00:00Z") + chrono::Duration::hours(hour as i64);
        lake.set_now(at);
        land(&lake, &format!("h{hour:02}"), part).await;
        let now = at + chrono::Duration::minutes(10);
        run(&lake, &Settings::default(), &now.to_rfc3339()).await;
    }
    // The next day's first run after every replaced file is a day old.
    run(&lake, &Settings::default(), "2026-12-01T00:00:00Z").await;
    let curated: Vec<String> = lake.objects().into_keys().filter(|key| key.starts_with("curated/")).collect();
    assert_eq!(curated.iter().filter(|key| key.ends_with(".parquet")).count(), 1, "{curated:?}");
    assert_eq!(curated.len(), 4, "a data file, the state, the manifest and the curation marker: {curated:?}");
    assert_eq!(table(&lake).await.len(), 10_800);
}

async fn run_as(
    lake: &Stores<MemoryLake>,
    settings: &Settings,
    personal: &PersonalData,
    now: &str,
) -> Result<super::Report, super::RunError> {
    let layout = layout();
    let run = Run {
        layout: &layout,
        settings,
        personal,
        now: time(now),
        stop_at: Instant::now() + Duration::from_secs(60),
        take_until: Instant::now() + Duration::from_secs(60),
    };
    compact(lake, &run).await
}

fn pseudonymised(version: u32, byte: u8) -> PersonalData {
    PersonalData::Pseudonymised(crate::pseudonym::PseudonymKey::new(version, &[byte; 32]).expect("a valid key"))
}

#[tokio::test]
async fn landing_is_read_from_one_bucket_and_the_lake_written_to_the_other() {
    let (raw, curated) = (MemoryLake::new(time("2026-11-29T10:00:00Z")), MemoryLake::new(time("2026-11-29T10:00:00Z")));
    land(&raw, "a", &records(9, 10)).await;
    let stores = Stores { landing: raw.clone(), lake: curated.clone() };
    let report = run_as(&stores, &settings(), &pseudonymised(1, 1), "2026-11-29T11:00:00Z").await.expect("a run");
    assert_eq!(report.totals.records_written, 10);
    assert!(raw.objects().keys().all(|key| key.starts_with("landing/")), "{:?}", raw.objects().keys());
    assert!(curated.objects().keys().all(|key| key.starts_with("curated/")), "{:?}", curated.objects().keys());
}

#[tokio::test]
async fn a_key_the_ledger_refuses_stops_the_run_before_it_writes() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let stores = Stores::single(lake.clone());
    let at = "2026-11-29T11:00:00Z";
    run_as(&stores, &settings(), &pseudonymised(1, 1), at).await.expect("the first key");
    land(&lake, "a", &records(10, 5)).await;
    let before = lake.objects();
    for (version, byte, expected) in [
        (1, 2, "pseudonym key version 1 already wrote tokens with other key bytes; a new key needs a version above 1"),
        (0, 1, "pseudonym key version 0 is older than version 1, which already wrote tokens"),
    ] {
        let refused = run_as(&stores, &settings(), &pseudonymised(version, byte), at).await.expect_err("refused");
        assert!(
            matches!(refused, super::RunError::KeyRefused(_)) && refused.to_string().starts_with(expected),
            "{refused}"
        );
        assert_eq!(lake.objects(), before, "a refused key wrote nothing");
    }
    run_as(&stores, &settings(), &pseudonymised(2, 2), at).await.expect("a newer key");
    run_as(&stores, &settings(), &pseudonymised(1, 1), at).await.expect("a container still on the old key");
    let ledger = crate::lake::keys::KeyLedger::from_json("ledger", &lake.objects()[&layout().key_ledger_key()])
        .expect("a ledger");
    let versions: Vec<u32> = ledger.keys.iter().map(|key| key.version).collect();
    assert_eq!(versions, [1, 2]);
    let text = String::from_utf8(lake.objects()[&layout().key_ledger_key()].to_vec()).expect("text");
    assert!(!text.contains(&"\u{1}".repeat(32)) && !text.contains(&"\u{2}".repeat(32)), "no key in the ledger");
}

#[tokio::test]
async fn partitions_past_the_retention_go_whole_and_their_landing_is_left_to_expire() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let stores = Stores::single(lake.clone());
    land(&lake, "a", &records(11, 10)).await;
    let settings = Settings { retention_days: Some(7), ..settings() };
    run_as(&stores, &settings, &PersonalData::Raw, "2026-11-29T11:00:00Z").await.expect("a run");
    assert_eq!(table(&lake).await.len(), 10);
    let kept = run_as(&stores, &settings, &PersonalData::Raw, "2026-12-06T11:00:00Z").await.expect("a run");
    assert_eq!((kept.partitions_expired, table(&lake).await.len()), (0, 10), "seven days old: kept");
    let expired = run_as(&stores, &settings, &PersonalData::Raw, "2026-12-07T11:00:00Z").await.expect("a run");
    assert_eq!((expired.partitions_expired, expired.landed_past_retention, expired.partitions), (1, 1, 0));
    let left: Vec<String> = lake.objects().into_keys().filter(|key| key.starts_with("curated/")).collect();
    assert_eq!(left, [layout().curation_marker_key()]);
}

#[tokio::test]
async fn a_manifest_left_without_its_state_past_the_retention_goes_too() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let stores = Stores::single(lake.clone());
    let manifest = layout().manifest_key(date());
    lake.put(&manifest, Bytes::from("s3://lake/curated/data/dt=2026-11-29/gone.parquet\n"), Condition::Always)
        .await
        .expect("written");
    let settings = Settings { retention_days: Some(7), ..settings() };
    let report = run_as(&stores, &settings, &PersonalData::Raw, "2026-12-07T11:00:00Z").await.expect("a run");
    assert_eq!((report.partitions_expired, report.expiries_left), (1, 0));
    assert!(!lake.objects().contains_key(&manifest));
}

/// Writes `records` as a partition of `day` the way the version before tokens did: raw ids, microseconds,
/// a county as free text; its state lists the file without a curation.
async fn old_partition(lake: &MemoryLake, day: NaiveDate, records: &[UserSession]) {
    let rows: Vec<crate::curate::CuratedRecord> = records
        .iter()
        .map(|record| crate::curate::CuratedRecord {
            unique_id: record.unique_id.to_string(),
            accessed_at: record.accessed_at,
            county: Some("Strada Florilor nr. 7"),
            ..crate::curate::curate(record, &pseudonymised(1, 1))
        })
        .collect();
    let mut writer = crate::table::writer::DataFileWriter::new(1 << 20);
    writer.write(&crate::table::schema::to_batch(&rows).expect("a batch")).expect("written");
    let file = writer.finish().expect("finished").remove(0);
    let key = layout().data_key(day, "old.parquet");
    let size = file.bytes.len() as u64;
    lake.put(&key, file.bytes, Condition::Always).await.expect("stored");
    let state = format!(
        r#"{{"generation":1,"files":[{{"key":"{key}","records":{},"bytes":{size}}}],"compacted":[],"retired":[]}}"#,
        records.len()
    );
    lake.put(&layout().state_key(day), Bytes::from(state), Condition::IfAbsent).await.expect("stored");
}

/// (id, microseconds, county) of every row of the files `day`'s state lists.
async fn rows_of(lake: &MemoryLake, day: NaiveDate) -> Vec<(String, i64, Option<String>)> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::TimestampMicrosecondType;
    let state = PartitionState::from_json("state", &lake.objects()[&layout().state_key(day)]).expect("a state");
    let mut rows = Vec::new();
    for file in &state.files {
        crate::table::reader::for_each_batch(lake, &file.key, file.bytes, |batch| {
            let ids = batch.column(0).as_string::<i32>();
            let times = batch.column(1).as_primitive::<TimestampMicrosecondType>();
            let counties = batch.column(8).as_string::<i32>();
            for row in 0..batch.num_rows() {
                let county = (!counties.is_null(row)).then(|| counties.value(row).to_owned());
                rows.push((ids.value(row).to_owned(), times.value(row), county));
            }
            Ok(())
        })
        .await
        .expect("a data file");
    }
    rows
}

fn assert_current(rows: &[(String, i64, Option<String>)], records: &[UserSession]) {
    let ids: HashMap<&str, usize> = rows.iter().fold(HashMap::new(), |mut counts, (id, _, _)| {
        *counts.entry(id.as_str()).or_default() += 1;
        counts
    });
    assert_eq!(ids.len(), records.len(), "each record once");
    assert!(ids.values().all(|count| *count == 1));
    for record in records {
        assert!(ids.contains_key(crate::curate::row_id(record, &pseudonymised(1, 1)).as_str()), "{}", record.unique_id);
    }
    for (id, micros, county) in rows {
        assert!(id.starts_with("k1.") && micros % 1_000 == 0, "{id} {micros}");
        assert!(
            county.as_deref().is_none_or(|county| crate::county::counties().any(|name| name == county)),
            "{county:?}"
        );
    }
}

#[tokio::test]
async fn an_old_partition_that_records_land_in_is_rewritten_under_the_new_rules_each_record_once() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let stores = Stores::single(lake.clone());
    let old = records(12, 20);
    old_partition(&lake, date(), &old).await;
    let new = records(13, 5);
    land(&lake, "again", &old[..5]).await;
    land(&lake, "new", &new).await;
    let report = run_as(&stores, &settings(), &pseudonymised(1, 1), "2026-11-29T11:00:00Z").await.expect("a run");
    assert_eq!((report.totals.duplicates, report.totals.records_written, report.totals.files_merged), (5, 5, 1));
    let everyone: Vec<UserSession> = old.iter().chain(&new).cloned().collect();
    assert_current(&rows_of(&lake, date()).await, &everyone);
    assert_eq!(table(&lake).await.len(), 25);
}

#[tokio::test]
async fn an_old_partition_no_record_lands_in_is_rewritten_once_and_later_runs_do_not_look_again() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let stores = Stores::single(lake.clone());
    let day = NaiveDate::from_ymd_opt(2026, 11, 28).expect("valid");
    let old = records(14, 30);
    old_partition(&lake, day, &old).await;
    let first = run_as(&stores, &settings(), &pseudonymised(1, 1), "2026-11-29T11:00:00Z").await.expect("a run");
    assert_eq!((first.totals.files_upgraded, first.upgrade_unfinished), (1, false));
    assert_current(&rows_of(&lake, day).await, &old);
    assert!(lake.objects().contains_key(&layout().curation_marker_key()));
    let state = lake.objects()[&layout().state_key(day)].clone();
    let again = run_as(&stores, &settings(), &pseudonymised(1, 1), "2026-11-29T12:00:00Z").await.expect("a run");
    assert_eq!((again.totals.files_upgraded, lake.objects()[&layout().state_key(day)].clone()), (0, state));
}

/// `records` landed gzip-compressed (at the best level, so they inflate far beyond four times).
async fn land_gzip(lake: &MemoryLake, name: &str, text: &str) {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut encoder, text.as_bytes()).expect("in memory");
    let key = format!("landing/dt=2026-11-29/{name}.ndjson.gz");
    lake.put(&key, Bytes::from(encoder.finish().expect("in memory")), Condition::Always).await.expect("landed");
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_counted_and_left_in_place_and_the_rest_compacted() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    land(&lake, "good", &records(11, 5)).await;
    land_gzip(&lake, "bomb", &"{}\n".repeat(1 << 20)).await;
    let settings = Settings { input_bytes_per_commit: 256 << 10, ..settings() };
    let report = run(&lake, &settings, "2026-11-29T11:00:00Z").await;
    assert_eq!((report.totals.objects_too_large, report.totals.rejected_lines), (1, 0));
    assert_eq!((table(&lake).await.len(), report.failed_partitions.len()), (5, 0));
    assert!(lake.objects().contains_key("landing/dt=2026-11-29/bomb.ndjson.gz"), "left in the landing zone");
    let again = run(&lake, &settings, "2026-11-29T12:00:00Z").await;
    assert_eq!((again.totals.objects_too_large, again.totals.commits), (0, 0), "refused once");
}

#[tokio::test]
async fn objects_that_inflate_beyond_the_estimate_wait_for_the_next_commit() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    // The same record under new ids: it compresses far better than the four to one a chunk is sized on.
    let record = records(12, 1).remove(0);
    let produced: Vec<UserSession> =
        (0..300_u128).map(|n| UserSession { unique_id: uuid::Uuid::from_u128(n + 1), ..record.clone() }).collect();
    for (n, part) in produced.chunks(100).enumerate() {
        let text: String = part.iter().map(|record| record.to_json().expect("encodes") + "\n").collect();
        land_gzip(&lake, &format!("o{n}"), &text).await;
    }
    let one_object = produced[..100].iter().map(|record| record.to_json().expect("encodes").len() + 1).sum::<usize>();
    let settings = Settings { input_bytes_per_commit: one_object as u64 * 3 / 2, ..settings() };
    let report = run(&lake, &settings, "2026-11-29T11:00:00Z").await;
    assert_eq!((report.totals.records_written, report.totals.objects_too_large), (300, 0));
    // By the estimate all three fit one commit; by what they hold, one does.
    assert_eq!((report.totals.commits, state(&lake).compacted.len()), (3, 3));
}

#[tokio::test]
async fn a_manifest_never_goes_back_to_an_older_generation() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let produced = records(13, 20);
    land(&lake, "a", &produced[..10]).await;
    run(&lake, &settings(), "2026-11-29T11:00:00Z").await;
    let older = state(&lake);
    let manifest_key = layout().manifest_key(date());
    let read_then = lake.get(&manifest_key).await.expect("a read").expect("a manifest");
    assert_eq!(read_then.generation, Some(older.generation));
    land(&lake, "b", &produced[10..]).await;
    run(&lake, &settings(), "2026-11-29T12:00:00Z").await;
    let newer = lake.get(&manifest_key).await.expect("a read").expect("a manifest");
    assert_eq!((newer.generation, table(&lake).await.len()), (Some(older.generation + 1), 20));

    // A run that read the older state publishes late: nothing changes.
    let layout = layout();
    let settings = settings();
    let late = Run {
        layout: &layout,
        settings: &settings,
        personal: &PersonalData::Raw,
        now: time("2026-11-29T12:00:01Z"),
        stop_at: Instant::now() + Duration::from_secs(60),
        take_until: Instant::now() + Duration::from_secs(60),
    };
    super::partition::publish(&lake, &late, date(), older.clone()).await.expect("published");
    let after = lake.get(&manifest_key).await.expect("a read").expect("a manifest");
    assert_eq!((after.etag, after.generation), (newer.etag.clone(), newer.generation));

    // The write itself, landing late with the condition it was sent with, is refused.
    let stale = lake
        .put_stamped(&manifest_key, Bytes::from(older.manifest(&layout)), Condition::IfMatch(read_then.etag), 1)
        .await;
    assert!(matches!(stale, Err(crate::store::StoreError::Changed { .. })), "{stale:?}");
    assert_eq!(table(&lake).await.len(), 20);
}

async fn older_schema_partition(lake: &MemoryLake, day: NaiveDate, records: &[UserSession]) {
    crate::table::fixtures::older_schema_partition(lake, &layout(), day, records, &PersonalData::Raw).await;
}

#[tokio::test]
async fn new_rows_compact_into_a_partition_of_an_earlier_schema_and_it_is_rewritten_in_this_one() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let produced = records(14, 30);
    older_schema_partition(&lake, date(), &produced[..20]).await;
    // Readable as it is: the added column reads as null.
    let before = rows_of(&lake, date()).await;
    assert_eq!(before.len(), 20);
    assert!(before.iter().all(|(_, _, county)| county.is_none()));

    land(&lake, "new", &produced[10..]).await;
    let report = run(&lake, &settings(), "2026-11-29T11:00:00Z").await;
    assert_eq!((report.totals.records_written, report.totals.duplicates), (10, 10));
    assert_eq!((report.totals.files_merged, report.failed_partitions.len()), (1, 0));
    let counts = table(&lake).await;
    assert_eq!(counts.len(), 30);
    assert!(counts.values().all(|count| *count == 1));
    let after = rows_of(&lake, date()).await;
    assert_eq!(after.iter().filter(|(_, _, county)| county.is_some()).count(), 10, "the new rows have a county");
}

#[tokio::test]
async fn a_late_copy_of_a_record_compacted_while_the_stack_was_raw_is_found_once_it_pseudonymises() {
    let lake = MemoryLake::new(time("2026-11-29T10:00:00Z"));
    let stores = Stores::single(lake.clone());
    let settings = Settings { target_file_bytes: 32 << 10, ..settings() };
    // Three batches, so full files, written with raw ids.
    let morning = records_from(20, 17_000, "2026-11-29T00:00:00Z");
    land(&lake, "morning", &morning).await;
    run_as(&stores, &settings, &PersonalData::Raw, "2026-11-29T11:00:00Z").await.expect("a raw run");
    // A copy of one of them, late, once the stack pseudonymises: its token is in no Bloom filter, its raw id is.
    lake.set_now(time("2026-11-29T12:00:00Z"));
    land(&lake, "late-copy", &morning[10_000..10_001]).await;
    let report = run_as(&stores, &settings, &pseudonymised(1, 7), "2026-11-29T13:00:00Z").await.expect("a run");
    assert_eq!((report.totals.duplicates, report.totals.records_written, report.totals.files_ruled_out), (1, 0, 0));
}
