//! Burst mode: `count` records in batches of ten, `concurrency` batches in flight.

use chrono::{DateTime, Utc};
use futures::{StreamExt, future, stream};
use rand::Rng;
use tokio::time::Instant;

use super::RunError;
use crate::generator::user_session;
use crate::publish::batch::Batches;
use crate::publish::delivery::{Delivery, RetryPolicy, deliver};
use crate::publish::queue::MessageQueue;

/// Sends `count` generated records; batches not started by `deadline` are left unsent.
pub async fn burst<Q, R, C>(
    queue: &Q,
    rng: &mut R,
    clock: C,
    count: u64,
    concurrency: usize,
    policy: &RetryPolicy,
    deadline: Instant,
) -> Result<Delivery, RunError>
where
    Q: MessageQueue,
    R: Rng + ?Sized,
    C: Fn() -> DateTime<Utc>,
{
    let records =
        std::iter::repeat_with(|| user_session(rng, clock())).take(usize::try_from(count).unwrap_or(usize::MAX));
    let mut deliveries = stream::iter(Batches::new(records))
        .take_while(|_| future::ready(Instant::now() < deadline))
        .map(|batch| async move { Ok::<_, RunError>(deliver(queue, batch?, policy, deadline).await?) })
        .buffer_unordered(concurrency.max(1));
    let mut total = Delivery::default();
    while let Some(delivery) = deliveries.next().await {
        total += delivery?;
    }
    Ok(total)
}
