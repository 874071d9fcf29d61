//! Delivers one batch: refused entries and failed calls are retried with jittered exponential backoff
//! until they are accepted, the attempts run out or the next wait would pass the deadline.

use std::time::Duration;

use rand::Rng;
use shared::backoff::Backoff;
use tokio::time::Instant;
use tracing::warn;

use super::queue::{MessageQueue, OutgoingMessage, SendError};

/// How often and how patiently a batch is sent again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per message, the first included.
    pub(crate) max_attempts: u32,
    /// The bound on the wait before each retry: 200 ms for the first, doubling up to 5 s.
    pub(crate) backoff: Backoff,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 5, backoff: Backoff { base: Duration::from_millis(200), max: Duration::from_secs(5) } }
    }
}

/// What became of one batch: records (a message may carry several), messages and calls.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivery {
    /// Records in messages the queue accepted.
    pub(crate) sent: u64,
    /// Records in messages given up on.
    pub(crate) failed: u64,
    /// Messages the queue accepted.
    pub(crate) messages: u64,
    pub(crate) calls: u64,
}

impl std::ops::AddAssign for Delivery {
    fn add_assign(&mut self, other: Delivery) {
        self.sent += other.sent;
        self.failed += other.failed;
        self.messages += other.messages;
        self.calls += other.calls;
    }
}

fn records(messages: &[OutgoingMessage], ids: impl Fn(&str) -> bool) -> u64 {
    messages.iter().filter(|message| ids(&message.id)).map(|message| message.records).sum()
}

/// Where one run's batches go, how patiently, and until when.
#[derive(Debug)]
pub(crate) struct Courier<'a, Q> {
    pub(crate) queue: &'a Q,
    pub(crate) policy: &'a RetryPolicy,
    /// No retry waits past this instant.
    pub(crate) deadline: Instant,
}

impl<Q: MessageQueue> Courier<'_, Q> {
    /// Sends `messages` until each is accepted or given up on, drawing the waits between attempts from
    /// `rng`. Only a call failure that no retry can cure (see [`SendError::retryable`]) is an error;
    /// given-up messages are counted in [`Delivery::failed`].
    pub(crate) async fn deliver<R: Rng + ?Sized>(
        &self,
        mut messages: Vec<OutgoingMessage>,
        rng: &mut R,
    ) -> Result<Delivery, SendError> {
        let policy = self.policy;
        let mut delivery = Delivery::default();
        let mut attempt = 1;
        loop {
            delivery.calls += 1;
            let retry: Vec<String> = match self.queue.send_batch(&messages).await {
                Ok(refused) => {
                    let refused_ids: Vec<&str> = refused.iter().map(|failure| failure.id.as_str()).collect();
                    let accepted = |id: &str| !refused_ids.contains(&id);
                    delivery.sent += records(&messages, accepted);
                    delivery.messages += messages.iter().filter(|message| accepted(&message.id)).count() as u64;
                    let mut retry = Vec::with_capacity(refused.len());
                    for failure in refused {
                        if failure.retryable {
                            retry.push(failure.id);
                        } else {
                            warn!(entry = %failure.id, code = %failure.code, "queue refused a message for good");
                            delivery.failed += records(&messages, |id| id == failure.id);
                        }
                    }
                    retry
                }
                Err(error) if error.retryable => {
                    warn!(attempt, error = %error, "batch call failed");
                    messages.iter().map(|message| message.id.clone()).collect()
                }
                Err(error) => return Err(error),
            };
            if retry.is_empty() {
                return Ok(delivery);
            }
            messages.retain(|message| retry.contains(&message.id));
            // Backoff counts retries from 0; `attempt` counts the calls made so far.
            let wait = policy.backoff.wait(attempt - 1, rng);
            if attempt >= policy.max_attempts || Instant::now() + wait >= self.deadline {
                warn!(attempt, messages = messages.len(), "giving up on messages the queue did not take");
                delivery.failed += records(&messages, |_| true);
                return Ok(delivery);
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::queue::EntryFailure;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use std::sync::Mutex;

    /// Answers each call with the next scripted outcome and records the entry ids it was sent.
    #[derive(Default)]
    struct ScriptedQueue {
        outcomes: Mutex<Vec<Result<Vec<EntryFailure>, SendError>>>,
        calls: Mutex<Vec<Vec<String>>>,
    }

    impl ScriptedQueue {
        fn new(mut outcomes: Vec<Result<Vec<EntryFailure>, SendError>>) -> Self {
            outcomes.reverse();
            Self { outcomes: Mutex::new(outcomes), calls: Mutex::default() }
        }

        fn calls(&self) -> Vec<Vec<String>> {
            self.calls.lock().expect("not poisoned").clone()
        }
    }

    impl MessageQueue for ScriptedQueue {
        async fn send_batch(&self, messages: &[OutgoingMessage]) -> Result<Vec<EntryFailure>, SendError> {
            self.calls.lock().expect("not poisoned").push(messages.iter().map(|m| m.id.clone()).collect());
            self.outcomes.lock().expect("not poisoned").pop().unwrap_or(Ok(Vec::new()))
        }
    }

    fn messages(count: usize) -> Vec<OutgoingMessage> {
        (0..count)
            .map(|id| OutgoingMessage { id: id.to_string(), body: "{}".into(), records: 1, delay_seconds: 0 })
            .collect()
    }

    fn refused(id: &str, retryable: bool) -> EntryFailure {
        EntryFailure { id: id.into(), code: "InternalError".into(), retryable }
    }

    fn call_error(retryable: bool) -> SendError {
        SendError { message: "boom".into(), retryable, source: None }
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    async fn deliver(
        queue: &ScriptedQueue,
        messages: Vec<OutgoingMessage>,
        policy: &RetryPolicy,
        deadline: Instant,
    ) -> Result<Delivery, SendError> {
        Courier { queue, policy, deadline }.deliver(messages, &mut StdRng::seed_from_u64(1)).await
    }

    #[tokio::test(start_paused = true)]
    async fn refused_entries_alone_are_sent_again() {
        let queue = ScriptedQueue::new(vec![Ok(vec![refused("1", true), refused("3", true)]), Ok(vec![])]);
        let delivery = deliver(&queue, messages(4), &RetryPolicy::default(), far()).await.expect("delivered");
        assert_eq!(delivery, Delivery { sent: 4, failed: 0, messages: 4, calls: 2 });
        assert_eq!(queue.calls(), [vec!["0", "1", "2", "3"], vec!["1", "3"]]);
    }

    #[tokio::test(start_paused = true)]
    async fn sender_faults_are_not_retried() {
        let queue = ScriptedQueue::new(vec![Ok(vec![refused("0", false)])]);
        let delivery = deliver(&queue, messages(2), &RetryPolicy::default(), far()).await.expect("delivered");
        assert_eq!(delivery, Delivery { sent: 1, failed: 1, messages: 1, calls: 1 });
    }

    #[tokio::test(start_paused = true)]
    async fn failed_calls_are_retried_until_attempts_run_out() {
        let queue = ScriptedQueue::new((0..5).map(|_| Err(call_error(true))).collect());
        let policy = RetryPolicy { max_attempts: 3, ..RetryPolicy::default() };
        let delivery = deliver(&queue, messages(3), &policy, far()).await.expect("counted, not an error");
        assert_eq!(delivery, Delivery { sent: 0, failed: 3, messages: 0, calls: 3 });
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_call_then_success_sends_everything() {
        let queue = ScriptedQueue::new(vec![Err(call_error(true)), Ok(vec![])]);
        let delivery = deliver(&queue, messages(3), &RetryPolicy::default(), far()).await.expect("delivered");
        assert_eq!(delivery, Delivery { sent: 3, failed: 0, messages: 3, calls: 2 });
    }

    #[tokio::test(start_paused = true)]
    async fn a_fatal_call_error_stops_at_once() {
        let queue = ScriptedQueue::new(vec![Err(call_error(false))]);
        let error = deliver(&queue, messages(3), &RetryPolicy::default(), far()).await.expect_err("fatal");
        assert!(!error.retryable);
        assert_eq!(queue.calls().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn no_retry_waits_past_the_deadline() {
        let queue = ScriptedQueue::new((0..5).map(|_| Err(call_error(true))).collect());
        let backoff = Backoff { base: Duration::from_secs(10), max: Duration::from_secs(10) };
        let policy = RetryPolicy { backoff, ..RetryPolicy::default() };
        let deadline = Instant::now();
        let delivery = deliver(&queue, messages(2), &policy, deadline).await.expect("counted");
        assert_eq!(delivery, Delivery { sent: 0, failed: 2, messages: 0, calls: 1 });
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_grows_and_is_capped() {
        // Four retries of the default policy wait at most 200 + 400 + 800 + 1,600 ms.
        let queue = ScriptedQueue::new((0..5).map(|_| Err(call_error(true))).collect());
        let started = Instant::now();
        let delivery = deliver(&queue, messages(1), &RetryPolicy::default(), far()).await.expect("counted");
        assert_eq!(delivery.calls, 5);
        assert!(started.elapsed() <= Duration::from_millis(3_000), "{:?}", started.elapsed());
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff.bound(0), Duration::from_millis(200), "the first retry's bound");
        assert_eq!(policy.backoff.bound(30), Duration::from_secs(5), "the cap");
    }

    #[tokio::test(start_paused = true)]
    async fn a_seeded_delivery_waits_the_same_each_time() {
        let waited = |seed: u64| async move {
            let queue = ScriptedQueue::new((0..4).map(|_| Err(call_error(true))).collect());
            let courier = Courier { queue: &queue, policy: &RetryPolicy::default(), deadline: far() };
            let started = Instant::now();
            courier.deliver(messages(2), &mut StdRng::seed_from_u64(seed)).await.expect("delivered");
            started.elapsed()
        };
        let first = waited(7).await;
        assert!(first > Duration::ZERO);
        assert_eq!(first, waited(7).await);
        assert_ne!(first, waited(8).await);
    }
}
