//! The compactor's throughput on one core, from landed NDJSON lines to a Parquet file in memory: decode,
//! pseudonymise, build Arrow batches, encode with zstd. It also prints the file's bytes per record.
//!
//! `cargo bench -p compactor --bench compact`.

// Benchmark code: a failed setup panics with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use chrono::{DateTime, Utc};
use compactor::curate::{PersonalData, curate};
use compactor::pseudonym::PseudonymKey;
use compactor::table::schema::to_batch;
use compactor::table::writer::DataFileWriter;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use producer::generator::user_session;
use rand::SeedableRng;
use rand::rngs::StdRng;
use shared::UserSession;

const RECORDS: usize = 100_000;
const BATCH_ROWS: usize = 8192;

fn landed_lines() -> Vec<String> {
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z").expect("valid").to_utc();
    let mut rng = StdRng::seed_from_u64(1);
    (0..RECORDS).map(|_| user_session(&mut rng, now).to_json().expect("encodes")).collect()
}

/// Decodes, curates and encodes `lines` into one file; gives its size.
fn compact(lines: &[String], personal: &PersonalData) -> usize {
    let mut writer = DataFileWriter::new(usize::MAX);
    let mut rows = Vec::with_capacity(BATCH_ROWS);
    for chunk in lines.chunks(BATCH_ROWS) {
        rows.clear();
        rows.extend(
            chunk
                .iter()
                .map(|line| curate(&UserSession::from_json(line.as_bytes()).expect("a valid record"), personal)),
        );
        writer.write(&to_batch(&rows).expect("a batch")).expect("encodes");
    }
    writer.finish().expect("encodes").iter().map(|file| file.bytes.len()).sum()
}

fn decode_pseudonymise_encode(criterion: &mut Criterion) {
    let lines = landed_lines();
    let ndjson: usize = lines.iter().map(|line| line.len() + 1).sum();
    let pseudonymised = PersonalData::Pseudonymised(PseudonymKey::new(1, &[7; 32]).expect("a valid key"));
    println!("NDJSON: {:.1} bytes a record", ndjson as f64 / RECORDS as f64);
    // 3,000 records: scripts/pipeline's default; 10,800: a day of the default stream.
    for records in [3_000, 10_800, RECORDS] {
        for (name, personal) in [("pseudonymised", &pseudonymised), ("raw", &PersonalData::Raw)] {
            let bytes = compact(&lines[..records], personal);
            println!("{name}, a file of {records} records: {:.1} bytes a record", bytes as f64 / records as f64);
        }
    }
    let mut group = criterion.benchmark_group("compact");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(10);
    group.bench_function("decode_pseudonymise_encode", |bench| {
        bench.iter(|| black_box(compact(&lines, &pseudonymised)))
    });
    group.finish();
}

criterion_group!(benches, decode_pseudonymise_encode);
criterion_main!(benches);
