//! Stream mode, the seed's behaviour without a Lambda sleeping through it: the records of the whole window
//! are sent at once, each delayed until the moment it becomes visible, which is also its `accessed_at`.

use std::ops::RangeInclusive;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, RngExt};

use crate::generator::user_session;
use crate::publish::pack::Message;

/// When each record becomes visible, in whole seconds from the start: the first at once, then one after
/// each pause drawn from `pause_secs`, while it stays within `duration` (which no delay may exceed).
pub(super) fn schedule<R: Rng + ?Sized>(rng: &mut R, duration: Duration, pause_secs: RangeInclusive<u64>) -> Vec<u32> {
    let end = duration.as_secs();
    let mut offsets = Vec::new();
    let mut offset = 0;
    while offset < end {
        // `end` is at most 900 s (the plan's limit), well within u32.
        offsets.push(u32::try_from(offset).unwrap_or(u32::MAX));
        // A pause of zero would never end the window; a second is DelaySeconds' grain.
        offset += rng.random_range(pause_secs.clone()).max(1);
    }
    offsets
}

/// One message a record, delayed by its offset, stamped with `start` plus that offset.
pub(super) fn messages<'r, R: Rng + ?Sized>(
    rng: &'r mut R,
    start: DateTime<Utc>,
    offsets: Vec<u32>,
) -> impl Iterator<Item = Result<Message, serde_json::Error>> + 'r {
    offsets.into_iter().map(move |offset| {
        let record = user_session(rng, start + TimeDelta::seconds(i64::from(offset)));
        Message::single(&record, offset)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn offsets_start_at_once_and_step_by_pauses_within_the_window() {
        let offsets = schedule(&mut StdRng::seed_from_u64(1), Duration::from_secs(900), 1..=15);
        assert_eq!(offsets[0], 0);
        assert!(offsets.windows(2).all(|pair| (1..=15).contains(&(pair[1] - pair[0]))), "{offsets:?}");
        assert!(offsets.iter().all(|offset| *offset < 900));
        assert!((60..=900).contains(&offsets.len()), "{}", offsets.len());
    }

    #[test]
    fn fixed_pauses_give_evenly_spaced_records() {
        let offsets = schedule(&mut StdRng::seed_from_u64(1), Duration::from_secs(60), 5..=5);
        assert_eq!(offsets, (0..12).map(|step| step * 5).collect::<Vec<u32>>());
        let zero = schedule(&mut StdRng::seed_from_u64(1), Duration::from_secs(3), 0..=0);
        assert_eq!(zero, [0, 1, 2], "a zero pause is a second");
    }

    #[test]
    fn a_record_is_stamped_with_the_moment_it_becomes_visible() {
        let start = DateTime::parse_from_rfc3339("2026-11-29T10:00:00.25Z").expect("valid").to_utc();
        let messages: Vec<Message> =
            messages(&mut StdRng::seed_from_u64(2), start, vec![0, 7, 899]).collect::<Result<_, _>>().expect("encodes");
        assert_eq!(messages.iter().map(|message| message.delay_seconds).collect::<Vec<_>>(), [0, 7, 899]);
        let record = shared::UserSession::from_json(messages[1].body.as_bytes()).expect("a record");
        assert_eq!(record.accessed_at, (start + TimeDelta::seconds(7)).naive_utc());
    }
}
