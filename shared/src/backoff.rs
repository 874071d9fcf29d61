//! How long a retry waits: "full jitter" over a doubling, capped bound, so writers or senders that
//! collided spread out instead of colliding again. The random generator is passed in, so a seeded run
//! waits the same each time.

use std::time::Duration;

use rand::{Rng, RngExt};

/// A doubling bound on the wait before a retry, from `base` up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first retry's upper bound.
    pub base: Duration,
    /// The largest bound any retry gets.
    pub max: Duration,
}

impl Backoff {
    /// The bound before retry `attempt` (0 for the first retry): `base` × 2^attempt, at most `max`.
    pub fn bound(&self, attempt: u32) -> Duration {
        self.base.saturating_mul(1 << attempt.min(20)).min(self.max)
    }

    /// A wait drawn uniformly from zero to [`Self::bound`].
    pub fn wait<R: Rng + ?Sized>(&self, attempt: u32, rng: &mut R) -> Duration {
        self.bound(attempt).mul_f64(rng.random_range(0.0..=1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const BACKOFF: Backoff = Backoff { base: Duration::from_millis(100), max: Duration::from_secs(5) };

    #[test]
    fn the_bound_doubles_up_to_the_cap() {
        let bounds: Vec<u128> = (0..8).map(|attempt| BACKOFF.bound(attempt).as_millis()).collect();
        assert_eq!(bounds, [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
        assert_eq!(BACKOFF.bound(u32::MAX), BACKOFF.max, "no overflow however many attempts");
    }

    #[test]
    fn waits_stay_within_the_bound_and_repeat_with_the_seed() {
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..50).map(|attempt| BACKOFF.wait(attempt % 8, &mut rng)).collect::<Vec<_>>()
        };
        let waits = draw(7);
        assert!(waits.iter().enumerate().all(|(attempt, wait)| *wait <= BACKOFF.bound(attempt as u32 % 8)));
        assert_eq!(waits, draw(7));
        assert_ne!(waits, draw(8));
    }
}
