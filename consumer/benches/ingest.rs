//! The consumer's per-record CPU cost and the cost of one append as the array grows.
//!
//! `cargo bench -p consumer --bench ingest`; docs/benchmarks.md records the results.

// Benchmark code: a setup that fails stops the run with unwrap, expect or panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use consumer::append::{AppendOptions, Line, append, new_array};
use consumer::store::memory::MemoryStore;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use shared::UserSession;
use uuid::Uuid;

const RECORD: &str = r#"{"person_name":"Lăcrămioara Țurcanu","user_name":"lacramioaraturcanu","email":"lacramioaraturcanu@yahoo.ro","personal_number":"2900101120015","birth_date":"1990-01-01","address":"Strada Mihai Eminescu nr. 12, bl. 4, sc. B, ap. 31, 400123 Cluj-Napoca, jud. Cluj","phone_number":"+40 722 123 456","mac_address":"0a:1b:2c:3d:4e:5f","ip_address":"86.120.14.201","iban":"RO49AAAA1B31007593840000","accessed_at":"2026-11-26 06:30:00.123456","session_duration":13494,"download_speed":262,"upload_speed":413,"consumed_traffic":380229,"unique_id":"7c9e6679-7425-40de-944b-e07fc1f90ae7"}"#;

/// The same record with no validation at all: strings and integers as serde_json reads them.
#[derive(Serialize, Deserialize)]
struct PlainRecord {
    person_name: String,
    user_name: String,
    email: String,
    personal_number: String,
    birth_date: String,
    address: String,
    phone_number: String,
    mac_address: String,
    ip_address: String,
    iban: String,
    accessed_at: String,
    session_duration: u32,
    download_speed: u32,
    upload_speed: u32,
    consumed_traffic: u32,
    unique_id: String,
}

fn per_record(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("record");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode_validate_encode", |bench| {
        bench.iter(|| {
            let record = UserSession::from_json(black_box(RECORD.as_bytes())).expect("valid");
            black_box(record.to_json().expect("encodes"))
        })
    });
    group.bench_function("plain_serde_parse_serialise", |bench| {
        bench.iter(|| {
            let record: PlainRecord = serde_json::from_slice(black_box(RECORD.as_bytes())).expect("valid");
            black_box(serde_json::to_string(&record).expect("encodes"))
        })
    });
    group.finish();
}

fn batch(size: usize) -> Vec<(Uuid, Vec<u8>)> {
    (0..size)
        .map(|_| {
            let id = Uuid::new_v4();
            (id, RECORD.replace("7c9e6679-7425-40de-944b-e07fc1f90ae7", &id.to_string()).into_bytes())
        })
        .collect()
}

fn one_append(criterion: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    let options = AppendOptions {
        key: "streaming_data.json".into(),
        dedup_window_bytes: 1 << 20,
        redelivery_window_bytes: 64 << 20,
        rollover_bytes: None,
    };
    let mut group = criterion.benchmark_group("append_100_records");
    group.sample_size(20);
    for mebibytes in [1usize, 10, 100] {
        let existing = batch(mebibytes * 1024 * 1024 / RECORD.len());
        let original = new_array(existing.iter().map(|(_, json)| json.as_slice()));
        drop(existing);
        let store = MemoryStore::default();
        store.insert(&options.key, original.clone());
        let before = store.bytes_written();
        let records = batch(100);
        let lines: Vec<Line> = records
            .iter()
            .map(|(unique_id, json)| Line { unique_id: *unique_id, json, delivered_before: false, accessed_on: day() })
            .collect();
        runtime.block_on(append(&store, &options, &lines, later(), &mut rng())).expect("appends");
        eprintln!("append of 100 records to {mebibytes} MiB: {} bytes sent", store.bytes_written() - before);
        // The object may grow by a tenth before it is put back, so every append meets about its size.
        let limit = (original.len() + original.len() / 10) as u64;
        group.bench_function(BenchmarkId::from_parameter(format!("{mebibytes}MiB")), |bench| {
            bench.iter_custom(|iterations| {
                let mut measured = Duration::ZERO;
                for _ in 0..iterations {
                    if store.size(&options.key).unwrap_or(0) > limit {
                        store.insert(&options.key, original.clone());
                    }
                    let records = batch(100);
                    let lines: Vec<Line> = records
                        .iter()
                        .map(|(unique_id, json)| Line {
                            unique_id: *unique_id,
                            json,
                            delivered_before: false,
                            accessed_on: day(),
                        })
                        .collect();
                    let started = Instant::now();
                    black_box(
                        runtime.block_on(append(&store, &options, &lines, later(), &mut rng())).expect("appends"),
                    );
                    measured += started.elapsed();
                }
                measured
            })
        });
    }
    group.finish();
}

criterion_group!(benches, per_record, one_append);
criterion_main!(benches);

/// The day of `RECORD`'s `accessed_at`.
fn day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
}

fn later() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(60)
}

fn rng() -> rand::rngs::StdRng {
    rand::SeedableRng::seed_from_u64(5)
}
