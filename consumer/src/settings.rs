//! The function's settings, read from its environment once per container and checked at start.

use std::time::Duration;

use shared::deadline;
use shared::env::{self, EnvError, Lookup};

use crate::append::AppendOptions;
use crate::decode::{DEFAULT_MAX_RECORD_AGE_DAYS, RecordWindow};
use crate::error_output::ErrorOutputOptions;
use crate::ingest::Outputs;
use crate::partition::PartitionOptions;
use crate::telemetry::MetricSet;

/// The bucket both outputs go to; required.
pub const BUCKET_NAME_ENV: &str = "BUCKET_NAME";
/// The key of the JSON array all records are appended to; empty turns the append path off.
pub const DATA_KEY_ENV: &str = "DATA_KEY";
/// The key prefix of the date-partitioned NDJSON objects; unset or empty turns that path off.
pub const PARTITION_PREFIX_ENV: &str = "PARTITION_PREFIX";
/// The key prefix invalid records are written under with their reason; unset or empty reports their
/// messages failed instead, so they reach the dead-letter queue whole.
pub const ERROR_PREFIX_ENV: &str = "ERROR_PREFIX";
/// `true` publishes every count as a metric, `false` (default) only `Records` and `Rejected`.
pub const DETAILED_METRICS_ENV: &str = "DETAILED_METRICS";
/// `none` (default) or `gzip` for the partitioned objects.
pub const PARTITION_COMPRESSION_ENV: &str = "PARTITION_COMPRESSION";
/// Partition objects written at once (default 8, 1 to 64).
pub const PARTITION_WRITE_CONCURRENCY_ENV: &str = "PARTITION_WRITE_CONCURRENCY";
/// How many bytes at the end of the array are searched for records already appended (default 8 MiB,
/// about 15,000 records: three full batches of packed messages).
pub const DEDUP_WINDOW_BYTES_ENV: &str = "DEDUP_WINDOW_BYTES";
/// How many bytes at the end of the array are searched when a message was delivered before (default
/// 64 MiB); at least DEDUP_WINDOW_BYTES.
pub(crate) const DEDUP_REDELIVERY_WINDOW_BYTES_ENV: &str = "DEDUP_REDELIVERY_WINDOW_BYTES";
/// The size at which the live array is sealed as a numbered segment beside it and a new one started
/// (default 256 MiB; 0 never).
pub const DATA_ROLLOVER_BYTES_ENV: &str = "DATA_ROLLOVER_BYTES";
/// How many days before the time SQS took its message a record's `accessed_at` may be (default 30, 1 to
/// 366); later than a day after it is refused too.
pub const MAX_RECORD_AGE_DAYS_ENV: &str = "MAX_RECORD_AGE_DAYS";
/// The CloudWatch namespace of the function's metrics (default `StreamingIngestion`).
pub const METRICS_NAMESPACE_ENV: &str = "METRICS_NAMESPACE";

const DEFAULT_DATA_KEY: &str = "streaming_data.json";
const DEFAULT_DEDUP_WINDOW_BYTES: u64 = 8 << 20;
const DEFAULT_REDELIVERY_WINDOW_BYTES: u64 = 64 << 20;
/// An append to an array of 256 MiB copies four 64 MiB parts side by side: about 0.7 s at 100 MB/s
/// a copy, and still well inside the function's timeout were S3 ten times slower.
const DEFAULT_ROLLOVER_BYTES: u64 = 256 << 20;
const DEFAULT_METRICS_NAMESPACE: &str = "StreamingIngestion";

/// Everything the environment configures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub bucket: String,
    pub outputs: Outputs,
    /// The times a record may hold; the rest are refused.
    pub window: RecordWindow,
    pub metrics_namespace: String,
    pub metrics: MetricSet,
    /// [`deadline::MARGIN_MS_ENV`]: how long before the deadline writes stop (default 2 s).
    pub deadline_margin: Duration,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(env::process_env)
    }

    /// Reads settings through `lookup`, which returns a variable's value if it is set.
    pub(crate) fn from_lookup(lookup: impl Lookup) -> Result<Self, EnvError> {
        let bucket = env::required(&lookup, BUCKET_NAME_ENV, "the S3 bucket the records are written to")?;
        check_bucket_name(&bucket)?;
        let key = lookup(DATA_KEY_ENV).unwrap_or_else(|| DEFAULT_DATA_KEY.into());
        let append = if key.is_empty() {
            None
        } else {
            let rollover_bytes = env::bounded(&lookup, DATA_ROLLOVER_BYTES_ENV, DEFAULT_ROLLOVER_BYTES, 0..=(5 << 30))?;
            let dedup_window_bytes =
                env::bounded(&lookup, DEDUP_WINDOW_BYTES_ENV, DEFAULT_DEDUP_WINDOW_BYTES, 1024..=(64 << 20))?;
            let redelivery_window_bytes = env::bounded(
                &lookup,
                DEDUP_REDELIVERY_WINDOW_BYTES_ENV,
                DEFAULT_REDELIVERY_WINDOW_BYTES.max(dedup_window_bytes),
                dedup_window_bytes..=(1 << 30),
            )?;
            let rollover_bytes = Some(rollover_bytes).filter(|bytes| *bytes > 0);
            Some(AppendOptions { key, dedup_window_bytes, redelivery_window_bytes, rollover_bytes })
        };
        let partition = match lookup(PARTITION_PREFIX_ENV).filter(|prefix| !prefix.is_empty()) {
            None => None,
            Some(mut prefix) => {
                if !prefix.ends_with('/') {
                    prefix.push('/');
                }
                let gzip = match lookup(PARTITION_COMPRESSION_ENV).as_deref().map(str::trim) {
                    None | Some("" | "none") => false,
                    Some("gzip") => true,
                    Some(other) => {
                        return Err(EnvError::invalid(PARTITION_COMPRESSION_ENV, other, "expected none or gzip"));
                    }
                };
                let concurrency = env::bounded(
                    &lookup,
                    PARTITION_WRITE_CONCURRENCY_ENV,
                    crate::partition::DEFAULT_CONCURRENCY as u64,
                    1..=64,
                )? as usize;
                Some(PartitionOptions { prefix, gzip, concurrency })
            }
        };
        let errors = match lookup(ERROR_PREFIX_ENV).filter(|prefix| !prefix.is_empty()) {
            None => None,
            Some(mut prefix) => {
                if !prefix.ends_with('/') {
                    prefix.push('/');
                }
                let inside_the_table = partition.as_ref().is_some_and(|partition| {
                    prefix.starts_with(&partition.prefix) || partition.prefix.starts_with(&prefix)
                });
                if inside_the_table || append.as_ref().is_some_and(|append| append.key.starts_with(&prefix)) {
                    let reason = "the error output needs a prefix of its own, apart from PARTITION_PREFIX (which Athena reads whole) and DATA_KEY";
                    return Err(EnvError::invalid(ERROR_PREFIX_ENV, prefix, reason));
                }
                Some(ErrorOutputOptions { prefix })
            }
        };
        let metrics = match env::parsed::<bool>(&lookup, DETAILED_METRICS_ENV)? {
            Some(true) => MetricSet::Detailed,
            Some(false) | None => MetricSet::Basic,
        };
        let metrics_namespace = lookup(METRICS_NAMESPACE_ENV)
            .filter(|namespace| !namespace.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.into());
        let max_age_days =
            env::bounded(&lookup, MAX_RECORD_AGE_DAYS_ENV, u64::from(DEFAULT_MAX_RECORD_AGE_DAYS), 1..=366)?;
        // At most 366.
        let window = RecordWindow::days(max_age_days as u32);
        let deadline_margin = deadline::margin(&lookup)?;
        let outputs = Outputs { append, partition, errors };
        Ok(Self { bucket, outputs, window, metrics_namespace, metrics, deadline_margin })
    }
}

/// S3's naming rules, checked here so a typo fails at start and not at the first write.
fn check_bucket_name(name: &str) -> Result<(), EnvError> {
    let valid_chars = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let ends_ok = name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
    if (3..=63).contains(&name.len()) && valid_chars && ends_ok && !name.contains("..") {
        Ok(())
    } else {
        Err(EnvError::invalid(
            BUCKET_NAME_ENV,
            name,
            "an S3 bucket name has 3-63 lower-case letters, digits, hyphens and dots, and starts and ends with a letter or digit",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, EnvError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        Settings::from_lookup(move |name: &str| vars.iter().find(|(key, _)| key == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn bucket_alone_appends_to_the_seed_key_and_does_not_partition() {
        let settings = settings(&[("BUCKET_NAME", "driven-data-bucket")]).expect("valid");
        assert_eq!(
            settings,
            Settings {
                bucket: "driven-data-bucket".into(),
                outputs: Outputs {
                    append: Some(AppendOptions {
                        key: "streaming_data.json".into(),
                        dedup_window_bytes: 8 << 20,
                        redelivery_window_bytes: 64 << 20,
                        rollover_bytes: Some(256 << 20),
                    }),
                    partition: None,
                    errors: None,
                },
                window: RecordWindow::days(30),
                metrics_namespace: "StreamingIngestion".into(),
                metrics: MetricSet::Basic,
                deadline_margin: Duration::from_secs(2),
            }
        );
    }

    #[test]
    fn empty_data_key_turns_appending_off_and_a_prefix_turns_partitions_on() {
        let settings = settings(&[
            ("BUCKET_NAME", "lake"),
            ("DATA_KEY", ""),
            ("PARTITION_PREFIX", "user_sessions"),
            ("PARTITION_COMPRESSION", "gzip"),
            ("ERROR_PREFIX", "errors"),
            ("DETAILED_METRICS", "true"),
        ])
        .expect("valid");
        assert_eq!(settings.outputs.append, None);
        assert_eq!(
            settings.outputs.partition,
            Some(PartitionOptions { prefix: "user_sessions/".into(), gzip: true, concurrency: 8 })
        );
        assert_eq!(settings.outputs.errors, Some(ErrorOutputOptions { prefix: "errors/".into() }));
        assert_eq!(settings.metrics, MetricSet::Detailed);
    }

    #[test]
    fn missing_or_invalid_values_are_named() {
        for (vars, named) in [
            (&[][..], "BUCKET_NAME is not set"),
            (&[("BUCKET_NAME", "Driven_Data")][..], "BUCKET_NAME = \"Driven_Data\" is invalid"),
            (&[("BUCKET_NAME", "ab")][..], "BUCKET_NAME = \"ab\""),
            (&[("BUCKET_NAME", "lake"), ("DEDUP_WINDOW_BYTES", "10")][..], "DEDUP_WINDOW_BYTES = \"10\""),
            (
                &[("BUCKET_NAME", "lake"), ("DEDUP_REDELIVERY_WINDOW_BYTES", "4096")][..],
                "DEDUP_REDELIVERY_WINDOW_BYTES = \"4096\"",
            ),
            (&[("BUCKET_NAME", "lake"), ("DATA_ROLLOVER_BYTES", "x")][..], "DATA_ROLLOVER_BYTES = \"x\""),
            (
                &[("BUCKET_NAME", "lake"), ("DATA_ROLLOVER_BYTES", "6442450944")][..],
                "DATA_ROLLOVER_BYTES = \"6442450944\"",
            ),
            (&[("BUCKET_NAME", "lake"), ("DEADLINE_MARGIN_MS", "61000")][..], "DEADLINE_MARGIN_MS = \"61000\""),
            (
                &[
                    ("BUCKET_NAME", "lake"),
                    ("PARTITION_PREFIX", "user_sessions/"),
                    ("ERROR_PREFIX", "user_sessions/errors/"),
                ][..],
                "ERROR_PREFIX = \"user_sessions/errors/\"",
            ),
            (&[("BUCKET_NAME", "lake"), ("DETAILED_METRICS", "yes")][..], "DETAILED_METRICS = \"yes\""),
            (&[("BUCKET_NAME", "lake"), ("MAX_RECORD_AGE_DAYS", "0")][..], "MAX_RECORD_AGE_DAYS = \"0\""),
            (&[("BUCKET_NAME", "lake"), ("MAX_RECORD_AGE_DAYS", "367")][..], "MAX_RECORD_AGE_DAYS = \"367\""),
            (
                &[("BUCKET_NAME", "lake"), ("PARTITION_PREFIX", "p/"), ("PARTITION_COMPRESSION", "zstd")][..],
                "PARTITION_COMPRESSION = \"zstd\"",
            ),
        ] {
            let error = settings(vars).expect_err("invalid").to_string();
            assert!(error.starts_with(named), "{error}");
        }
    }
}
