//! How long an invocation has left, from the deadline the Lambda runtime gives, and how much of it a
//! function keeps back to answer.

use std::ops::Add;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::env::{self, EnvError, Lookup};

/// How long before the invocation's deadline a function stops starting work, in milliseconds.
pub const MARGIN_MS_ENV: &str = "DEADLINE_MARGIN_MS";
/// [`MARGIN_MS_ENV`]'s default.
pub const DEFAULT_MARGIN_MS: u64 = 2_000;

/// The margin [`MARGIN_MS_ENV`] sets, at most a minute.
pub fn margin(lookup: &impl Lookup) -> Result<Duration, EnvError> {
    Ok(Duration::from_millis(env::bounded(lookup, MARGIN_MS_ENV, DEFAULT_MARGIN_MS, 0..=60_000)?))
}

/// Deadlines below this many milliseconds cannot be Unix times of an invocation; they are budgets.
pub const SMALLEST_EPOCH_DEADLINE_MS: u64 = 1_000_000_000_000;

/// Time left at `now` until `deadline_ms`, milliseconds since the Unix epoch as Lambda gives it.
/// cargo lambda's Runtime API emulator sends a fixed 600000 instead, meant as ten minutes from now, so
/// a value too small to be a date is read as a budget from now.
pub fn remaining(deadline_ms: u64, now: SystemTime) -> Duration {
    if deadline_ms < SMALLEST_EPOCH_DEADLINE_MS {
        return Duration::from_millis(deadline_ms);
    }
    (UNIX_EPOCH + Duration::from_millis(deadline_ms)).duration_since(now).unwrap_or(Duration::ZERO)
}

/// How long a function may go on starting work, seen at `now`: the time left less `margin`.
pub fn until_stop(deadline_ms: u64, margin: Duration, now: SystemTime) -> Duration {
    remaining(deadline_ms, now).saturating_sub(margin)
}

/// The instant `margin` before the deadline, on the clock `now` comes from: std's, or tokio's, whose
/// paused clock the tests use.
pub fn stop_at<I: Add<Duration, Output = I>>(now: I, deadline_ms: u64, margin: Duration) -> I {
    now + until_stop(deadline_ms, margin, SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_deadline_counts_from_now() {
        let now = UNIX_EPOCH + Duration::from_millis(1_800_000_000_000);
        assert_eq!(remaining(1_800_000_030_000, now), Duration::from_secs(30));
        assert_eq!(remaining(1_799_999_999_000, now), Duration::ZERO, "a deadline passed leaves nothing");
    }

    #[test]
    fn the_margin_is_kept_back_and_never_more_than_is_left() {
        let now = UNIX_EPOCH + Duration::from_millis(1_800_000_000_000);
        assert_eq!(until_stop(1_800_000_030_000, Duration::from_secs(2), now), Duration::from_secs(28));
        assert_eq!(until_stop(1_800_000_001_000, Duration::from_secs(2), now), Duration::ZERO);
    }

    #[test]
    fn the_stop_instant_is_the_margin_before_the_deadline() {
        let now = std::time::Instant::now();
        assert_eq!(stop_at(now, 600_000, Duration::from_secs(2)) - now, Duration::from_secs(598));
        assert_eq!(stop_at(now, SMALLEST_EPOCH_DEADLINE_MS, Duration::from_secs(2)), now, "a date long past");
    }

    #[test]
    fn an_emulator_budget_is_a_duration() {
        assert_eq!(remaining(600_000, SystemTime::now()), Duration::from_secs(600));
        assert_eq!(remaining(SMALLEST_EPOCH_DEADLINE_MS, SystemTime::now()), Duration::ZERO);
    }
}
