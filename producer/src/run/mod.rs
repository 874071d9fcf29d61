//! Running a [`Plan`]: records from the generator, packed or delayed into messages, through the queue
//! port into a [`Summary`].
//!
//! The run knows nothing of Lambda: the caller passes the queue, the random generator, the clock that
//! stamps records and the instant by which the run must have stopped.

mod burst;
mod stream;
mod summary;

pub use stream::schedule;
pub use summary::Summary;

use chrono::{DateTime, Utc};
use futures::{StreamExt, future, stream as futures_stream};
use rand::Rng;
use tokio::time::Instant;

use crate::plan::{Plan, Work};
use crate::publish::batch::Batches;
use crate::publish::delivery::{Delivery, RetryPolicy, deliver};
use crate::publish::pack::Message;
use crate::publish::queue::{MessageQueue, SendError};

/// A fault that ends the run as a whole.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("cannot encode a record as JSON: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Carries out `plan`, stopping in time for `deadline`.
pub async fn run<Q, R, C>(
    queue: &Q,
    plan: &Plan,
    rng: &mut R,
    clock: C,
    policy: &RetryPolicy,
    deadline: Instant,
) -> Result<Summary, RunError>
where
    Q: MessageQueue,
    R: Rng + ?Sized,
    C: Fn() -> DateTime<Utc>,
{
    let started = Instant::now();
    let (requested, delivery) = match &plan.work {
        Work::Burst { count, concurrency, packing } => {
            let messages = burst::messages(rng, clock, *count, *packing);
            (*count, send(queue, messages, *concurrency, policy, deadline).await?)
        }
        Work::Stream { duration, pause_secs, concurrency } => {
            let offsets = schedule(rng, *duration, pause_secs.clone());
            let count = offsets.len() as u64;
            let messages = stream::messages(rng, clock(), offsets);
            (count, send(queue, messages, *concurrency, policy, deadline).await?)
        }
    };
    Ok(Summary::new(plan.work.mode(), requested, delivery, started.elapsed()))
}

/// Sends `messages` in batches, `concurrency` calls in flight; batches not started by `deadline` are
/// left unsent.
async fn send<Q: MessageQueue>(
    queue: &Q,
    messages: impl Iterator<Item = Result<Message, serde_json::Error>>,
    concurrency: usize,
    policy: &RetryPolicy,
    deadline: Instant,
) -> Result<Delivery, RunError> {
    let mut deliveries = futures_stream::iter(Batches::new(messages))
        .take_while(|_| future::ready(Instant::now() < deadline))
        .map(|batch| async move { Ok::<_, RunError>(deliver(queue, batch?, policy, deadline).await?) })
        .buffer_unordered(concurrency.max(1));
    let mut total = Delivery::default();
    while let Some(delivery) = deliveries.next().await {
        total += delivery?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Packing, RunOptions};
    use crate::publish::memory::MemoryQueue;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use shared::UserSession;
    use std::collections::HashSet;
    use std::time::Duration;

    fn clock() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T07:00:00Z").expect("valid instant").to_utc()
    }

    fn burst(count: u64, concurrency: usize) -> Plan {
        Plan { work: Work::Burst { count, concurrency, packing: Packing::SINGLE }, seed: None }
    }

    fn stream(duration_secs: u64, pause_secs: u64) -> Plan {
        let work = Work::Stream {
            duration: Duration::from_secs(duration_secs),
            pause_secs: pause_secs..=pause_secs,
            concurrency: 8,
        };
        Plan { work, seed: None }
    }

    async fn run_on(queue: &MemoryQueue, plan: &Plan, deadline: Instant) -> Summary {
        let mut rng = StdRng::seed_from_u64(5);
        run(queue, plan, &mut rng, clock, &RetryPolicy::default(), deadline).await.expect("run succeeds")
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(24 * 3600)
    }

    #[tokio::test(start_paused = true)]
    async fn burst_sends_every_record_once_in_batches_of_ten() {
        let queue = MemoryQueue::default();
        let summary = run_on(&queue, &burst(1_005, 4), far()).await;
        assert_eq!((summary.sent, summary.failed, summary.unsent, summary.sqs_calls), (1_005, 0, 0, 101));
        assert!(summary.is_complete());
        let ids: HashSet<_> = queue
            .records()
            .iter()
            .map(|body| UserSession::from_json(body.as_bytes()).expect("valid record").unique_id)
            .collect();
        assert_eq!(ids.len(), 1_005);
    }

    #[tokio::test(start_paused = true)]
    async fn burst_packs_records_into_messages() {
        let queue = MemoryQueue::default();
        let packing = Packing { records: 100, bytes: 64 * 1024 };
        let plan = Plan { work: Work::Burst { count: 1_050, concurrency: 2, packing }, seed: None };
        let summary = run_on(&queue, &plan, far()).await;
        assert_eq!((summary.sent, summary.messages, summary.sqs_calls), (1_050, 11, 3));
        assert_eq!(queue.records().len(), 1_050);
        assert!(queue.messages().iter().all(|message| message.body.len() <= 64 * 1024 && message.delay_seconds == 0));
    }

    #[tokio::test(start_paused = true)]
    async fn burst_sends_the_seeded_records() {
        let queue = MemoryQueue::default();
        run_on(&queue, &burst(30, 1), far()).await;
        let mut rng = StdRng::seed_from_u64(5);
        let expected: Vec<String> =
            (0..30).map(|_| crate::generator::user_session(&mut rng, clock()).to_json().expect("encodes")).collect();
        assert_eq!(queue.records(), expected);
    }

    #[tokio::test(start_paused = true)]
    async fn burst_keeps_concurrency_calls_in_flight() {
        let queue = MemoryQueue::with_latency(Duration::from_millis(100));
        let started = Instant::now();
        run_on(&queue, &burst(400, 8), far()).await;
        // 40 calls of 100 ms, eight at a time: five rounds.
        assert_eq!(started.elapsed(), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn burst_stops_starting_batches_at_the_deadline() {
        let queue = MemoryQueue::with_latency(Duration::from_secs(1));
        let summary = run_on(&queue, &burst(1_000, 2), Instant::now() + Duration::from_millis(2_500)).await;
        assert_eq!(summary.sent, 60, "three rounds of two batches started before the deadline");
        assert_eq!(summary.unsent, 940);
        assert!(!summary.is_complete());
    }

    #[tokio::test(start_paused = true)]
    async fn stream_sends_the_whole_window_at_once_each_record_delayed() {
        let queue = MemoryQueue::with_latency(Duration::from_millis(50));
        let started = Instant::now();
        let summary = run_on(&queue, &stream(60, 5), far()).await;
        assert!(started.elapsed() < Duration::from_secs(1), "the run does not wait out the window");
        assert_eq!((summary.sent, summary.messages, summary.sqs_calls, summary.requested), (12, 12, 2, 12));
        let delays: Vec<u32> = queue.messages().iter().map(|message| message.delay_seconds).collect();
        assert_eq!(delays, (0..12).map(|step| step * 5).collect::<Vec<u32>>());
        let stamps: Vec<_> = queue
            .records()
            .iter()
            .map(|body| UserSession::from_json(body.as_bytes()).expect("a record").accessed_at)
            .collect();
        assert_eq!(stamps[3], (clock() + chrono::TimeDelta::seconds(15)).naive_utc());
    }

    #[tokio::test(start_paused = true)]
    async fn stream_pauses_stay_within_the_range() {
        let queue = MemoryQueue::default();
        let plan = RunOptions { duration_secs: Some(300), ..Default::default() }.plan().expect("valid");
        let summary = run_on(&queue, &plan, far()).await;
        // Pauses of 1-15 s over 300 s: between 20 and 300 records.
        assert!((20..=300).contains(&summary.sent), "{summary:?}");
        assert!(queue.messages().iter().all(|message| message.delay_seconds < 300));
    }
}
