//! The seed's text forms of dates, timestamps and bounded integers, for serde.
//!
//! Dates and timestamps are written by hand into fixed-width buffers: through chrono's formatter they
//! took a third of the time to serialise a record. They are read with formats parsed once, and from the
//! input's own bytes when it has no escapes: the compactor decodes every landed record.

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::format::{Item, Parsed, StrftimeItems, parse};
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use serde::de::{self, Unexpected};
use serde::{Deserialize, Deserializer, Serializer};

/// Accepts an unsigned integer up to `MAX`, naming the range when it is not.
pub(crate) fn at_most<'de, D, const MAX: u32>(deserializer: D) -> Result<u32, D::Error>
where
    D: Deserializer<'de>,
{
    struct Expected<const MAX: u32>;
    impl<const MAX: u32> de::Expected for Expected<MAX> {
        fn fmt(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(formatter, "an integer from 0 to {MAX}")
        }
    }
    let value = u32::deserialize(deserializer)?;
    if value > MAX {
        return Err(de::Error::invalid_value(Unexpected::Unsigned(value.into()), &Expected::<MAX>));
    }
    Ok(value)
}

/// `YYYY-MM-DD`.
pub(crate) mod date {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = [0u8; 10];
        match write_date(&mut text, value) {
            Some(()) => serializer.serialize_str(ascii(&text)),
            None => serializer.collect_str(&value.format("%Y-%m-%d")),
        }
    }

    static FORMAT: LazyLock<Vec<Item<'static>>> = LazyLock::new(|| items("%Y-%m-%d"));

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        let mut parsed = Parsed::new();
        parse(&mut parsed, &text, FORMAT.iter())
            .and_then(|()| parsed.to_naive_date())
            .map_err(|error| de::Error::custom(format_args!("invalid date {text:?}, expected YYYY-MM-DD: {error}")))
    }
}

/// Python's `str(datetime)`: `YYYY-MM-DD HH:MM:SS.ffffff`, written always with the fraction and read
/// also without it, as Python writes whole seconds.
pub(crate) mod timestamp {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &NaiveDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = [0u8; 26];
        match write_timestamp(&mut text, value) {
            Some(()) => serializer.serialize_str(ascii(&text)),
            None => serializer.collect_str(&value.format("%Y-%m-%d %H:%M:%S%.6f")),
        }
    }

    /// Refuses what the six-digit form cannot hold, so a decoded record encodes to the same instant: a
    /// fraction finer than a microsecond, and a leap second (which Python's datetime never writes).
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDateTime, D::Error> {
        static FORMAT: LazyLock<Vec<Item<'static>>> = LazyLock::new(|| items("%Y-%m-%d %H:%M:%S%.f"));
        let text = Cow::<str>::deserialize(deserializer)?;
        let invalid = |reason: &dyn std::fmt::Display| {
            de::Error::custom(format_args!("invalid timestamp {text:?}, expected YYYY-MM-DD HH:MM:SS.ffffff: {reason}"))
        };
        let mut parsed = Parsed::new();
        let value = parse(&mut parsed, &text, FORMAT.iter())
            .and_then(|()| parsed.to_naive_datetime_with_offset(0))
            .map_err(|error| invalid(&error))?;
        if value.nanosecond() >= 1_000_000_000 {
            return Err(invalid(&"a leap second"));
        }
        if value.nanosecond() % 1_000 != 0 {
            return Err(invalid(&"finer than a microsecond"));
        }
        Ok(value)
    }
}

/// `format`'s items, parsed once.
fn items(format: &'static str) -> Vec<Item<'static>> {
    StrftimeItems::new(format).collect()
}

/// Writes `YYYY-MM-DD`; `None` for a year outside 0-9999, which four digits cannot hold.
fn write_date(text: &mut [u8; 10], date: &NaiveDate) -> Option<()> {
    let year = u32::try_from(date.year()).ok().filter(|year| *year <= 9999)?;
    digits(&mut text[0..4], year);
    text[4] = b'-';
    digits(&mut text[5..7], date.month());
    text[7] = b'-';
    digits(&mut text[8..10], date.day());
    Some(())
}

fn write_timestamp(text: &mut [u8; 26], value: &NaiveDateTime) -> Option<()> {
    let (date, time) = text.split_at_mut(10);
    write_date(date.try_into().ok()?, &value.date())?;
    time[0] = b' ';
    digits(&mut time[1..3], value.hour());
    time[3] = b':';
    digits(&mut time[4..6], value.minute());
    time[6] = b':';
    digits(&mut time[7..9], value.second());
    time[9] = b'.';
    // A leap second shows as second 59 with a fraction of a million or more; keep within six digits.
    digits(&mut time[10..16], (value.nanosecond() / 1_000).min(999_999));
    Some(())
}

/// Writes `value` in decimal, zero-padded to the slice's width.
fn digits(text: &mut [u8], mut value: u32) {
    for place in text.iter_mut().rev() {
        *place = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

fn ascii(text: &[u8]) -> &str {
    // Only ASCII digits and separators were written.
    std::str::from_utf8(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timestamp(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("valid timestamp")
    }

    fn written(value: &NaiveDateTime) -> String {
        let mut text = [0u8; 26];
        write_timestamp(&mut text, value).expect("four-digit year");
        ascii(&text).to_owned()
    }

    #[test]
    fn timestamps_are_written_as_chrono_would() {
        for text in ["2026-11-26 06:30:00.123456", "0001-01-01 00:00:00.000000", "9999-12-31 23:59:59.999999"] {
            let value = timestamp(text);
            assert_eq!(written(&value), text);
            assert_eq!(written(&value), value.format("%Y-%m-%d %H:%M:%S%.6f").to_string());
        }
    }

    #[test]
    fn nanoseconds_are_truncated_to_microseconds() {
        assert_eq!(written(&timestamp("2026-11-26 06:30:00.123456789")), "2026-11-26 06:30:00.123456");
    }

    #[test]
    fn five_digit_years_are_left_to_chrono() {
        let date = NaiveDate::from_ymd_opt(10_000, 1, 1).expect("valid date");
        assert_eq!(write_date(&mut [0; 10], &date), None);
    }
}
