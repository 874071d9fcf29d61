//! Appends to one key on a latency-modelled store, in virtual time: per-request latency (default
//! 50 ms, `MODEL_LATENCY_MS`) and a server-side copy rate per copy stream (default 100 MB/s,
//! `MODEL_COPY_MBPS`). For arrays of 10 MiB to 50 GiB and 1 to 8 writers it prints append latency
//! p50/p99, appends a second, appends given up, and bytes sent and read per append, as the Markdown
//! table in docs/append.md; every tenth batch is a redelivered one, which searches the 64 MiB window.
//! `cargo bench -p consumer --bench append_model`.

// Benchmark code: a setup that fails stops the run with unwrap, expect or panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use consumer::append::{AppendError, AppendOptions, Line, append, new_array};
use consumer::store::memory::{Latency, MemoryStore};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::Instant;
use uuid::Uuid;

const KEY: &str = "streaming_data.json";
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
/// The consumer's timeout less its deadline margin.
const INVOCATION: Duration = Duration::from_secs(58);
const RECORDS_PER_APPEND: usize = 10;

struct Case {
    array: &'static str,
    size: u64,
    rollover_bytes: Option<u64>,
}

#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    given_up: u64,
    elapsed: Duration,
    bytes_sent: u64,
    bytes_new: u64,
    bytes_read: u64,
    seals: u64,
}

fn record(n: u64) -> (Uuid, Vec<u8>) {
    let id = Uuid::from_u128(u128::from(n) + 1);
    (id, format!(r#"{{"n":{n},"pad":"{}","unique_id":"{id}"}}"#, "x".repeat(500)).into_bytes())
}

fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

async fn run(case: &Case, writers: u64, appends: u64, latency: Latency) -> Outcome {
    let store = Arc::new(MemoryStore::with_latency(latency));
    let existing: Vec<(Uuid, Vec<u8>)> = (0..20).map(|n| record(1_000_000_000 + n)).collect();
    store.insert_padded(KEY, &new_array(existing.iter().map(|(_, json)| json.as_slice())), case.size);
    let options = Arc::new(AppendOptions {
        key: KEY.into(),
        dedup_window_bytes: MIB,
        redelivery_window_bytes: 64 * MIB,
        rollover_bytes: case.rollover_bytes,
    });
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let (store, options, next) = (store.clone(), options.clone(), next.clone());
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(writer);
                let mut outcome = Outcome::default();
                loop {
                    let batch = next.fetch_add(1, Ordering::Relaxed);
                    if batch >= appends {
                        return outcome;
                    }
                    let first = batch * RECORDS_PER_APPEND as u64;
                    let records: Vec<_> = (first..first + RECORDS_PER_APPEND as u64).map(record).collect();
                    // Every tenth batch comes as SQS delivers a message again, so it searches the wide window.
                    let delivered_before = batch % 10 == 9;
                    // One day: a stream's records change day once a day, so the range of days in the
                    // array's metadata (which a retry's open upload must match) barely ever changes.
                    let accessed_on = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
                    let lines: Vec<Line> = records
                        .iter()
                        .map(|(unique_id, json)| Line { unique_id: *unique_id, json, delivered_before, accessed_on })
                        .collect();
                    let began = Instant::now();
                    match append(store.as_ref(), &options, &lines, began + INVOCATION, &mut rng).await {
                        Ok(appended) => {
                            outcome.latencies.push(began.elapsed());
                            outcome.seals += u64::from(appended.sealed);
                            outcome.bytes_new += records.iter().map(|(_, json)| json.len() as u64 + 2).sum::<u64>();
                        }
                        Err(AppendError::Contention { .. }) => outcome.given_up += 1,
                        Err(error) => panic!("append failed: {error}"),
                    }
                }
            })
        })
        .collect();
    let mut total = Outcome::default();
    for task in tasks {
        let outcome = task.await.expect("a writer finished");
        total.latencies.extend(outcome.latencies);
        total.given_up += outcome.given_up;
        total.seals += outcome.seals;
        total.bytes_new += outcome.bytes_new;
    }
    total.elapsed = start.elapsed();
    total.bytes_sent = store.bytes_written();
    total.bytes_read = store.bytes_read();
    total
}

fn percentile(sorted: &[Duration], share: f64) -> Duration {
    sorted.get(((sorted.len() as f64 * share).ceil() as usize).saturating_sub(1)).copied().unwrap_or_default()
}

fn main() {
    // `cargo bench` passes --bench; a filter argument is not supported, the table is one run.
    let latency = Latency {
        request: Duration::from_secs_f64(env_number("MODEL_LATENCY_MS", 50.0) / 1000.0),
        copy_bytes_per_second: env_number("MODEL_COPY_MBPS", 100.0) * 1e6,
    };
    let appends = env_number("MODEL_APPENDS", 200.0) as u64;
    let rollover = Some(256 * MIB);
    let cases = [
        Case { array: "10 MiB", size: 10 * MIB, rollover_bytes: rollover },
        Case {
            array: "any history, live array at its largest (default rollover, seals in the run)",
            size: 256 * MIB - 900 * 1024,
            rollover_bytes: rollover,
        },
        Case { array: "1 GiB, rollover off", size: GIB, rollover_bytes: None },
        Case { array: "5 GiB, rollover off", size: 5 * GIB, rollover_bytes: None },
        Case { array: "50 GiB, rollover off", size: 50 * GIB, rollover_bytes: None },
    ];
    println!(
        "Model: {} ms a request, {} MB/s a copy stream, {appends} appends of {RECORDS_PER_APPEND} records per row \
         (1,000 for 5 writers on 10 MiB), every tenth one redelivered.\n",
        latency.request.as_millis(),
        latency.copy_bytes_per_second / 1e6
    );
    println!("| array | writers | p50 | p99 | appends/s | given up | sent/append over new | read/append | seals |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for case in &cases {
        for writers in [1, 2, 5, 8] {
            let count = if case.size == 10 * MIB && writers == 5 { appends.max(1000) } else { appends };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .expect("a runtime");
            let outcome = runtime.block_on(run(case, writers, count, latency));
            let mut sorted = outcome.latencies.clone();
            sorted.sort();
            let done = sorted.len().max(1) as u64;
            println!(
                "| {} | {writers} | {:.2} s | {:.2} s | {:.1} | {} of {count} | {:.1} KiB | {:.0} KiB | {} |",
                case.array,
                percentile(&sorted, 0.5).as_secs_f64(),
                percentile(&sorted, 0.99).as_secs_f64(),
                sorted.len() as f64 / outcome.elapsed.as_secs_f64(),
                outcome.given_up,
                outcome.bytes_sent.saturating_sub(outcome.bytes_new) as f64 / done as f64 / 1024.0,
                outcome.bytes_read as f64 / done as f64 / 1024.0,
                outcome.seals,
            );
        }
    }
}
