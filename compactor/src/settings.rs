//! The compactor's settings from its environment, with errors that name the variable.

use std::time::Duration;

use shared::env::{self, EnvError, Lookup};

use crate::compaction;
use crate::lake::layout::Layout;

pub const BUCKET_ENV: &str = "BUCKET_NAME";
pub const CURATED_BUCKET_ENV: &str = "CURATED_BUCKET";
pub const RETENTION_ENV: &str = "CURATED_RETENTION_DAYS";
pub const PARTITION_PREFIX_ENV: &str = "PARTITION_PREFIX";
pub const CURATED_PREFIX_ENV: &str = "CURATED_PREFIX";
pub const GRACE_ENV: &str = "COMPACT_GRACE_SECS";
pub const FILE_MIB_ENV: &str = "CURATED_FILE_MIB";
pub const INPUT_MIB_ENV: &str = "COMPACT_INPUT_MIB";
pub const PERSONAL_DATA_ENV: &str = "LAKE_PERSONAL_DATA";
pub const SECRET_ENV: &str = "PSEUDONYM_SECRET_ARN";

/// The consumer's error output prefix, which an erasure searches.
pub const ERROR_PREFIX_ENV: &str = "ERROR_PREFIX";

/// The consumer's `DATA_KEY`: the live array a rebuild reads with its segments.
pub const ARRAY_KEY_ENV: &str = "DATA_KEY";

const DEFAULT_CURATED_PREFIX: &str = "curated/";
const DEFAULT_ERROR_PREFIX: &str = "errors/";
const DEFAULT_ARRAY_KEY: &str = "streaming_data.json";

/// How personal data reaches the curated table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonalDataSetting {
    /// Tokens under the key in this secret.
    Pseudonymised {
        secret_id: String,
    },
    Raw,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// The raw bucket records land in.
    pub landing_bucket: String,
    pub layout: Layout,
    pub compaction: compaction::Settings,
    pub personal: PersonalDataSetting,
}

impl Settings {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, EnvError> {
        let landing_bucket = env::required(lookup, BUCKET_ENV, "the bucket the consumer lands in")?;
        // A one-bucket stack (a local run) keeps the lake beside the landing zone.
        let curated_bucket =
            lookup(CURATED_BUCKET_ENV).filter(|name| !name.trim().is_empty()).unwrap_or_else(|| landing_bucket.clone());
        let landing_prefix = prefix(lookup, PARTITION_PREFIX_ENV, None)?;
        let curated_prefix = prefix(lookup, CURATED_PREFIX_ENV, Some(DEFAULT_CURATED_PREFIX))?;
        if landing_prefix.starts_with(&curated_prefix) || curated_prefix.starts_with(&landing_prefix) {
            return Err(EnvError::invalid(
                CURATED_PREFIX_ENV,
                curated_prefix,
                format!(
                    "it overlaps {PARTITION_PREFIX_ENV} ({landing_prefix}); the curated lake needs a prefix of its own"
                ),
            ));
        }
        let errors_prefix = prefix(lookup, ERROR_PREFIX_ENV, Some(DEFAULT_ERROR_PREFIX))?;
        let array_key =
            lookup(ARRAY_KEY_ENV).filter(|key| !key.trim().is_empty()).unwrap_or_else(|| DEFAULT_ARRAY_KEY.to_owned());
        let defaults = compaction::Settings::default();
        let compaction = compaction::Settings {
            grace: Duration::from_secs(env::bounded(lookup, GRACE_ENV, defaults.grace.as_secs(), 0..=7 * 86_400)?),
            // At most what a function of the template's 1024 MB holds with a commit's rows beside it.
            target_file_bytes: (env::bounded(lookup, FILE_MIB_ENV, 128, 1..=512)? << 20) as usize,
            input_bytes_per_commit: env::bounded(lookup, INPUT_MIB_ENV, 128, 1..=1024)? << 20,
            // 0 keeps every partition; at most about a thousand years.
            retention_days: Some(env::bounded(lookup, RETENTION_ENV, 0, 0..=365_000)?).filter(|days| *days > 0),
            ..defaults
        };
        let personal = match lookup(PERSONAL_DATA_ENV).as_deref().map(str::trim) {
            None | Some("" | "pseudonymised") => PersonalDataSetting::Pseudonymised {
                secret_id: env::required(lookup, SECRET_ENV, "the Secrets Manager secret of the pseudonym key")?,
            },
            Some("raw") => PersonalDataSetting::Raw,
            Some(other) => {
                return Err(EnvError::invalid(PERSONAL_DATA_ENV, other, "expected pseudonymised or raw"));
            }
        };
        Ok(Self {
            landing_bucket,
            layout: Layout { curated_bucket, landing_prefix, curated_prefix, errors_prefix, array_key },
            compaction,
            personal,
        })
    }
}

/// A key prefix: set (or defaulted), ending in `/`.
fn prefix(lookup: &impl Lookup, name: &'static str, default: Option<&str>) -> Result<String, EnvError> {
    let value = match (lookup(name).filter(|value| !value.trim().is_empty()), default) {
        (Some(value), _) => value,
        (None, Some(default)) => default.to_owned(),
        (None, None) => return Err(EnvError::Missing { name, what: "a key prefix ending in /" }),
    };
    if !value.ends_with('/') || value.starts_with('/') {
        return Err(EnvError::invalid(name, value, "a prefix must end in / and not start with it"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, EnvError> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::from_lookup(&move |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_pseudonymise_under_the_secret() {
        let read = settings(&[("BUCKET_NAME", "b"), ("PARTITION_PREFIX", "p/"), ("PSEUDONYM_SECRET_ARN", "arn")])
            .expect("valid");
        assert_eq!((read.layout.curated_prefix.as_str(), read.layout.errors_prefix.as_str()), ("curated/", "errors/"));
        assert_eq!(read.personal, PersonalDataSetting::Pseudonymised { secret_id: "arn".into() });
        assert_eq!(read.compaction.target_file_bytes, 128 << 20);
        assert_eq!(read.compaction.grace, Duration::from_secs(300));
        assert_eq!((read.layout.curated_bucket, read.compaction.retention_days), ("b".into(), None));
    }

    #[test]
    fn the_curated_bucket_and_the_retention_are_read() {
        let read = settings(&[
            ("BUCKET_NAME", "raw"),
            ("CURATED_BUCKET", "curated"),
            ("CURATED_RETENTION_DAYS", "730"),
            ("PARTITION_PREFIX", "p/"),
            ("LAKE_PERSONAL_DATA", "raw"),
        ])
        .expect("valid");
        assert_eq!((read.landing_bucket.as_str(), read.layout.curated_bucket.as_str()), ("raw", "curated"));
        assert_eq!(read.compaction.retention_days, Some(730));
    }

    #[test]
    fn raw_needs_no_secret_and_a_grace_of_zero_takes_all() {
        let read = settings(&[
            ("BUCKET_NAME", "b"),
            ("PARTITION_PREFIX", "p/"),
            ("LAKE_PERSONAL_DATA", "raw"),
            ("COMPACT_GRACE_SECS", "0"),
        ])
        .expect("valid");
        assert_eq!((read.personal, read.compaction.grace), (PersonalDataSetting::Raw, Duration::ZERO));
    }

    #[test]
    fn bad_settings_name_their_variable() {
        let cases: [(&[(&str, &str)], &str); 4] = [
            (&[("BUCKET_NAME", "b"), ("PARTITION_PREFIX", "p/")], "PSEUDONYM_SECRET_ARN is not set"),
            (&[("BUCKET_NAME", "b"), ("PARTITION_PREFIX", "p/"), ("CURATED_PREFIX", "p/c/")], "CURATED_PREFIX"),
            (&[("BUCKET_NAME", "b"), ("PARTITION_PREFIX", "p")], "PARTITION_PREFIX = \"p\" is invalid"),
            (
                &[("BUCKET_NAME", "b"), ("PARTITION_PREFIX", "p/"), ("LAKE_PERSONAL_DATA", "clear")],
                "LAKE_PERSONAL_DATA",
            ),
        ];
        for (pairs, expected) in cases {
            let error = settings(pairs).expect_err("invalid").to_string();
            assert!(error.starts_with(expected), "{error}");
        }
    }
}
