//! A day of 100 M records compacted hourly, one commit measured at each of several hours: the bytes it
//! reads and writes, its requests, and its seconds, as the compactor's own CPU time plus a store model of
//! per-request latency (default 20 ms, `MODEL_LATENCY_MS`) and one stream's bandwidth (default 90 MB/s,
//! `MODEL_MBPS`). The partition before the commit holds the day's earlier hours as 128 MiB files of real
//! pseudonymised rows (one file's bytes stored under every key, with the time range of its place in the day)
//! and one smaller file; the commit takes one input budget (128 MiB) of NDJSON of the hour, and
//! `MODEL_LATE_RECORDS` (default 0) records of earlier hours of the day among it. It prints the Markdown table
//! in docs/curated-lake.md. The before figures there came from this file run on the commit before the
//! change, with a store of its own (the in-memory store counts traffic since).
//!
//! `cargo bench -p compactor --bench day_model`.

// Benchmark code: a failed setup panics with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use compactor::compaction::{self, Run};
use compactor::curate::{PersonalData, curate};
use compactor::lake::layout::Layout;
use compactor::pseudonym::PseudonymKey;
use compactor::store::memory::MemoryLake;
use compactor::store::{Condition, LakeStore, Stores};
use compactor::table::schema::to_batch;
use compactor::table::upgrade::CURATION;
use compactor::table::writer::DataFileWriter;
use producer::generator::user_session;
use rand::SeedableRng;
use rand::rngs::StdRng;

const RECORDS_A_DAY: u64 = 100_000_000;
const MIB: u64 = 1 << 20;
const BATCH_ROWS: usize = 8192;
const HOURS: [u64; 6] = [1, 2, 6, 12, 18, 24];

fn put(runtime: &tokio::runtime::Runtime, store: &MemoryLake, key: &str, body: Bytes) {
    runtime.block_on(store.put(key, body, Condition::Always)).unwrap();
}

fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
}

/// The time `second` seconds into the day.
fn at(second: f64) -> DateTime<Utc> {
    day().and_hms_opt(0, 0, 0).unwrap().and_utc() + chrono::Duration::microseconds((second * 1e6) as i64)
}

/// A data file of at least `bytes` of pseudonymised rows, and how many rows it holds.
fn data_file(personal: &PersonalData, bytes: u64, seed: u64) -> (Bytes, u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut writer = DataFileWriter::new(bytes as usize);
    loop {
        let rows: Vec<_> = (0..BATCH_ROWS).map(|_| curate(&user_session(&mut rng, at(0.0)), personal)).collect();
        writer.write(&to_batch(&rows).unwrap()).unwrap();
        if let Some(file) = writer.take_finished().into_iter().next() {
            return (file.bytes, file.records);
        }
    }
}

/// NDJSON of `bytes` at most, records a thousandth of a second apart from `start` seconds into the day,
/// with `late` records spread over the hours before `start`.
fn landed(bytes: u64, start: f64, late: u64, seed: u64) -> Vec<Bytes> {
    let mut rng = StdRng::seed_from_u64(seed);
    let per_second = RECORDS_A_DAY as f64 / 86_400.0;
    let mut objects = Vec::new();
    let mut object = String::new();
    let (mut total, mut n) = (0, 0);
    loop {
        let time = if n < late { start * (n as f64 + 0.5) / late as f64 } else { start + n as f64 / per_second };
        let line = user_session(&mut rng, at(time)).to_json().unwrap();
        if total + line.len() as u64 + 1 > bytes {
            break;
        }
        total += line.len() as u64 + 1;
        object.push_str(&line);
        object.push('\n');
        n += 1;
        // The consumer lands objects of about a megabyte at this rate.
        if object.len() as u64 >= MIB {
            objects.push(Bytes::from(std::mem::take(&mut object)));
        }
    }
    objects.push(Bytes::from(object));
    objects
}

struct Measured {
    hour: u64,
    files: u64,
    searched: u64,
    records: u64,
    requests: u64,
    read: u64,
    written: u64,
    cpu: Duration,
    modelled: Duration,
}

fn main() {
    let latency = Duration::from_secs_f64(env_number("MODEL_LATENCY_MS", 20.0) / 1000.0);
    let bandwidth = env_number("MODEL_MBPS", 90.0) * 1e6;
    let late = env_number("MODEL_LATE_RECORDS", 0.0) as u64;
    let settings = compaction::Settings { grace: Duration::ZERO, ..compaction::Settings::default() };
    let personal = PersonalData::Pseudonymised(PseudonymKey::new(1, &[7; 32]).unwrap());
    let layout = Layout {
        curated_bucket: "lake".into(),
        landing_prefix: "landing/".into(),
        curated_prefix: "curated/".into(),
        array_key: "streaming_data.json".into(),
        errors_prefix: "errors/".into(),
    };
    let target = settings.target_file_bytes as u64;
    eprintln!("building a full data file and a small one…");
    let (full, full_rows) = data_file(&personal, target, 1);
    let (small, small_rows) = data_file(&personal, target / 2, 2);
    let rows_a_second = RECORDS_A_DAY as f64 / 86_400.0;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut measured = Vec::new();
    for hour in HOURS {
        let store = MemoryLake::new(at(0.0));
        let start = (hour - 1) as f64 * 3600.0;
        // The earlier hours' records, in full files of consecutive times, and the rest in a small file.
        let before = (start * rows_a_second) as u64;
        let full_files = before / full_rows;
        let mut entries: Vec<(Bytes, u64, f64, f64)> = (0..full_files)
            .map(|n| {
                let first = (n * full_rows) as f64 / rows_a_second;
                (full.clone(), full_rows, first, first + (full_rows - 1) as f64 / rows_a_second)
            })
            .collect();
        if before > 0 {
            entries.push((small.clone(), small_rows, (full_files * full_rows) as f64 / rows_a_second, start - 0.001));
        }
        let mut files = Vec::new();
        for (n, (body, rows, first, last)) in entries.into_iter().enumerate() {
            let key = layout.data_key(day(), &format!("{n:04}.parquet"));
            files.push(serde_json::json!({
                "key": key, "records": rows, "bytes": body.len(), "curation": CURATION,
                "accessed": { "first": at(first).timestamp_micros(), "last": at(last).timestamp_micros() },
            }));
            put(&runtime, &store, &key, body);
        }
        let state = serde_json::json!({ "generation": files.len(), "files": files, "compacted": [], "retired": [] });
        put(&runtime, &store, &layout.state_key(day()), Bytes::from(state.to_string()));
        store.set_now(at(start + 1.0));
        for (n, object) in landed(settings.input_bytes_per_commit, start, late, 100 + hour).into_iter().enumerate() {
            put(&runtime, &store, &format!("landing/dt=2026-11-29/{n:05}.ndjson"), object);
        }
        let now = at(start + 3600.0);
        let run = Run {
            layout: &layout,
            settings: &settings,
            personal: &personal,
            now,
            stop_at: Instant::now() + Duration::from_secs(3600),
            take_until: Instant::now() + Duration::from_secs(3600),
        };
        let stores = Stores::single(store.clone());
        store.reset_traffic();
        let began = Instant::now();
        let report = runtime.block_on(compaction::compact(&stores, &run)).unwrap();
        let cpu = began.elapsed();
        let totals = report.totals;
        assert_eq!(totals.commits, 1, "one commit's input");
        let traffic = store.traffic();
        let (requests, read, written) = (traffic.requests, traffic.read, traffic.written);
        let modelled = cpu + latency * requests as u32 + Duration::from_secs_f64((read + written) as f64 / bandwidth);
        let searched = serde_json::to_value(&totals).unwrap()["files_searched"].as_u64();
        measured.push(Measured {
            hour,
            files: files.len() as u64,
            searched: searched.unwrap_or(files.len() as u64),
            records: totals.records_written,
            requests,
            read,
            written,
            cpu,
            modelled,
        });
        eprintln!("hour {hour}: {:.1} s", modelled.as_secs_f64());
    }
    println!(
        "| hour | files before | files searched | records added | requests | MiB read | MiB written | CPU s | seconds (modelled) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in measured {
        println!(
            "| {} | {} | {} | {} | {} | {:.0} | {:.0} | {:.1} | {:.1} |",
            row.hour,
            row.files,
            row.searched,
            row.records,
            row.requests,
            row.read as f64 / MIB as f64,
            row.written as f64 / MIB as f64,
            row.cpu.as_secs_f64(),
            row.modelled.as_secs_f64(),
        );
    }
    println!(
        "\n(latency {} ms a request, {} MB/s, {late} late records a commit; full files of {full_rows} rows, {:.0} MiB)",
        latency.as_millis(),
        bandwidth / 1e6,
        full.len() as f64 / MIB as f64
    );
}
