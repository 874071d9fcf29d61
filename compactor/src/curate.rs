//! A landed record as a row of the curated table: identifiers and the record's id as keyed tokens; the name,
//! user name, street address and birth date dropped; what an analyst asks of a person derived instead (birth
//! year, sex, county from a fixed list); the time to the millisecond. Nothing in a pseudonymised row finds
//! its raw record again without the key. With personal data kept raw, everything stays as it came.

use chrono::{Datelike, NaiveDate, NaiveDateTime, SubsecRound};
use serde::Serialize;
use shared::UserSession;

use crate::county::county;
use crate::pseudonym::PseudonymKey;

/// What the curated table holds of a person.
#[derive(Debug, Clone)]
pub enum PersonalData {
    /// Identifiers as tokens under this key; name, user name, street address and birth date dropped.
    Pseudonymised(PseudonymKey),
    /// Everything as it came (`LAKE_PERSONAL_DATA=raw`).
    Raw,
}

/// Sex as a CNP's first digit records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Sex {
    #[serde(rename = "F")]
    Female,
    #[serde(rename = "M")]
    Male,
}

/// One row of the curated table, columns in table order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CuratedRecord {
    /// The record's id as a token (HMAC purpose `unique_id`), or as it came when raw.
    pub unique_id: String,
    /// To the millisecond, as Athena reads a Hive table's timestamps: the microseconds would tell a row's
    /// raw record apart.
    pub accessed_at: NaiveDateTime,
    pub session_duration: u32,
    pub download_speed: u32,
    pub upload_speed: u32,
    pub consumed_traffic: u32,
    pub birth_year: i32,
    pub sex: Option<Sex>,
    pub county: Option<&'static str>,
    /// The CNP's token (or the CNP, raw).
    pub personal_number: String,
    pub email: String,
    pub phone_number: String,
    pub mac_address: String,
    pub ip_address: String,
    pub iban: String,
    /// Raw only.
    pub person_name: Option<String>,
    /// Raw only: a handle made from a name, so as identifying as the name.
    pub user_name: Option<String>,
    /// Raw only.
    pub address: Option<String>,
    /// Raw only.
    pub birth_date: Option<NaiveDate>,
}

/// The `unique_id` column of `record`'s row, which exactly-once compaction tells rows apart by.
pub fn row_id(record: &UserSession, personal: &PersonalData) -> String {
    let id = record.unique_id.hyphenated().to_string();
    match personal {
        PersonalData::Raw => id,
        PersonalData::Pseudonymised(key) => key.token(UNIQUE_ID_PURPOSE, &id),
    }
}

/// The record id's HMAC purpose, apart from every identifier's.
pub(crate) const UNIQUE_ID_PURPOSE: &str = "unique_id";

/// The curated row of `record`.
pub fn curate(record: &UserSession, personal: &PersonalData) -> CuratedRecord {
    let identifiers = Identifiers::of(record);
    let raw = matches!(personal, PersonalData::Raw);
    let identifiers = match personal {
        PersonalData::Raw => identifiers,
        PersonalData::Pseudonymised(key) => identifiers.tokens(key),
    };
    CuratedRecord {
        unique_id: row_id(record, personal),
        accessed_at: record.accessed_at.trunc_subsecs(3),
        session_duration: record.session_duration,
        download_speed: record.download_speed,
        upload_speed: record.upload_speed,
        consumed_traffic: record.consumed_traffic,
        birth_year: record.birth_date.year(),
        sex: sex(&record.personal_number),
        county: county(&record.address),
        personal_number: identifiers.personal_number,
        email: identifiers.email,
        phone_number: identifiers.phone_number,
        mac_address: identifiers.mac_address,
        ip_address: identifiers.ip_address,
        iban: identifiers.iban,
        person_name: raw.then(|| record.person_name.clone()),
        user_name: raw.then(|| record.user_name.clone()),
        address: raw.then(|| record.address.clone()),
        birth_date: raw.then_some(record.birth_date),
    }
}

/// The identifying columns, normalised so that one identifier written two ways gives one token.
struct Identifiers {
    personal_number: String,
    email: String,
    phone_number: String,
    mac_address: String,
    ip_address: String,
    iban: String,
}

impl Identifiers {
    fn of(record: &UserSession) -> Self {
        Self {
            personal_number: normalised(PERSONAL_NUMBER, &record.personal_number),
            email: normalised(EMAIL, &record.email),
            phone_number: normalised(PHONE_NUMBER, &record.phone_number),
            mac_address: record.mac_address.to_string(),
            ip_address: record.ip_address.to_string(),
            iban: normalised(IBAN, &record.iban),
        }
    }

    fn tokens(self, key: &PseudonymKey) -> Self {
        Self {
            personal_number: key.token("personal_number", &self.personal_number),
            email: key.token("email", &self.email),
            phone_number: key.token("phone_number", &self.phone_number),
            mac_address: key.token("mac_address", &self.mac_address),
            ip_address: key.token("ip_address", &self.ip_address),
            iban: key.token("iban", &self.iban),
        }
    }
}

/// The columns of the identifiers a person is known by, which an erasure request names.
pub(crate) const PERSONAL_NUMBER: &str = "personal_number";
pub(crate) const EMAIL: &str = "email";
pub(crate) const IBAN: &str = "iban";
pub(crate) const PHONE_NUMBER: &str = "phone_number";

/// `value` as the column `column` holds it before it becomes a token, so one identifier written two ways is
/// one value: a CNP trimmed, an email trimmed and in lower case, an IBAN without spaces in capitals, a phone
/// number's digits in national form. Other columns keep the value as it is.
pub(crate) fn normalised(column: &str, value: &str) -> String {
    match column {
        PERSONAL_NUMBER => value.trim().to_owned(),
        EMAIL => value.trim().to_lowercase(),
        IBAN => value.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase(),
        PHONE_NUMBER => phone(value),
        _ => value.to_owned(),
    }
}

/// A Romanian phone number's digits in national form: `+40 722 123 456` and `0722 123 456` are one number.
fn phone(text: &str) -> String {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix("40") {
        Some(national) if digits.len() == 11 => format!("0{national}"),
        _ => digits,
    }
}

/// Sex from a CNP's first digit (1, 3, 5, 7 male; 2, 4, 6, 8 female); none for foreign residents (9) or a
/// value that is not a CNP.
fn sex(cnp: &str) -> Option<Sex> {
    match cnp.trim().bytes().next() {
        Some(b'1' | b'3' | b'5' | b'7') => Some(Sex::Male),
        Some(b'2' | b'4' | b'6' | b'8') => Some(Sex::Female),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Timelike;
    use proptest::prelude::*;

    use super::*;

    const RECORD: &str = r#"{"person_name":"Ioana Popescu","user_name":"ioanapopescu","email":"IoanaPopescu@gmail.com","personal_number":"2900101120015","birth_date":"1990-01-01","address":"Strada Florilor nr. 7, 400123 Cluj-Napoca, jud. Cluj","phone_number":"+40 722 123 456","mac_address":"0a:1b:2c:3d:4e:5f","ip_address":"10.0.0.1","iban":"RO49AAAA1B31007593840000","accessed_at":"2026-11-26 06:30:00.123456","session_duration":1,"download_speed":2,"upload_speed":3,"consumed_traffic":4,"unique_id":"7c9e6679-7425-40de-944b-e07fc1f90ae7"}"#;

    fn record() -> UserSession {
        UserSession::from_json(RECORD.as_bytes()).expect("a valid record")
    }

    fn key() -> PseudonymKey {
        PseudonymKey::new(1, &[9; 32]).expect("a valid key")
    }

    #[test]
    fn pseudonymised_rows_hold_tokens_and_derived_columns_only() {
        let row = curate(&record(), &PersonalData::Pseudonymised(key()));
        assert_eq!((row.birth_year, row.sex, row.county), (1990, Some(Sex::Female), Some("Cluj")));
        assert_eq!((row.person_name, row.user_name, row.address, row.birth_date), (None, None, None, None));
        for token in [&row.personal_number, &row.email, &row.phone_number, &row.iban, &row.mac_address] {
            assert!(token.starts_with("k1."), "{token}");
        }
        let text = serde_json::to_string(&curate(&record(), &PersonalData::Pseudonymised(key()))).expect("JSON");
        for personal in ["2900101120015", "ioanapopescu", "Popescu", "722", "RO49", "0a:1b", "10.0.0.1", "Florilor"] {
            assert!(!text.to_lowercase().contains(&personal.to_lowercase()), "{personal} in {text}");
        }
    }

    #[test]
    fn one_identifier_written_two_ways_gives_one_token() {
        let mut other = record();
        other.email = " ioanapopescu@GMAIL.com".into();
        other.phone_number = "0722-123-456".into();
        other.iban = "RO49 AAAA 1B31 0075 9384 0000".into();
        let key = PersonalData::Pseudonymised(key());
        let (first, second) = (curate(&record(), &key), curate(&other, &key));
        assert_eq!((first.email, first.phone_number, first.iban), (second.email, second.phone_number, second.iban));
    }

    #[test]
    fn raw_rows_keep_what_came() {
        let row = curate(&record(), &PersonalData::Raw);
        assert_eq!(row.personal_number, "2900101120015");
        assert_eq!(row.person_name.as_deref(), Some("Ioana Popescu"));
        assert_eq!(row.county, Some("Cluj"));
    }

    #[test]
    fn sex_is_read_only_where_it_is_written() {
        assert_eq!(
            (sex("1850101"), sex("6050101"), sex("9000101"), sex("")),
            (Some(Sex::Male), Some(Sex::Female), None, None)
        );
    }

    #[test]
    fn the_record_id_is_a_token_of_its_own_purpose_and_the_time_is_kept_to_the_millisecond() {
        let row = curate(&record(), &PersonalData::Pseudonymised(key()));
        assert!(row.unique_id.starts_with("k1.") && !row.unique_id.contains("7c9e6679"), "{}", row.unique_id);
        assert_ne!(row.unique_id, key().token("personal_number", "7c9e6679-7425-40de-944b-e07fc1f90ae7"));
        assert_eq!(row.accessed_at.to_string(), "2026-11-26 06:30:00.123");
        assert_eq!(curate(&record(), &PersonalData::Raw).unique_id, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
    }

    /// Any text where a record has free text, with the characters a hostile sender would use.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ -~ăâîșțĂÂÎȘȚ]{0,60}",
            "[ -~]{0,30}, jud\\. [ -~ăâîșț]{0,30}",
            Just("Str. A, jud. Cluj".to_owned()),
        ]
    }

    proptest! {
        /// Whatever a record's text holds, its pseudonymised row holds tokens, numbers and words of the
        /// fixed vocabularies only, and none of the record's own text.
        #[test]
        fn a_pseudonymised_row_holds_no_raw_text(
            address in text(), name in text(), email in text(), cnp in text(), phone in text(), iban in text(),
            micros in 0u32..1_000_000,
        ) {
            let mut hostile = record();
            (hostile.address, hostile.person_name, hostile.user_name) = (address, name.clone(), name);
            (hostile.email, hostile.personal_number, hostile.phone_number, hostile.iban) = (email, cnp, phone, iban);
            hostile.accessed_at = hostile.accessed_at.with_nanosecond(micros * 1_000).expect("a valid time");
            let row = curate(&hostile, &PersonalData::Pseudonymised(key()));
            prop_assert!(row.county.is_none_or(|county| crate::county::counties().any(|name| name == county)));
            prop_assert_eq!(row.accessed_at.nanosecond() % 1_000_000, 0);
            prop_assert_eq!((&row.person_name, &row.user_name, &row.address, row.birth_date), (&None, &None, &None, None));
            let tokens = [
                &row.unique_id, &row.personal_number, &row.email, &row.phone_number, &row.mac_address, &row.ip_address,
                &row.iban,
            ];
            for token in tokens {
                let (version, body) = token.split_once('.').unwrap_or_default();
                prop_assert_eq!(version, "k1");
                prop_assert!(body.len() == 16 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            }
            let text = serde_json::to_string(&row).expect("JSON");
            for raw in [&hostile.address, &hostile.person_name, &hostile.email, &hostile.personal_number, &hostile.iban] {
                prop_assert!(raw.trim().len() < 8 || !text.contains(raw.trim()), "{} in {}", raw, text);
            }
        }
    }
}
