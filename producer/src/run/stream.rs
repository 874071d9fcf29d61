//! Stream mode, the seed's behaviour: one record, a random pause, again, until `end`.

use std::ops::RangeInclusive;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::{Rng, RngExt};
use tokio::time::Instant;

use super::RunError;
use crate::generator::user_session;
use crate::publish::delivery::{Delivery, RetryPolicy, deliver};
use crate::publish::queue::{MessageQueue, OutgoingMessage};

/// Sends one record at a time with pauses drawn from `pause`; no send and no pause runs past `end`.
pub async fn stream<Q, R, C>(
    queue: &Q,
    rng: &mut R,
    clock: C,
    pause: RangeInclusive<Duration>,
    policy: &RetryPolicy,
    end: Instant,
) -> Result<Delivery, RunError>
where
    Q: MessageQueue,
    R: Rng + ?Sized,
    C: Fn() -> DateTime<Utc>,
{
    let mut total = Delivery::default();
    while Instant::now() < end {
        let body = user_session(rng, clock()).to_json()?;
        total += deliver(queue, vec![OutgoingMessage { id: "0".into(), body }], policy, end).await?;
        let wait = rng.random_range(pause.clone());
        if Instant::now() + wait >= end {
            break;
        }
        tokio::time::sleep(wait).await;
    }
    Ok(total)
}
