//! Generate-and-serialise throughput of the record generator on one core.
//!
//! `cargo bench -p producer --bench generate`; docs/benchmarks.md records the result.

// Bench code: a setup that cannot encode a record should stop the bench loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use producer::generator::user_session;
use rand::SeedableRng;
use rand::rngs::StdRng;

const RECORDS_PER_ITERATION: u64 = 1_000;

fn generate_and_serialise(criterion: &mut Criterion) {
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-26T08:00:00Z").expect("valid").to_utc();
    let mut group = criterion.benchmark_group("records");
    group.throughput(Throughput::Elements(RECORDS_PER_ITERATION));

    group.bench_function("generate", |bench| {
        let mut rng = StdRng::seed_from_u64(1);
        bench.iter(|| {
            for _ in 0..RECORDS_PER_ITERATION {
                black_box(user_session(&mut rng, now));
            }
        });
    });

    group.bench_function("generate_and_serialise", |bench| {
        let mut rng = StdRng::seed_from_u64(1);
        let mut out = Vec::with_capacity(1 << 20);
        bench.iter(|| {
            out.clear();
            for _ in 0..RECORDS_PER_ITERATION {
                user_session(&mut rng, now).write_json(&mut out).expect("encodes");
                out.push(b'\n');
            }
            black_box(&out);
        });
    });

    group.bench_function("serialise", |bench| {
        let mut rng = StdRng::seed_from_u64(1);
        let records: Vec<_> = (0..RECORDS_PER_ITERATION).map(|_| user_session(&mut rng, now)).collect();
        let mut out = Vec::with_capacity(1 << 20);
        bench.iter(|| {
            out.clear();
            for record in &records {
                record.write_json(&mut out).expect("encodes");
                out.push(b'\n');
            }
            black_box(&out);
        });
    });
    group.finish();
}

criterion_group!(benches, generate_and_serialise);
criterion_main!(benches);
