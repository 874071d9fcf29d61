//! Burst mode: `count` records packed into messages, sent as fast as the queue takes them.

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::generator::user_session;
use crate::plan::Packing;
use crate::publish::pack::{Message, Packed};

/// The burst's messages: `count` records generated as they are packed, each stamped by `clock`.
pub(super) fn messages<'r, R, C>(
    rng: &'r mut R,
    clock: C,
    count: u64,
    packing: Packing,
) -> impl Iterator<Item = Result<Message, serde_json::Error>> + 'r
where
    R: Rng + ?Sized,
    C: Fn() -> DateTime<Utc> + 'r,
{
    let records =
        std::iter::repeat_with(move || user_session(rng, clock())).take(usize::try_from(count).unwrap_or(usize::MAX));
    Packed::new(records, packing)
}
