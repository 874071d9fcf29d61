//! The compactor's scenarios: against a real S3 API on loopback (moto, started by `scripts/test`, each
//! test a bucket of its own), the curated table holds each produced record exactly once after S3 faults,
//! a run killed between any two of its writes, runs at once, late records and records landed twice; a
//! manifest write delivered late never takes a manifest back; new rows join a partition written in an
//! earlier schema; no curated value is a CNP, an IBAN, an e-mail address, a record's id, name or street;
//! and the lake is in the curated bucket only.

use std::collections::HashMap;

use compactor::store::{LakeStore, StoreError, Stores};
use compactor::table::fixtures::older_schema_partition;
use compactor::table::reader::for_each_batch;

use crate::support::faults::FaultyLake;
use crate::support::late_writes::{LateWrites, StampedWrite};
use crate::support::moto::{MotoLake, key, records, row_id, settings};
use crate::support::personal_data::personal_data_in;
use compactor::curate::{PersonalData, curate};
use shared::UserSession;

const DAY_1: &str = "2026-11-28T10:00:00Z";
const DAY_2: &str = "2026-11-29T10:00:00Z";

/// Lands two days of records, several objects a day, a third of each day's records landed twice.
async fn land_two_days(lake: &MotoLake, seed: u64) -> Vec<UserSession> {
    let mut produced = Vec::new();
    for (offset, at) in [DAY_1, DAY_2].into_iter().enumerate() {
        let day = &at[..10];
        let day_records = records(seed + offset as u64, 120, at);
        for (n, part) in day_records.chunks(30).enumerate() {
            lake.land(day, &format!("o{n}"), part).await;
        }
        lake.land(day, "again", &day_records[..40]).await;
        produced.extend(day_records);
    }
    produced
}

fn assert_once(table: &HashMap<String, usize>, produced: &[UserSession]) {
    assert_eq!(table.len(), produced.len(), "records in the table");
    for record in produced {
        assert_eq!(table.get(&row_id(record)), Some(&1), "{} once", record.unique_id);
    }
}

#[tokio::test]
async fn after_thirty_percent_faults_each_record_is_in_the_table_once_and_no_value_is_personal() {
    let lake = MotoLake::new().await;
    let produced = land_two_days(&lake, 1).await;
    let faulty = lake.faulty(|store| FaultyLake::random(store, 0.3, 7));
    for _ in 0..60 {
        let _ = lake.run(&faulty, &settings()).await;
        // Whatever a run left half done, readers see each record at most once.
        assert!(lake.table().await.values().all(|count| *count == 1));
    }
    assert!(!lake.table().await.is_empty(), "the faulty runs committed nothing");
    let clean = lake.run(&lake.stores, &settings()).await.expect("a clean run");
    assert_eq!(clean.failed_partitions, vec![]);
    assert_once(&lake.table().await, &produced);
    let curated = lake.curated_text().await;
    assert_eq!(personal_data_in(&curated), (0, 0, 0));
    for record in &produced {
        let street = record.address.split(',').next().unwrap_or_default();
        for raw in [record.unique_id.to_string().as_str(), street, &record.person_name, &record.user_name] {
            assert!(!curated.contains(raw), "{raw} is in the curated lake");
        }
    }
    let (raw_keys, curated_keys) = (lake.raw_keys().await, lake.curated_keys().await);
    assert!(raw_keys.iter().all(|key| key.starts_with("landing/")), "{raw_keys:?}");
    assert!(curated_keys.iter().all(|key| key.starts_with("curated/")), "{curated_keys:?}");
}

#[tokio::test]
async fn a_run_killed_between_any_two_writes_loses_and_repeats_nothing() {
    for writes in 0.. {
        assert!(writes <= 60, "a run needs more writes than expected");
        let lake = MotoLake::new().await;
        let mut produced = land_two_days(&lake, 2).await;
        lake.run(&lake.stores, &settings()).await.expect("the first run");
        // Late records, some of them repeats, so the killed run also merges files.
        let late = records(30, 40, DAY_2);
        lake.land(&DAY_2[..10], "late", &late).await;
        lake.land(&DAY_2[..10], "late-again", &produced[150..170]).await;
        produced.extend(late);
        let killed = lake.run(&lake.faulty(|store| FaultyLake::dying_after_writes(store, writes)), &settings()).await;
        let finished = killed.is_ok_and(|report| report.failed_partitions.is_empty());
        // Before the next run, readers see each record at most once.
        assert!(lake.table().await.values().all(|count| *count == 1));
        lake.run(&lake.stores, &settings()).await.expect("the run after");
        assert_once(&lake.table().await, &produced);
        if finished {
            break;
        }
    }
}

#[tokio::test]
async fn three_runs_at_once_put_each_record_in_the_table_once() {
    let lake = MotoLake::new().await;
    let produced = land_two_days(&lake, 4).await;
    let settings = settings();
    let (first, second, third) = tokio::join!(
        lake.run(&lake.stores, &settings),
        lake.run(&lake.stores, &settings),
        lake.run(&lake.stores, &settings)
    );
    for report in [first, second, third] {
        assert_eq!(report.expect("listed").failed_partitions, vec![]);
    }
    assert_once(&lake.table().await, &produced);
}

#[tokio::test]
async fn records_landing_after_their_day_was_compacted_join_it_once() {
    let lake = MotoLake::new().await;
    let mut produced = land_two_days(&lake, 5).await;
    lake.run(&lake.stores, &settings()).await.expect("a run");
    let late = records(60, 25, DAY_1);
    lake.land(&DAY_1[..10], "late", &late).await;
    lake.land(&DAY_1[..10], "late-repeats", &produced[..30]).await;
    produced.extend(late);
    let report = lake.run(&lake.stores, &settings()).await.expect("a run");
    assert_eq!((report.totals.records_written, report.totals.duplicates), (25, 30));
    assert_once(&lake.table().await, &produced);
    let files = lake.listed_files().await;
    assert_eq!(files.len(), 2, "one file a day: small files are rewritten with the new rows");
}

#[tokio::test]
async fn a_manifest_write_delivered_late_never_takes_a_manifest_back() {
    let lake = MotoLake::new().await;
    let mut produced = land_two_days(&lake, 6).await;
    lake.run(&lake.stores, &settings()).await.expect("the first run");
    // Run A compacts late records of the second day and publishes its manifest, a copy of the write kept.
    let late = LateWrites::new(lake.stores.lake.clone());
    let first_late = records(70, 30, DAY_2);
    lake.land(&DAY_2[..10], "late-a", &first_late).await;
    produced.extend(first_late);
    let stores = Stores { landing: LateWrites::new(lake.stores.landing.clone()), lake: late.clone() };
    lake.run(&stores, &settings()).await.expect("run A");
    let sent_by_a = late.kept();
    assert_eq!(sent_by_a.len(), 1, "one manifest changed, the second day's");
    // Run B compacts more and publishes a later generation.
    let second_late = records(71, 30, DAY_2);
    lake.land(&DAY_2[..10], "late-b", &second_late).await;
    produced.extend(second_late);
    lake.run(&lake.stores, &settings()).await.expect("run B");
    let published = manifests(&lake, &sent_by_a).await;
    assert_eq!(published[0].0, Some(sent_by_a[0].generation + 1));

    // A's write arrives again, late, as S3 sees a request retried after its answer was lost.
    let write = &sent_by_a[0];
    let again =
        lake.stores.lake.put_stamped(&write.key, write.body.clone(), write.condition.clone(), write.generation).await;
    assert!(matches!(again, Err(StoreError::Changed { .. })), "{again:?}");
    assert_eq!(manifests(&lake, &sent_by_a).await, published, "the manifest as B left it");
    assert_once(&lake.table().await, &produced);
}

#[tokio::test]
async fn new_rows_compact_into_a_partition_written_in_an_earlier_schema_each_record_once() {
    let lake = MotoLake::new().await;
    let produced = records(70, 60, DAY_2);
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).expect("valid");
    let personal = PersonalData::Pseudonymised(key());
    older_schema_partition(&lake.stores.lake, &lake.layout, day, &produced[..40], &personal).await;
    lake.land(&DAY_2[..10], "new", &produced[20..]).await;
    let report = lake.run(&lake.stores, &settings()).await.expect("a run");
    assert_eq!((report.failed_partitions.len(), report.totals.files_merged), (0, 1));
    assert_eq!((report.totals.records_written, report.totals.duplicates), (20, 20));
    assert_once(&lake.table().await, &produced);
    // The partition is now one file of this version's schema, which has the county column.
    let (key, size) = lake.listed_files().await.remove(0);
    let mut counties = 0;
    for_each_batch(&lake.stores.lake, &key, size, |batch| {
        let county = batch.column_by_name("county").expect("a county column");
        counties += batch.num_rows() - county.null_count();
        Ok(())
    })
    .await
    .expect("a data file");
    assert!(counties >= 10, "{counties} rows with a county");
}

/// The generation and ETag of each manifest `writes` named.
async fn manifests(lake: &MotoLake, writes: &[StampedWrite]) -> Vec<(Option<u64>, String)> {
    let mut found = Vec::new();
    for write in writes {
        let fetched = lake.stores.lake.get(&write.key).await.expect("a read").expect("a manifest");
        found.push((fetched.generation, fetched.etag));
    }
    found
}

fn rows(personal: &PersonalData) -> String {
    records(13, 2_000, DAY_2)
        .iter()
        .map(|record| serde_json::to_string(&curate(record, personal)).expect("encodes"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_scan_of_pseudonymised_rows_finds_no_cnp_iban_or_email_and_of_raw_rows_finds_them() {
    assert_eq!(personal_data_in(&rows(&PersonalData::Pseudonymised(key()))), (0, 0, 0));
    let (cnps, ibans, emails) = personal_data_in(&rows(&PersonalData::Raw));
    assert!(cnps >= 2_000 && ibans >= 2_000 && emails >= 2_000, "{cnps} {ibans} {emails}");
}
