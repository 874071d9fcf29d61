//! Decode-and-pseudonymise throughput on one core: a landed NDJSON line to a curated row.
//!
//! `cargo bench -p compactor --bench curate`.

// Benchmark code: a failed setup panics with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use chrono::{DateTime, Utc};
use compactor::curate::{PersonalData, curate};
use compactor::pseudonym::PseudonymKey;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use producer::generator::user_session;
use rand::SeedableRng;
use rand::rngs::StdRng;
use shared::UserSession;

const RECORDS: usize = 1_000;

fn decode_and_pseudonymise(criterion: &mut Criterion) {
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z").expect("valid").to_utc();
    let mut rng = StdRng::seed_from_u64(1);
    let lines: Vec<String> = (0..RECORDS).map(|_| user_session(&mut rng, now).to_json().expect("encodes")).collect();
    let key = PseudonymKey::new(1, &[7; 32]).expect("a valid key");
    let personal = PersonalData::Pseudonymised(key);
    let mut group = criterion.benchmark_group("curate");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("decode_and_pseudonymise", |bench| {
        bench.iter(|| {
            for line in &lines {
                let record = UserSession::from_json(line.as_bytes()).expect("a valid record");
                black_box(curate(&record, &personal));
            }
        });
    });
    group.finish();
}

criterion_group!(benches, decode_and_pseudonymise);
criterion_main!(benches);
