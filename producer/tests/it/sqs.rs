//! The producer against a real SQS endpoint on loopback (moto, started by `scripts/test`).

use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use producer::generator::user_session;
use producer::plan::{Packing, Plan, Work};
use producer::publish::delivery::RetryPolicy;
use producer::publish::sqs::SqsQueue;
use producer::run::{RunContext, run};
use rand::SeedableRng;
use rand::rngs::StdRng;
use shared::UserSession;
use tokio::time::Instant;
use uuid::Uuid;

use crate::support;

fn clock() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T08:00:00.5Z").expect("valid instant").to_utc()
}

/// The ids of the records in `bodies`, one record a line.
fn unique_ids(bodies: &[String]) -> HashSet<Uuid> {
    bodies
        .iter()
        .flat_map(|body| body.split('\n'))
        .map(|line| UserSession::from_json(line.as_bytes()).expect("a valid record").unique_id)
        .collect()
}

#[tokio::test]
async fn burst_delivers_every_record_once() {
    let sqs = support::sqs_client().await;
    let queue_url = support::new_queue(&sqs, "burst").await;
    let queue = SqsQueue::new(sqs.clone(), &queue_url);
    let count = 235;
    let packing = Packing { records: 10, bytes: 64 * 1024 };
    let plan = Plan { work: Work::Burst { count, concurrency: 4, packing }, seed: Some(17) };
    let context = RunContext {
        queue: &queue,
        rng: &mut StdRng::seed_from_u64(17),
        retry_rng: StdRng::seed_from_u64(18),
        clock,
        policy: &RetryPolicy::default(),
        deadline: Instant::now() + Duration::from_secs(120),
    };

    let summary = run(&plan, context).await.expect("run succeeds");

    assert_eq!(
        (summary.sent, summary.failed, summary.unsent, summary.messages, summary.sqs_calls),
        (count, 0, 0, 24, 3)
    );
    let bodies = support::receive_all(&sqs, &queue_url, 24).await;
    assert_eq!(bodies.len(), 24, "each message arrives once");
    assert_eq!(bodies.iter().map(|body| body.split('\n').count()).sum::<usize>(), 235);
    let mut rng = StdRng::seed_from_u64(17);
    let expected: HashSet<Uuid> = (0..count).map(|_| user_session(&mut rng, clock()).unique_id).collect();
    assert_eq!(unique_ids(&bodies), expected);
}

#[tokio::test]
async fn a_missing_queue_ends_the_run_with_an_error_naming_it() {
    let sqs = support::sqs_client().await;
    let queue_url =
        format!("{}/123456789012/no-such-queue-{}", shared::testing::loopback_endpoint(), Uuid::new_v4().simple());
    let queue = SqsQueue::new(sqs, &queue_url);
    let plan = Plan { work: Work::Burst { count: 30, concurrency: 2, packing: Packing::SINGLE }, seed: None };
    let context = RunContext {
        queue: &queue,
        rng: &mut StdRng::seed_from_u64(1),
        retry_rng: StdRng::seed_from_u64(2),
        clock: Utc::now,
        policy: &RetryPolicy::default(),
        deadline: Instant::now() + Duration::from_secs(60),
    };

    let error = run(&plan, context).await.expect_err("no such queue");

    assert!(error.to_string().contains(&queue_url), "{error}");
}

#[tokio::test]
async fn send_command_sends_and_summarises() {
    let sqs = support::sqs_client().await;
    let queue_url = support::new_queue(&sqs, "send-command").await;

    let output = Command::new(env!("CARGO_BIN_EXE_producer"))
        .args(["send", "--count", "42", "--seed", "3", "--queue-url", &queue_url])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .expect("producer runs");

    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON summary");
    assert_eq!((summary["sent"].as_u64(), summary["failed"].as_u64()), (Some(42), Some(0)));
    assert_eq!(summary["messages"].as_u64(), Some(1), "42 records pack into one message");
    assert_eq!(unique_ids(&support::receive_all(&sqs, &queue_url, 1).await).len(), 42);
}

#[tokio::test]
async fn a_stream_sends_its_window_at_once_and_the_queue_holds_each_record_until_its_moment() {
    let sqs = support::sqs_client().await;
    let queue_url = support::new_queue(&sqs, "stream").await;
    let queue = SqsQueue::new(sqs.clone(), &queue_url);
    let work = Work::Stream { duration: Duration::from_secs(60), pause_secs: 30..=30, concurrency: 1 };
    let plan = Plan { work, seed: Some(5) };
    let context = RunContext {
        queue: &queue,
        rng: &mut StdRng::seed_from_u64(5),
        retry_rng: StdRng::seed_from_u64(6),
        clock,
        policy: &RetryPolicy::default(),
        deadline: Instant::now() + Duration::from_secs(60),
    };

    let summary = run(&plan, context).await.expect("run succeeds");

    assert_eq!((summary.sent, summary.messages, summary.sqs_calls), (2, 2, 1));
    let visible = support::receive_all(&sqs, &queue_url, 1).await;
    assert_eq!(visible.len(), 1, "the record delayed 30 s is not visible yet");
    let record = UserSession::from_json(visible[0].as_bytes()).expect("a record");
    assert_eq!(record.accessed_at, clock().naive_utc(), "the first record is visible at once");
}
