//! The user-session record of the seed assignment: its 16 fields, their JSON form and strict decoding.
//!
//! This module is the only definition of the schema. Serialisation writes the fields in the seed's order
//! with the seed's names and JSON types; decoding rejects anything the seed could not have written and
//! says which field is wrong and why.

mod decode;
mod formats;
mod identifiers;
mod mac_address;

pub use decode::{DecodeError, Problem};
pub use identifiers::cnp_check_digit;
pub use mac_address::{MacAddress, MacAddressParseError};

use std::net::Ipv4Addr;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use formats::at_most;

/// Longest session the seed generates, in seconds.
pub const MAX_SESSION_DURATION: u32 = 36_000;
/// Highest download speed the seed generates.
pub const MAX_DOWNLOAD_SPEED: u32 = 1_000;
/// Highest upload speed the seed generates.
pub const MAX_UPLOAD_SPEED: u32 = 800;
/// Most traffic one session consumes in the seed.
pub const MAX_CONSUMED_TRAFFIC: u32 = 2_000_000;
/// The largest JSON document decoded as a record. A generated record is about 560 bytes; this leaves room
/// for long names and addresses and for escaped text, and refuses a body that only a fault could make.
pub const MAX_RECORD_BYTES: usize = 16 * 1024;

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
    #[serde(with = "formats::date")]
    pub birth_date: NaiveDate,
    /// One line; the parts are separated by `", "`.
    pub address: String,
    pub phone_number: String,
    pub mac_address: MacAddress,
    pub ip_address: Ipv4Addr,
    pub iban: String,
    /// UTC, written as Python's `str(datetime)`: `YYYY-MM-DD HH:MM:SS.ffffff`.
    #[serde(with = "formats::timestamp")]
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

/// The record's field names, in the seed's order.
pub const FIELD_NAMES: [&str; 16] = [
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

impl UserSession {
    /// Decodes one record from JSON, rejecting unknown or missing fields, wrong types and values out of range.
    pub fn from_json(json: &[u8]) -> Result<Self, DecodeError> {
        decode::decode(json)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn sample() -> Value {
        json!({
            "person_name": "Ioana Popescu",
            "user_name": "ioanapopescu",
            "email": "ioanapopescu@yahoo.ro",
            "personal_number": "2900101120015",
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

    fn rejection(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> DecodeError {
        let mut value = sample();
        edit(value.as_object_mut().expect("sample is an object"));
        decode(&value).expect_err("edited record must be rejected")
    }

    /// The error's field, kind and full message.
    fn described(error: &DecodeError) -> (&'static str, Problem, String) {
        (error.field(), error.problem(), error.to_string())
    }

    #[test]
    fn valid_record_round_trips_to_identical_json() {
        let record = decode(&sample()).expect("sample decodes");
        let written: Value = serde_json::from_str(&record.to_json().expect("encodes")).expect("valid JSON");
        assert_eq!(written, sample());
    }

    #[test]
    fn errors_name_the_field_and_the_problem_and_quote_no_value() {
        let mut value = sample();
        value["session_duration"] = json!("Ioana Popescu");
        let message = decode(&value).expect_err("wrong type").to_string();
        assert_eq!(message, "invalid user-session record: session_duration: wrong type (found a string, expected u32)");
        value = sample();
        value.as_object_mut().expect("object").insert("Popescu".into(), json!(1));
        let message = decode(&value).expect_err("unknown field").to_string();
        assert_eq!(message, "invalid user-session record: .: unknown field (a record has only its 16 fields)");
        let error = UserSession::from_json(b"{\"iban").expect_err("truncated");
        assert_eq!(error.problem(), Problem::NotJson);
        assert_eq!(error.to_string(), "invalid user-session record: .: not json (line 1, column 6)");
    }

    #[test]
    fn a_duplicate_key_is_refused_and_named_by_the_schema() {
        let body = sample().to_string().replacen('{', r#"{"iban":"RO49AAAA1B31007593840000","#, 1);
        let error = UserSession::from_json(body.as_bytes()).expect_err("duplicate");
        assert_eq!(
            described(&error),
            ("iban", Problem::DuplicateField, "invalid user-session record: iban: duplicate field".into())
        );
    }

    #[test]
    fn fields_are_written_in_the_seed_order() {
        let json = decode(&sample()).expect("sample decodes").to_json().expect("encodes");
        let positions: Vec<usize> =
            FIELD_NAMES.iter().map(|name| json.find(&format!("\"{name}\":")).expect("field present")).collect();
        assert!(positions.is_sorted(), "{json}");
    }

    #[test]
    fn timestamp_without_fraction_is_accepted_and_written_with_six_digits() {
        let mut value = sample();
        value["accessed_at"] = json!("2026-11-26 06:30:00");
        let record = decode(&value).expect("whole seconds decode");
        assert!(record.to_json().expect("encodes").contains("\"2026-11-26 06:30:00.000000\""));
    }

    #[test]
    fn missing_field_is_named() {
        let error = rejection(|record| {
            record.remove("iban");
        });
        assert_eq!(
            described(&error),
            ("iban", Problem::MissingField, "invalid user-session record: iban: missing field".into())
        );
    }

    #[test]
    fn unknown_field_is_refused_without_its_name() {
        let error = rejection(|record| {
            record.insert("password".into(), json!("x"));
        });
        assert_eq!((error.field(), error.problem()), (".", Problem::UnknownField));
        assert!(!error.to_string().contains("password"), "{error}");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let error = rejection(|record| {
            record.insert("session_duration".into(), json!("10"));
        });
        assert_eq!((error.field(), error.problem()), ("session_duration", Problem::WrongType));
        let error = rejection(|record| {
            record.insert("person_name".into(), json!(null));
        });
        assert_eq!(
            error.to_string(),
            "invalid user-session record: person_name: wrong type (found null, expected a string)"
        );
        let error = rejection(|record| {
            record.insert("upload_speed".into(), json!(1.5));
        });
        assert_eq!((error.field(), error.problem()), ("upload_speed", Problem::WrongType));
        // uuid also takes 16 bytes from a deserializer that offers them; serde_json offers none.
        let error = rejection(|record| {
            record.insert("unique_id".into(), json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]));
        });
        assert_eq!((error.field(), error.problem()), ("unique_id", Problem::WrongType));
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
            assert_eq!((error.field(), error.problem()), (field, Problem::OutOfRange));
            assert!(error.to_string().contains(range), "{error}");
        }
        for value in [json!(-1), json!(5_000_000_000_u64)] {
            let error = rejection(|record| {
                record.insert("upload_speed".into(), value);
            });
            assert_eq!((error.field(), error.problem()), ("upload_speed", Problem::OutOfRange), "{error}");
        }
    }

    #[test]
    fn unparsable_values_name_the_field() {
        for (field, value) in [
            ("birth_date", "1990-02-30"),
            ("birth_date", "01.01.1990"),
            ("accessed_at", "2026-11-26T06:30:00Z"),
            ("accessed_at", "yesterday"),
            ("accessed_at", "2026-11-26 06:30:00.2810786"),
            ("accessed_at", "2026-12-31 23:59:60.500000"),
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
            assert_eq!((error.field(), error.problem()), (field, Problem::InvalidFormat), "{value}");
            assert!(!error.to_string().contains(value), "{error}");
        }
    }

    #[test]
    fn documents_that_are_not_one_record_object_are_rejected() {
        for (body, problem) in [
            (&b""[..], Problem::NotJson),
            (b"{", Problem::NotJson),
            (b"not json", Problem::NotJson),
            (b"null", Problem::NotAnObject),
            (b"[]", Problem::NotAnObject),
            (b"42", Problem::NotAnObject),
            (b"\"Ioana\"", Problem::NotAnObject),
            (b"{}", Problem::MissingField),
        ] {
            let error = UserSession::from_json(body).expect_err("refused");
            assert_eq!(error.problem(), problem, "{:?}", String::from_utf8_lossy(body));
        }
        let mut trailing = sample().to_string().into_bytes();
        trailing.extend_from_slice(b" {}");
        assert_eq!(UserSession::from_json(&trailing).map_err(|error| error.problem()), Err(Problem::NotJson));
    }

    #[test]
    fn decode_error_reports_the_field_path() {
        let mut value = sample();
        value["ip_address"] = json!("300.0.0.1");
        assert_eq!(decode(&value).expect_err("bad ip").field(), "ip_address");
    }

    /// The malformed messages of `events/malformed-messages.json`, made from one valid record, but for those
    /// that are records the consumer refuses (`"refused_by": "consumer"`: times outside its window).
    fn malformed_corpus() -> Vec<(String, String)> {
        let cases: Vec<Value> =
            serde_json::from_str(include_str!("../../../events/malformed-messages.json")).expect("the corpus is JSON");
        cases
            .into_iter()
            .filter(|case| case["refused_by"] != "consumer")
            .map(|case| (case["case"].as_str().expect("case").into(), case["body"].as_str().expect("body").into()))
            .collect()
    }

    #[test]
    fn every_malformed_message_is_refused_with_a_reason_that_holds_none_of_its_values() {
        let values = ["Diana", "Stoica", "dianastoica", "2641111318492", "RO94LIBR", "64.197", "hunter2", "1964"];
        for (case, body) in malformed_corpus() {
            let error = UserSession::from_json(body.as_bytes()).expect_err(&case);
            let reason = error.to_string();
            assert!(reason.starts_with("invalid user-session record"), "{case}: {reason}");
            for value in values {
                assert!(!reason.contains(value), "{case}: the reason shows {value}: {reason}");
            }
        }
    }

    #[test]
    fn an_oversized_body_is_refused_before_it_is_parsed() {
        let mut record = sample();
        record["address"] = Value::String("Strada Lungă ".repeat(2_000));
        let body = record.to_string();
        let error = UserSession::from_json(body.as_bytes()).expect_err("too large");
        assert_eq!(
            error.to_string(),
            format!(
                "invalid user-session record: .: too large ({} bytes, more than the 16384 a record may have)",
                body.len()
            )
        );
        assert_eq!(error.problem(), Problem::TooLarge);
    }
}
