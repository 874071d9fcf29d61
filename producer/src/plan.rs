//! What one producer run does: the options an event or the environment may set, their defaults and
//! limits, and the checked [`Plan`] they resolve to.

use std::ops::RangeInclusive;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How records are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Mode {
    /// The seed's behaviour, records becoming visible one by one with random pauses over a window; the
    /// whole window is sent at once, each record delayed (SQS DelaySeconds) until its moment.
    Stream,
    /// A fixed number of records, packed several to a message, as fast as the queue takes them.
    Burst,
}

/// Run options as an event or the environment give them; `None` leaves the choice to the next source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunOptions {
    pub(crate) mode: Option<Mode>,
    pub(crate) count: Option<u64>,
    pub(crate) concurrency: Option<u64>,
    pub(crate) duration_secs: Option<u64>,
    pub(crate) min_pause_secs: Option<u64>,
    pub(crate) max_pause_secs: Option<u64>,
    pub(crate) pack_records: Option<u64>,
    pub(crate) pack_bytes: Option<u64>,
    pub(crate) seed: Option<u64>,
}

/// A numeric option: its name in an event, its environment variable, its default and its range.
#[derive(Debug)]
pub struct Limit {
    /// The option's name in an event.
    pub(crate) field: &'static str,
    /// The environment variable that sets the option's default.
    pub env: &'static str,
    /// The value when neither the event nor the environment sets one.
    pub default: u64,
    /// The values accepted.
    pub range: RangeInclusive<u64>,
}

/// Records per burst run.
pub const COUNT: Limit = Limit { field: "count", env: "BURST_COUNT", default: 1_000, range: 1..=1_000_000 };
/// SendMessageBatch calls in flight at once.
pub const CONCURRENCY: Limit = Limit { field: "concurrency", env: "BURST_CONCURRENCY", default: 8, range: 1..=64 };
/// The window a stream run's records become visible over (the seed: 15 minutes); at most SQS's largest
/// DelaySeconds, so a longer stream is the schedule's business.
pub const DURATION_SECS: Limit =
    Limit { field: "duration_secs", env: "STREAM_DURATION_SECS", default: 900, range: 1..=900 };
/// Shortest pause between two records of a stream run (the seed: 1 s).
pub const MIN_PAUSE_SECS: Limit =
    Limit { field: "min_pause_secs", env: "STREAM_MIN_PAUSE_SECS", default: 1, range: 0..=900 };
/// Longest pause between two records of a stream run (the seed: 15 s).
pub const MAX_PAUSE_SECS: Limit =
    Limit { field: "max_pause_secs", env: "STREAM_MAX_PAUSE_SECS", default: 15, range: 0..=900 };
/// Records a burst packs into one message, one JSON object per line. A hundred records of about 560
/// bytes fill one 64 KiB request unit of SQS's billing.
pub const PACK_RECORDS: Limit = Limit { field: "pack_records", env: "PACK_RECORDS", default: 100, range: 1..=1_000 };
/// The largest packed message body; at least one record of the largest size the consumer takes, at most
/// SQS's largest message.
pub const PACK_BYTES: Limit =
    Limit { field: "pack_bytes", env: "PACK_BYTES", default: 64 * 1024, range: 16 * 1024..=1024 * 1024 };
/// The mode's environment variable; the seed streams.
pub const MODE_ENV: &str = "PRODUCER_MODE";
/// The environment variable that pins the random generator.
pub const SEED_ENV: &str = "RECORD_SEED";

/// A checked run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// What the run sends, and how.
    pub work: Work,
    /// Seeds the record generator; `None` draws a fresh seed.
    pub seed: Option<u64>,
}

/// The mode-specific part of a [`Plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// `count` records packed into messages, `concurrency` calls in flight.
    Burst { count: u64, concurrency: usize, packing: Packing },
    /// Pauses are whole seconds, as DelaySeconds is.
    Stream { duration: Duration, pause_secs: RangeInclusive<u64>, concurrency: usize },
}

/// How many records, and how many bytes of them, one message may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packing {
    /// Records a message carries at most.
    pub records: usize,
    /// The largest message body, in bytes.
    pub bytes: usize,
}

impl Packing {
    /// One record a message, as the seed sends.
    pub const SINGLE: Packing = Packing { records: 1, bytes: 1024 * 1024 };
}

impl Work {
    /// The mode this work runs in.
    pub(crate) fn mode(&self) -> Mode {
        match self {
            Work::Burst { .. } => Mode::Burst,
            Work::Stream { .. } => Mode::Stream,
        }
    }
}

/// An option outside its limits, named as both the event and the environment call it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("{field} = {value} is out of range {min}..={max} (set by the event's `{field}` or {env})")]
    OutOfRange { field: &'static str, env: &'static str, value: u64, min: u64, max: u64 },
    #[error(
        "min_pause_secs = {min} exceeds max_pause_secs = {max} (set by the event or STREAM_MIN_PAUSE_SECS and STREAM_MAX_PAUSE_SECS)"
    )]
    PauseRange { min: u64, max: u64 },
}

impl RunOptions {
    /// These options, with every option `overrides` sets taking its place.
    pub(crate) fn overridden_by(self, overrides: RunOptions) -> RunOptions {
        RunOptions {
            mode: overrides.mode.or(self.mode),
            count: overrides.count.or(self.count),
            concurrency: overrides.concurrency.or(self.concurrency),
            duration_secs: overrides.duration_secs.or(self.duration_secs),
            min_pause_secs: overrides.min_pause_secs.or(self.min_pause_secs),
            max_pause_secs: overrides.max_pause_secs.or(self.max_pause_secs),
            pack_records: overrides.pack_records.or(self.pack_records),
            pack_bytes: overrides.pack_bytes.or(self.pack_bytes),
            seed: overrides.seed.or(self.seed),
        }
    }

    /// Fills in defaults and checks every option against its limits, those of the other mode too, so a
    /// bad setting is found when it is made and not when an event first switches modes.
    pub fn plan(&self) -> Result<Plan, PlanError> {
        let count = checked(&COUNT, self.count)?;
        let concurrency = checked(&CONCURRENCY, self.concurrency)?;
        let duration = checked(&DURATION_SECS, self.duration_secs)?;
        let min_pause = checked(&MIN_PAUSE_SECS, self.min_pause_secs)?;
        let max_pause = checked(&MAX_PAUSE_SECS, self.max_pause_secs)?;
        if min_pause > max_pause {
            return Err(PlanError::PauseRange { min: min_pause, max: max_pause });
        }
        // The ranges keep these far below usize::MAX.
        let packing = Packing {
            records: checked(&PACK_RECORDS, self.pack_records)? as usize,
            bytes: checked(&PACK_BYTES, self.pack_bytes)? as usize,
        };
        let concurrency = concurrency as usize;
        let work = match self.mode.unwrap_or(Mode::Stream) {
            Mode::Burst => Work::Burst { count, concurrency, packing },
            Mode::Stream => {
                Work::Stream { duration: Duration::from_secs(duration), pause_secs: min_pause..=max_pause, concurrency }
            }
        };
        Ok(Plan { work, seed: self.seed })
    }
}

fn checked(limit: &Limit, value: Option<u64>) -> Result<u64, PlanError> {
    let value = value.unwrap_or(limit.default);
    if limit.range.contains(&value) {
        Ok(value)
    } else {
        Err(PlanError::OutOfRange {
            field: limit.field,
            env: limit.env,
            value,
            min: *limit.range.start(),
            max: *limit.range.end(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seed_stream() {
        let plan = RunOptions::default().plan().expect("defaults are valid");
        assert_eq!(plan.work, Work::Stream { duration: Duration::from_secs(900), pause_secs: 1..=15, concurrency: 8 });
        assert_eq!(plan.seed, None);
    }

    #[test]
    fn overrides_win_option_by_option() {
        let base = RunOptions { mode: Some(Mode::Burst), count: Some(50), concurrency: Some(2), ..Default::default() };
        let plan = base.overridden_by(RunOptions { count: Some(70), seed: Some(9), ..Default::default() }).plan();
        let packing = Packing { records: 100, bytes: 65_536 };
        assert_eq!(plan, Ok(Plan { work: Work::Burst { count: 70, concurrency: 2, packing }, seed: Some(9) }));
    }

    #[test]
    fn out_of_range_options_are_named_with_their_variable() {
        let options = RunOptions { mode: Some(Mode::Burst), count: Some(0), ..Default::default() };
        let error = options.plan().expect_err("zero records").to_string();
        assert_eq!(error, "count = 0 is out of range 1..=1000000 (set by the event's `count` or BURST_COUNT)");
        let options = RunOptions { mode: Some(Mode::Burst), concurrency: Some(65), ..Default::default() };
        assert!(options.plan().expect_err("too many").to_string().contains("BURST_CONCURRENCY"));
    }

    #[test]
    fn packing_is_bounded_by_what_a_message_can_carry() {
        let options = RunOptions { mode: Some(Mode::Burst), pack_bytes: Some(1000), ..Default::default() };
        assert!(options.plan().expect_err("smaller than a record").to_string().contains("PACK_BYTES"));
        let options = RunOptions { mode: Some(Mode::Burst), pack_records: Some(0), ..Default::default() };
        assert!(options.plan().expect_err("no records").to_string().contains("PACK_RECORDS"));
    }

    #[test]
    fn a_pause_range_must_not_be_reversed() {
        let options = RunOptions { min_pause_secs: Some(5), max_pause_secs: Some(2), ..Default::default() };
        assert_eq!(options.plan(), Err(PlanError::PauseRange { min: 5, max: 2 }));
    }

    #[test]
    fn options_of_the_other_mode_are_checked_too() {
        let options = RunOptions { mode: Some(Mode::Burst), duration_secs: Some(0), ..Default::default() };
        assert!(options.plan().expect_err("zero duration").to_string().contains("STREAM_DURATION_SECS"));
    }
}
