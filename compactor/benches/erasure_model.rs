//! The cost of erasing one person: a raw history of `MODEL_HISTORY_MIB` (default 1024) of the consumer's
//! arrays, ten sealed segments and a live array, holding three records of the person; and a curated lake of
//! real pseudonymised rows, whose cost is measured per row and scaled to the history's records. One pass of
//! one request is run on the in-memory stores, which count requests and bytes; its seconds are the
//! compactor's own CPU time plus a store model of per-request latency (`MODEL_LATENCY_MS`, default 20) and
//! one stream's bandwidth (`MODEL_MBPS`, default 90 MB/s; copies on S3's side at eight parts at once). The
//! search scales linearly with the history (every object is read once, and every row's identifier columns),
//! so the table for 10 GiB, 100 GiB and 1 TiB is this run's per-GiB and per-row figures multiplied; the
//! rewrites do not grow with it: the person's three records are in three segments of `MODEL_SEGMENT_MIB`
//! (default 256, the rollover size), copied around a 5 MiB window each, and in three data files of
//! `MODEL_FILE_MIB` (default 128), read and written again whole. It prints the table in docs/erasure.md.
//!
//! `cargo bench -p compactor --bench erasure_model`.

// Benchmark code: a failed setup panics with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use compactor::compaction::{self, Run, Settings};
use compactor::curate::PersonalData;
use compactor::erasure::{self, ErasureReport};
use compactor::lake::layout::Layout;
use compactor::pseudonym::PseudonymKey;
use compactor::store::memory::MemoryLake;
use compactor::store::{Condition, LakeStore, Stores};
use producer::generator::user_session;
use rand::SeedableRng;
use rand::rngs::StdRng;
use shared::UserSession;

const MIB: u64 = 1 << 20;
const GIB: f64 = (1u64 << 30) as f64;
const SEGMENTS: u64 = 10;
/// Distinct records the history repeats: generating a gigabyte of them would take longer than the erasure.
const POOL: usize = 50_000;
/// Rows of the curated lake the per-row cost is measured on.
const LAKE_ROWS: usize = 200_000;
/// eu-central-1 list prices (docs/cost.md): Lambda arm64 per GB-second at 1024 MB, S3 GET and PUT/COPY.
const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
const GET_PRICE: f64 = 0.000_43 / 1000.0;
const PUT_PRICE: f64 = 0.0054 / 1000.0;
/// The time a run gives erasure: half of what is left before the last two minutes of 900 s.
const RUN_SECONDS: f64 = (900.0 - 120.0) / 2.0;

fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z").unwrap().to_utc()
}

fn json(record: &UserSession) -> String {
    record.to_json().unwrap()
}

/// A consumer's array of about `bytes`, cycling through `pool` from `start`, with `victim` in the middle.
fn array(pool: &[String], bytes: u64, start: usize, victim: Option<&str>) -> (Bytes, u64) {
    let mut text = String::from("[\n");
    let mut n = 0;
    let mut victim = victim;
    while (text.len() as u64) < bytes {
        if n > 0 {
            text.push_str(",\n");
        }
        match victim.take_if(|_| text.len() as u64 >= bytes / 2) {
            Some(line) => text.push_str(line),
            None => text.push_str(&pool[(start + n) % pool.len()]),
        }
        n += 1;
    }
    text.push_str("\n]\n");
    (Bytes::from(text), n as u64)
}

fn main() {
    let latency = env_number("MODEL_LATENCY_MS", 20.0) / 1000.0;
    let bandwidth = env_number("MODEL_MBPS", 90.0) * 1e6;
    let history_bytes = env_number("MODEL_HISTORY_MIB", 1024.0) as u64 * MIB;
    let segment_bytes_modelled = env_number("MODEL_SEGMENT_MIB", 256.0) * MIB as f64;
    let file_bytes = env_number("MODEL_FILE_MIB", 128.0) * MIB as f64;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let personal = PersonalData::Pseudonymised(PseudonymKey::new(1, &[7; 32]).unwrap());
    let layout = Layout {
        curated_bucket: "curated".into(),
        landing_prefix: "landing/".into(),
        curated_prefix: "curated/".into(),
        errors_prefix: "errors/".into(),
        array_key: "streaming_data.json".into(),
    };
    let settings = Settings { grace: Duration::ZERO, ..Settings::default() };

    let mut rng = StdRng::seed_from_u64(1);
    let records: Vec<UserSession> = (0..LAKE_ROWS.max(POOL)).map(|_| user_session(&mut rng, now())).collect();
    let pool: Vec<String> = records[..POOL].iter().map(json).collect();
    // The person: three records of one CNP that the pool does not hold.
    let person = user_session(&mut rng, now()).personal_number;
    let victim: Vec<UserSession> = (0..3)
        .map(|_| {
            let mut record = user_session(&mut rng, now());
            record.personal_number.clone_from(&person);
            record
        })
        .collect();

    // The raw history: ten segments and a live array, three of them holding a record of the person.
    let raw = MemoryLake::new(now());
    let segment_bytes = history_bytes / (SEGMENTS + 1);
    let mut history_records = 0;
    for number in 1..=SEGMENTS + 1 {
        let line = match number {
            3 => Some(json(&victim[0])),
            6 => Some(json(&victim[1])),
            11 => Some(json(&victim[2])),
            _ => None,
        };
        let (body, count) = array(&pool, segment_bytes, number as usize * 997, line.as_deref());
        history_records += count;
        let key = if number > SEGMENTS {
            layout.array_key.clone()
        } else {
            shared::array::segment_key(&layout.array_key, number)
        };
        runtime.block_on(raw.put(&key, body, Condition::Always)).unwrap();
    }
    let history_size: u64 = raw.objects().values().map(|body| body.len() as u64).sum();

    // The curated lake: LAKE_ROWS rows of one day (with the person's), compacted as the compactor does.
    let curated = MemoryLake::new(now());
    let mut landed: Vec<&UserSession> = records[..LAKE_ROWS].iter().collect();
    landed.extend(&victim);
    for (n, chunk) in landed.chunks(20_000).enumerate() {
        let text: String = chunk.iter().map(|record| json(record) + "\n").collect();
        runtime
            .block_on(raw.put(&format!("landing/dt=2026-11-29/{n:04}.ndjson"), Bytes::from(text), Condition::Always))
            .unwrap();
    }
    let stores = Stores { landing: raw.clone(), lake: curated.clone() };
    let run = Run {
        layout: &layout,
        settings: &settings,
        personal: &personal,
        now: now(),
        stop_at: Instant::now() + Duration::from_secs(3600),
        take_until: Instant::now() + Duration::from_secs(3600),
    };
    runtime.block_on(compaction::compact(&stores, &run)).unwrap();
    let lake_rows = (LAKE_ROWS + victim.len()) as f64;
    let landing_bytes: u64 =
        raw.objects().iter().filter(|(key, _)| key.starts_with("landing/")).map(|(_, body)| body.len() as u64).sum();

    let request = format!("{{\"personal_numbers\":[\"{person}\"]}}");
    runtime.block_on(raw.put("erasure/requests/bench.json", Bytes::from(request), Condition::Always)).unwrap();
    raw.reset_traffic();
    curated.reset_traffic();
    let began = Instant::now();
    let report: ErasureReport = runtime.block_on(erasure::take_requests(&stores, &run, run.stop_at)).unwrap();
    let cpu = began.elapsed().as_secs_f64();
    assert_eq!(report.finished, vec!["bench.json".to_owned()]);
    assert_eq!(report.records_removed, 3 + 3 + 3, "three records in the history, the landing zone and the lake");
    let (raw_traffic, lake_traffic) = (raw.traffic(), curated.traffic());

    // What the lake's part cost per row, and the raw part per byte of the raw bucket read.
    let raw_bytes = (history_size + landing_bytes) as f64;
    let bytes_per_record = history_size as f64 / history_records as f64;
    eprintln!(
        "measured: history {:.0} MiB ({history_records} records, {bytes_per_record:.0} B each), {cpu:.1} s CPU; raw {raw_traffic:?}; lake {lake_traffic:?} over {lake_rows} rows",
        history_size as f64 / MIB as f64
    );
    // CPU is shared out by bytes read: the raw scan and the lake's columns cost alike a byte, near enough.
    let cpu_per_byte = cpu / (raw_traffic.read + lake_traffic.read) as f64;
    let per_gib = |total: u64| total as f64 / raw_bytes * GIB;
    let per_row = |total: u64| total as f64 / lake_rows;
    println!(
        "| raw history | records | requests | GiB read (raw + curated) | GiB copied on S3's side | MiB uploaded | Lambda s (modelled) | runs | dollars |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for gib in [1.0, 10.0, 100.0, 1024.0] {
        let records = gib * GIB / bytes_per_record;
        let scale = |raw_per_gib: f64, lake_per_row: f64| raw_per_gib * gib + lake_per_row * records;
        let reads = scale(
            per_gib(raw_traffic.requests - raw_traffic.writes),
            per_row(lake_traffic.requests - lake_traffic.writes),
        );
        // The person's three records sit in three segments of the rollover size and three data files of the
        // target size at any history's size: each segment is copied around its record, a 5 MiB window
        // uploaded; each file is read and written again whole.
        let rewritten_files = 3.0 * file_bytes;
        let read = scale(per_gib(raw_traffic.read), per_row(lake_traffic.read)) + rewritten_files;
        let written = 3.0 * 5.0 * MIB as f64 + rewritten_files;
        let copied = 3.0 * segment_bytes_modelled;
        // A copied part is at most 64 MiB; each rewrite also creates, uploads and completes; then the files, the
        // states, the manifests and the ledger.
        let writes = 3.0 * ((segment_bytes_modelled / (64.0 * MIB as f64)).ceil() + 3.0) + 3.0 * 3.0 + 10.0;
        let requests = reads + writes;
        let lambda =
            read * cpu_per_byte + requests * latency + (read + written) / bandwidth + copied / (8.0 * bandwidth);
        let dollars = lambda * LAMBDA_GB_SECOND + reads * GET_PRICE + writes * PUT_PRICE;
        println!(
            "| {} | {:.1} M | {:.0} | {:.1} | {:.1} | {:.0} | {:.0} | {:.0} | {:.3} |",
            if gib >= 1024.0 { "1 TiB".to_owned() } else { format!("{gib:.0} GiB") },
            records / 1e6,
            requests,
            read / GIB,
            copied / GIB,
            written / MIB as f64,
            lambda,
            (lambda / RUN_SECONDS).ceil(),
            dollars,
        );
    }
    println!(
        "\n(latency {:.0} ms a request, {:.0} MB/s, copies 8 parts at once; {:.0} bytes a record; measured on a {:.0} MiB history and {} curated rows, {:.1} s CPU)",
        latency * 1000.0,
        bandwidth / 1e6,
        bytes_per_record,
        history_size as f64 / MIB as f64,
        lake_rows,
        cpu
    );
}
