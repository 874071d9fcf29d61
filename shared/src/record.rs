//! The user-session record of the seed assignment: its 16 fields, their JSON form and strict decoding.
//!
//! This module is the only definition of the schema. Serialisation writes the fields in the seed's order
//! with the seed's names and JSON types; decoding rejects anything the seed could not have written and
//! says which field is wrong and why.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use serde::de::{self, Unexpected};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// Longest session the seed generates, in seconds.
pub const MAX_SESSION_DURATION: u32 = 36_000;
/// Highest download speed the seed generates.
pub const MAX_DOWNLOAD_SPEED: u32 = 1_000;
/// Highest upload speed the seed generates.
pub const MAX_UPLOAD_SPEED: u32 = 800;
/// Most traffic one session consumes in the seed.
pub const MAX_CONSUMED_TRAFFIC: u32 = 2_000_000;

/// One synthetic user session, field for field the seed's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSession {
    pub person_name: String,
    pub user_name: String,
    pub email: String,
    /// Romanian personal numeric code (CNP).
    pub personal_number: String,
    /// `YYYY-MM-DD`.
    pub birth_date: NaiveDate,
    /// One line; the parts are separated by `", "`.
    pub address: String,
    pub phone_number: String,
    pub mac_address: MacAddress,
    pub ip_address: Ipv4Addr,
    pub iban: String,
    /// UTC, written as Python's `str(datetime)`: `YYYY-MM-DD HH:MM:SS.ffffff`.
    #[serde(with = "accessed_at_format")]
    pub accessed_at: NaiveDateTime,
    #[serde(deserialize_with = "at_most::<_, MAX_SESSION_DURATION>")]
    pub session_duration: u32,
    #[serde(deserialize_with = "at_most::<_, MAX_DOWNLOAD_SPEED>")]
    pub download_speed: u32,
    #[serde(deserialize_with = "at_most::<_, MAX_UPLOAD_SPEED>")]
    pub upload_speed: u32,
    #[serde(deserialize_with = "at_most::<_, MAX_CONSUMED_TRAFFIC>")]
    pub consumed_traffic: u32,
    pub unique_id: Uuid,
}

/// Why a JSON document is not a valid [`UserSession`]; the message names the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid user-session record: {0}")]
    Invalid(#[from] serde_path_to_error::Error<serde_json::Error>),
    #[error("invalid user-session record: data after the record: {0}")]
    TrailingData(#[source] serde_json::Error),
}

impl DecodeError {
    /// The path of the offending field (`session_duration`, or `.` for the record as a whole).
    pub fn field(&self) -> String {
        match self {
            DecodeError::Invalid(error) => error.path().to_string(),
            DecodeError::TrailingData(_) => ".".into(),
        }
    }
}

impl UserSession {
    /// Decodes one record from JSON, rejecting unknown or missing fields, wrong types and values out of range.
    pub fn from_json(json: &[u8]) -> Result<Self, DecodeError> {
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        let record = serde_path_to_error::deserialize(&mut deserializer)?;
        deserializer.end().map_err(DecodeError::TrailingData)?;
        Ok(record)
    }

    /// Appends the record's JSON (one line, no trailing newline) to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        serde_json::to_writer(out, self)
    }

    /// The record's JSON as a string.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

fn at_most<'de, D, const MAX: u32>(deserializer: D) -> Result<u32, D::Error>
where
    D: Deserializer<'de>,
{
    struct Expected<const MAX: u32>;
    impl<const MAX: u32> de::Expected for Expected<MAX> {
        fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            write!(formatter, "an integer from 0 to {MAX}")
        }
    }
    let value = u32::deserialize(deserializer)?;
    if value > MAX {
        return Err(de::Error::invalid_value(
            Unexpected::Unsigned(value.into()),
            &Expected::<MAX>,
        ));
    }
    Ok(value)
}

mod accessed_at_format {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer, de};

    const WRITE: &str = "%Y-%m-%d %H:%M:%S%.6f";
    // `%.f` also accepts a missing fraction, which Python's str(datetime) omits at whole seconds.
    const READ: &str = "%Y-%m-%d %H:%M:%S%.f";

    pub fn serialize<S: Serializer>(
        value: &NaiveDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&value.format(WRITE))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<NaiveDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        NaiveDateTime::parse_from_str(&text, READ).map_err(|error| {
            de::Error::custom(format_args!(
                "invalid timestamp {text:?}, expected YYYY-MM-DD HH:MM:SS.ffffff: {error}"
            ))
        })
    }
}

/// A 48-bit MAC address, written like the seed's Faker: six lower-case hex pairs separated by colons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacAddress(pub [u8; 6]);

/// Why a string is not a MAC address.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid MAC address, expected six hex pairs separated by colons (aa:bb:cc:dd:ee:ff)")]
pub struct MacAddressParseError;

impl MacAddress {
    const TEXT_LEN: usize = 17;

    fn to_text(self) -> [u8; Self::TEXT_LEN] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [b':'; Self::TEXT_LEN];
        for (index, byte) in self.0.iter().enumerate() {
            text[index * 3] = HEX[usize::from(byte >> 4)];
            text[index * 3 + 1] = HEX[usize::from(byte & 0x0f)];
        }
        text
    }
}

impl FromStr for MacAddress {
    type Err = MacAddressParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = text.as_bytes();
        if bytes.len() != Self::TEXT_LEN {
            return Err(MacAddressParseError);
        }
        let mut octets = [0u8; 6];
        for (index, octet) in octets.iter_mut().enumerate() {
            let pair = &bytes[index * 3..index * 3 + 2];
            if index < 5 && bytes[index * 3 + 2] != b':' {
                return Err(MacAddressParseError);
            }
            let pair = std::str::from_utf8(pair).map_err(|_| MacAddressParseError)?;
            if !pair.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                return Err(MacAddressParseError);
            }
            *octet = u8::from_str_radix(pair, 16).map_err(|_| MacAddressParseError)?;
        }
        Ok(Self(octets))
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        let text = self.to_text();
        // Only ASCII hex digits and colons were written.
        formatter.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for MacAddress {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.to_text();
        let text = std::str::from_utf8(&text).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(text)
    }
}

impl<'de> Deserialize<'de> for MacAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(|_| {
            de::Error::invalid_value(
                Unexpected::Str(&text),
                &"a MAC address like aa:bb:cc:dd:ee:ff",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn sample() -> Value {
        json!({
            "person_name": "Ioana Popescu",
            "user_name": "ioanapopescu",
            "email": "ioanapopescu@yahoo.ro",
            "personal_number": "2900101120013",
            "birth_date": "1990-01-01",
            "address": "Strada Florilor nr. 7, 400123 Cluj-Napoca, jud. Cluj",
            "phone_number": "0722 123 456",
            "mac_address": "0a:1b:2c:3d:4e:5f",
            "ip_address": "192.168.10.20",
            "iban": "RO49AAAA1B31007593840000",
            "accessed_at": "2026-11-26 06:30:00.123456",
            "session_duration": 36000,
            "download_speed": 0,
            "upload_speed": 800,
            "consumed_traffic": 2000000,
            "unique_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7"
        })
    }

    fn decode(value: &Value) -> Result<UserSession, DecodeError> {
        UserSession::from_json(value.to_string().as_bytes())
    }

    fn rejection(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
        let mut value = sample();
        edit(value.as_object_mut().expect("sample is an object"));
        decode(&value)
            .expect_err("edited record must be rejected")
            .to_string()
    }

    #[test]
    fn valid_record_round_trips_to_identical_json() {
        let record = decode(&sample()).expect("sample decodes");
        let written: Value =
            serde_json::from_str(&record.to_json().expect("encodes")).expect("valid JSON");
        assert_eq!(written, sample());
    }

    #[test]
    fn fields_are_written_in_the_seed_order() {
        let json = decode(&sample())
            .expect("sample decodes")
            .to_json()
            .expect("encodes");
        let order = [
            "person_name",
            "user_name",
            "email",
            "personal_number",
            "birth_date",
            "address",
            "phone_number",
            "mac_address",
            "ip_address",
            "iban",
            "accessed_at",
            "session_duration",
            "download_speed",
            "upload_speed",
            "consumed_traffic",
            "unique_id",
        ];
        let positions: Vec<usize> = order
            .iter()
            .map(|name| json.find(&format!("\"{name}\":")).expect("field present"))
            .collect();
        assert!(positions.is_sorted(), "{json}");
    }

    #[test]
    fn timestamp_without_fraction_is_accepted_and_written_with_six_digits() {
        let mut value = sample();
        value["accessed_at"] = json!("2026-11-26 06:30:00");
        let record = decode(&value).expect("whole seconds decode");
        assert!(
            record
                .to_json()
                .expect("encodes")
                .contains("\"2026-11-26 06:30:00.000000\"")
        );
    }

    #[test]
    fn missing_field_is_named() {
        let error = rejection(|record| {
            record.remove("iban");
        });
        assert!(error.contains("missing field `iban`"), "{error}");
    }

    #[test]
    fn unknown_field_is_named() {
        let error = rejection(|record| {
            record.insert("password".into(), json!("x"));
        });
        assert!(error.contains("unknown field `password`"), "{error}");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let error = rejection(|record| {
            record.insert("session_duration".into(), json!("10"));
        });
        assert!(
            error.contains("session_duration: invalid type: string"),
            "{error}"
        );
        let error = rejection(|record| {
            record.insert("person_name".into(), json!(null));
        });
        assert!(error.contains("person_name: invalid type: null"), "{error}");
    }

    #[test]
    fn values_out_of_range_name_the_field_and_the_range() {
        for (field, value, range) in [
            ("session_duration", json!(36001), "0 to 36000"),
            ("download_speed", json!(1001), "0 to 1000"),
            ("upload_speed", json!(801), "0 to 800"),
            ("consumed_traffic", json!(2000001), "0 to 2000000"),
        ] {
            let error = rejection(|record| {
                record.insert(field.into(), value);
            });
            assert!(error.contains(field) && error.contains(range), "{error}");
        }
        let error = rejection(|record| {
            record.insert("upload_speed".into(), json!(-1));
        });
        assert!(
            error.contains("upload_speed: invalid value: integer `-1`"),
            "{error}"
        );
        let error = rejection(|record| {
            record.insert("upload_speed".into(), json!(1.5));
        });
        assert!(
            error.contains("upload_speed: invalid type: floating point"),
            "{error}"
        );
    }

    #[test]
    fn unparsable_values_name_the_field() {
        for (field, value) in [
            ("birth_date", "1990-02-30"),
            ("birth_date", "01.01.1990"),
            ("accessed_at", "2026-11-26T06:30:00Z"),
            ("accessed_at", "yesterday"),
            ("ip_address", "256.1.1.1"),
            ("ip_address", "::1"),
            ("mac_address", "0a:1b:2c:3d:4e"),
            ("mac_address", "0a-1b-2c-3d-4e-5f"),
            ("mac_address", "0a:1b:2c:3d:4e:5g"),
            ("unique_id", "not-a-uuid"),
        ] {
            let error = rejection(|record| {
                record.insert(field.into(), json!(value));
            });
            assert!(
                error.contains(&format!("{field}: ")),
                "{field}={value}: {error}"
            );
        }
    }

    #[test]
    fn documents_that_are_not_one_record_object_are_rejected() {
        for body in [&b""[..], b"null", b"[]", b"42", b"{", b"{}", b"not json"] {
            assert!(
                UserSession::from_json(body).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        let mut trailing = sample().to_string().into_bytes();
        trailing.extend_from_slice(b" {}");
        assert!(UserSession::from_json(&trailing).is_err());
    }

    #[test]
    fn decode_error_reports_the_field_path() {
        let mut value = sample();
        value["ip_address"] = json!("300.0.0.1");
        assert_eq!(decode(&value).expect_err("bad ip").field(), "ip_address");
    }

    #[test]
    fn mac_address_parses_either_case_and_writes_lower_case() {
        let mac: MacAddress = "0A:1b:2C:3d:4E:5f".parse().expect("valid MAC");
        assert_eq!(mac, MacAddress([0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f]));
        assert_eq!(mac.to_string(), "0a:1b:2c:3d:4e:5f");
        assert_eq!(
            "0a:1b:2c:3d:4e:5f:".parse::<MacAddress>(),
            Err(MacAddressParseError)
        );
        assert_eq!(
            "+a:1b:2c:3d:4e:5f".parse::<MacAddress>(),
            Err(MacAddressParseError)
        );
    }
}
