//! Running a [`Plan`]: records from the generator, packed or delayed into messages, through the queue
//! port into a [`Summary`].
//!
//! The run knows nothing of Lambda: the caller passes a [`RunContext`] with the queue, the random
//! generators, the clock that stamps records and the instant by which the run must have stopped.

mod burst;
mod stream;
mod summary;

pub use summary::Summary;

use chrono::{DateTime, Utc};
use futures::{StreamExt, future, stream as futures_stream};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use crate::plan::{Plan, Work};
use crate::publish::batch::Batches;
use crate::publish::delivery::{Courier, Delivery, RetryPolicy};
use crate::publish::pack::Message;
use crate::publish::queue::{MessageQueue, SendError};

/// What a run works with besides its [`Plan`]: where it sends, what it draws from, what stamps the
/// records, how it retries and when it must stop. Passing these in keeps the run deterministic.
pub struct RunContext<'a, Q, R: ?Sized, C> {
    /// Where the messages go.
    pub queue: &'a Q,
    /// Draws the records, and a stream's schedule before them: a burst with a seeded generator sends
    /// exactly the records `producer generate` writes for that seed.
    pub rng: &'a mut R,
    /// Draws the waits before retries, a generator for each batch in turn. It is not `rng`, so that a
    /// retry never shifts the records that follow it.
    pub retry_rng: StdRng,
    /// Stamps each record's `accessed_at` (a stream adds the record's delay).
    pub clock: C,
    /// How often and how patiently a batch is sent again.
    pub policy: &'a RetryPolicy,
    /// No batch starts, and no retry waits, past this instant.
    pub deadline: Instant,
}

/// A fault that ends the run as a whole.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A batch call failed in a way no retry can cure.
    #[error(transparent)]
    Send(#[from] SendError),
    /// A record could not be written as JSON.
    #[error("cannot encode a record as JSON: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The generator of a run's retry waits for `seed`: forked from a generator of that seed, so it is seeded
/// when the run is and its draws are never the records' own.
pub(crate) fn retry_rng(seed: Option<u64>) -> StdRng {
    shared::seed::rng(seed).fork()
}

/// Carries out `plan` in `context`, stopping in time for its deadline.
pub async fn run<Q, R, C>(plan: &Plan, context: RunContext<'_, Q, R, C>) -> Result<Summary, RunError>
where
    Q: MessageQueue,
    R: Rng + ?Sized,
    C: Fn() -> DateTime<Utc>,
{
    let started = Instant::now();
    let RunContext { queue, rng, retry_rng, clock, policy, deadline } = context;
    let courier = Courier { queue, policy, deadline };
    let (requested, delivery) = match &plan.work {
        Work::Burst { count, concurrency, packing } => {
            let messages = burst::messages(rng, clock, *count, *packing);
            (*count, send(&courier, messages, *concurrency, retry_rng).await?)
        }
        Work::Stream { duration, pause_secs, concurrency } => {
            let offsets = stream::schedule(rng, *duration, pause_secs.clone());
            let count = offsets.len() as u64;
            let messages = stream::messages(rng, clock(), offsets);
            (count, send(&courier, messages, *concurrency, retry_rng).await?)
        }
    };
    Ok(Summary::new(plan.work.mode(), requested, delivery, started.elapsed()))
}

/// Sends `messages` in batches, `concurrency` calls in flight; batches not started by the courier's
/// deadline are left unsent. Each batch waits between its attempts with a generator of its own, drawn
/// from `retry_rng` in batch order, so concurrent deliveries need not share one.
async fn send<Q: MessageQueue>(
    courier: &Courier<'_, Q>,
    messages: impl Iterator<Item = Result<Message, serde_json::Error>>,
    concurrency: usize,
    mut retry_rng: StdRng,
) -> Result<Delivery, RunError> {
    let deadline = courier.deadline;
    let mut deliveries = futures_stream::iter(Batches::new(messages))
        .take_while(|_| future::ready(Instant::now() < deadline))
        .map(|batch| {
            let mut rng = StdRng::from_rng(&mut retry_rng);
            async move { Ok::<_, RunError>(courier.deliver(batch?, &mut rng).await?) }
        })
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
        let context = RunContext {
            queue,
            rng: &mut StdRng::seed_from_u64(5),
            retry_rng: StdRng::seed_from_u64(6),
            clock,
            policy: &RetryPolicy::default(),
            deadline,
        };
        run(plan, context).await.expect("run succeeds")
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

    #[test]
    fn the_retry_generator_follows_the_seed_but_never_draws_the_records() {
        assert_eq!(retry_rng(Some(3)).next_u64(), retry_rng(Some(3)).next_u64());
        assert_ne!(retry_rng(Some(3)).next_u64(), retry_rng(Some(4)).next_u64());
        assert_ne!(retry_rng(Some(3)).next_u64(), shared::seed::rng(Some(3)).next_u64());
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_does_not_change_the_records() {
        /// Fails its first call, as a throttled queue would, then takes everything.
        #[derive(Default)]
        struct OnceThrottledQueue {
            inner: MemoryQueue,
            throttled: std::sync::atomic::AtomicBool,
        }
        impl MessageQueue for OnceThrottledQueue {
            async fn send_batch(
                &self,
                messages: &[crate::publish::queue::OutgoingMessage],
            ) -> Result<Vec<crate::publish::queue::EntryFailure>, SendError> {
                if !self.throttled.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    return Err(SendError { message: "throttled".into(), retryable: true, source: None });
                }
                self.inner.send_batch(messages).await
            }
        }
        let queue = OnceThrottledQueue::default();
        let context = RunContext {
            queue: &queue,
            rng: &mut StdRng::seed_from_u64(5),
            retry_rng: StdRng::seed_from_u64(6),
            clock,
            policy: &RetryPolicy::default(),
            deadline: far(),
        };
        let summary = run(&burst(30, 1), context).await.expect("run succeeds");
        assert_eq!((summary.sent, summary.sqs_calls), (30, 4));
        let mut rng = StdRng::seed_from_u64(5);
        let expected: Vec<String> =
            (0..30).map(|_| crate::generator::user_session(&mut rng, clock()).to_json().expect("encodes")).collect();
        assert_eq!(queue.inner.records(), expected);
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
