//! The function's settings, read from its environment once per container and checked at start.

use std::time::Duration;

use crate::plan::{
    CONCURRENCY, COUNT, DURATION_SECS, MAX_PAUSE_SECS, MIN_PAUSE_SECS, MODE_ENV, Mode, PACK_BYTES, PACK_RECORDS,
    PlanError, RunOptions, SEED_ENV,
};
use crate::publish::delivery::RetryPolicy;
use shared::deadline;
use shared::env::{self, EnvError, Lookup};

/// The queue's URL; required.
pub const QUEUE_URL_ENV: &str = "QUEUE_URL";
/// Attempts per message, the first included (default 5).
pub const SEND_MAX_ATTEMPTS_ENV: &str = "SEND_MAX_ATTEMPTS";

/// Everything the environment configures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The queue's URL.
    pub queue_url: String,
    /// Run options an event may override.
    pub(crate) defaults: RunOptions,
    pub(crate) retry: RetryPolicy,
    /// How long before the invocation's deadline the run stops starting work.
    pub(crate) deadline_margin: Duration,
}

/// A setting that is missing or invalid, named by its environment variable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    /// A variable is missing or does not parse.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// The variables parse but their run options are out of their limits.
    #[error("invalid default run options: {0}")]
    Plan(#[from] PlanError),
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(env::process_env)
    }

    /// Reads settings through `lookup`, which returns a variable's value if it is set.
    pub(crate) fn from_lookup(lookup: impl Lookup) -> Result<Self, SettingsError> {
        let queue_url =
            env::required(&lookup, QUEUE_URL_ENV, "the queue's URL (https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE)")?;
        if !(queue_url.starts_with("https://") || queue_url.starts_with("http://")) {
            let reason = "a queue URL starts with https:// (or http:// for a local emulator)";
            return Err(EnvError::invalid(QUEUE_URL_ENV, queue_url, reason).into());
        }
        let mode = match lookup(MODE_ENV) {
            None => None,
            Some(value) => Some(match value.trim().to_ascii_lowercase().as_str() {
                "stream" => Mode::Stream,
                "burst" => Mode::Burst,
                _ => {
                    return Err(EnvError::invalid(MODE_ENV, value, "expected stream or burst").into());
                }
            }),
        };
        let defaults = RunOptions {
            mode,
            count: env::parsed(&lookup, COUNT.env)?,
            concurrency: env::parsed(&lookup, CONCURRENCY.env)?,
            duration_secs: env::parsed(&lookup, DURATION_SECS.env)?,
            min_pause_secs: env::parsed(&lookup, MIN_PAUSE_SECS.env)?,
            max_pause_secs: env::parsed(&lookup, MAX_PAUSE_SECS.env)?,
            pack_records: env::parsed(&lookup, PACK_RECORDS.env)?,
            pack_bytes: env::parsed(&lookup, PACK_BYTES.env)?,
            seed: env::parsed(&lookup, SEED_ENV)?,
        };
        defaults.plan()?;
        let default_attempts = u64::from(RetryPolicy::default().max_attempts);
        // The range keeps the value within u32.
        let max_attempts = env::bounded(&lookup, SEND_MAX_ATTEMPTS_ENV, default_attempts, 1..=20)? as u32;
        let deadline_margin = deadline::margin(&lookup)?;
        Ok(Self { queue_url, defaults, retry: RetryPolicy { max_attempts, ..RetryPolicy::default() }, deadline_margin })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    const URL: (&str, &str) = ("QUEUE_URL", "https://sqs.eu-central-1.amazonaws.com/123456789012/driven_data_queue");

    #[test]
    fn queue_url_alone_gives_the_seed_defaults() {
        let settings = settings(&[URL]).expect("valid");
        assert_eq!(settings.defaults, RunOptions::default());
        assert_eq!(settings.retry, RetryPolicy::default());
        assert_eq!(settings.deadline_margin, Duration::from_secs(2));
    }

    #[test]
    fn a_missing_or_malformed_queue_url_is_named() {
        for vars in [&[][..], &[("QUEUE_URL", " ")]] {
            let error = settings(vars).expect_err("no queue URL").to_string();
            assert!(error.starts_with("QUEUE_URL is not set"), "{error}");
        }
        let error = settings(&[("QUEUE_URL", "driven_data_queue")]).expect_err("not a URL").to_string();
        assert!(error.starts_with("QUEUE_URL = \"driven_data_queue\" is invalid"), "{error}");
    }

    #[test]
    fn every_variable_is_read() {
        let settings = settings(&[
            URL,
            ("PRODUCER_MODE", "Burst"),
            ("BURST_COUNT", "5000"),
            ("BURST_CONCURRENCY", "16"),
            ("STREAM_DURATION_SECS", "60"),
            ("STREAM_MIN_PAUSE_SECS", "2"),
            ("STREAM_MAX_PAUSE_SECS", "4"),
            ("PACK_RECORDS", "20"),
            ("PACK_BYTES", "20000"),
            ("RECORD_SEED", "42"),
            ("SEND_MAX_ATTEMPTS", "3"),
            ("DEADLINE_MARGIN_MS", "500"),
        ])
        .expect("valid");
        assert_eq!(
            settings.defaults,
            RunOptions {
                mode: Some(Mode::Burst),
                count: Some(5000),
                concurrency: Some(16),
                duration_secs: Some(60),
                min_pause_secs: Some(2),
                max_pause_secs: Some(4),
                pack_records: Some(20),
                pack_bytes: Some(20000),
                seed: Some(42),
            }
        );
        assert_eq!(settings.retry.max_attempts, 3);
        assert_eq!(settings.deadline_margin, Duration::from_millis(500));
    }

    #[test]
    fn invalid_values_name_their_variable() {
        for (name, value) in [
            ("PRODUCER_MODE", "fast"),
            ("BURST_COUNT", "many"),
            ("BURST_COUNT", "-1"),
            ("BURST_COUNT", "0"),
            ("BURST_CONCURRENCY", "1000"),
            ("STREAM_MIN_PAUSE_SECS", "20"),
            ("PACK_BYTES", "100"),
            ("RECORD_SEED", "x"),
            ("SEND_MAX_ATTEMPTS", "0"),
            ("DEADLINE_MARGIN_MS", "soon"),
        ] {
            let error = settings(&[URL, (name, value)]).expect_err("invalid").to_string();
            let named = error.contains(name) || (name == "STREAM_MIN_PAUSE_SECS" && error.contains("min_pause_secs"));
            assert!(named, "{name}={value}: {error}");
        }
    }
}
