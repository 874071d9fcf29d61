//! Reading settings from environment variables, with errors that name the variable.

use std::fmt::Display;
use std::str::FromStr;

/// A variable that is missing or does not hold a valid value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvError {
    #[error("{name} is not set; it must name {what}")]
    Missing { name: &'static str, what: &'static str },
    #[error("{name} = {value:?} is invalid: {reason}")]
    Invalid { name: &'static str, value: String, reason: String },
}

impl EnvError {
    pub fn invalid(name: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        EnvError::Invalid { name, value: value.into(), reason: reason.into() }
    }
}

/// The environment as a function from a variable's name to its value, so tests can pass a map.
pub trait Lookup: Fn(&str) -> Option<String> {}
impl<F: Fn(&str) -> Option<String>> Lookup for F {}

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The variable's value, which must be set and not blank.
pub fn required(lookup: &impl Lookup, name: &'static str, what: &'static str) -> Result<String, EnvError> {
    lookup(name).filter(|value| !value.trim().is_empty()).ok_or(EnvError::Missing { name, what })
}

/// The variable parsed as `T`, or `None` when it is not set.
pub fn parsed<T>(lookup: &impl Lookup, name: &'static str) -> Result<Option<T>, EnvError>
where
    T: FromStr,
    T::Err: Display,
{
    lookup(name)
        .map(|value| value.trim().parse().map_err(|error| EnvError::invalid(name, value.clone(), format!("{error}"))))
        .transpose()
}

/// The variable parsed as an integer within `range`, or `default` when it is not set.
pub fn bounded(
    lookup: &impl Lookup,
    name: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, EnvError> {
    let value = parsed(lookup, name)?.unwrap_or(default);
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(EnvError::invalid(name, value.to_string(), format!("expected {} to {}", range.start(), range.end())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Lookup {
        move |name: &str| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
    }

    #[test]
    fn required_refuses_missing_and_blank_values() {
        let lookup = env(&[("SET", "x"), ("BLANK", "  ")]);
        assert_eq!(required(&lookup, "SET", "a thing"), Ok("x".into()));
        let missing = EnvError::Missing { name: "BLANK", what: "a thing" };
        assert_eq!(required(&lookup, "BLANK", "a thing"), Err(missing));
        assert_eq!(
            required(&lookup, "NONE", "a thing").expect_err("missing").to_string(),
            "NONE is not set; it must name a thing"
        );
    }

    #[test]
    fn parsed_and_bounded_name_the_variable() {
        let lookup = env(&[("N", " 7 "), ("BAD", "seven"), ("BIG", "99")]);
        assert_eq!(parsed::<u32>(&lookup, "N"), Ok(Some(7)));
        assert_eq!(parsed::<u32>(&lookup, "UNSET"), Ok(None));
        assert!(
            parsed::<u32>(&lookup, "BAD")
                .expect_err("not a number")
                .to_string()
                .starts_with("BAD = \"seven\" is invalid")
        );
        assert_eq!(bounded(&lookup, "UNSET", 5, 1..=10), Ok(5));
        assert_eq!(
            bounded(&lookup, "BIG", 5, 1..=10).expect_err("too big").to_string(),
            "BIG = \"99\" is invalid: expected 1 to 10"
        );
    }
}
