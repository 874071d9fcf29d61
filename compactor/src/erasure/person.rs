//! The persons an erasure removes: a request's identifiers, read strictly and refused by name, the tokens
//! that stand for them once read, and the test of whether a record's text is one of theirs.
//!
//! Identifiers are compared as tokens, after the normalisation the curated table's pseudonyms use
//! (`curate::normalised`): the keyed token of the pseudonym key, so the tokens a receipt names are the
//! curated table's; with personal data raw, a SHA-256 of the normalised value, which stays in the raw
//! bucket. Raw identifiers live only in the request, which is deleted once it is done.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::curate::{EMAIL, IBAN, PERSONAL_NUMBER, PHONE_NUMBER, PersonalData, normalised};

/// A request's fields, each the plural of the column it names.
const FIELDS: [(&str, &str); 4] =
    [("personal_numbers", PERSONAL_NUMBER), ("emails", EMAIL), ("ibans", IBAN), ("phone_numbers", PHONE_NUMBER)];
/// The largest request read: thousands of identifiers.
pub(crate) const MAX_REQUEST_BYTES: u64 = 1 << 20;
/// The most identifiers one request names.
const MAX_IDENTIFIERS: usize = 10_000;

/// Why a request is refused. It names the field and the item, never a value: the reason is logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the request is larger than {MAX_REQUEST_BYTES} bytes")]
    TooLarge,
    #[error("the request is not JSON (line {line}, column {column})")]
    NotJson { line: usize, column: usize },
    #[error("the request is not a JSON object")]
    NotAnObject,
    #[error("the request has a field other than personal_numbers, emails, ibans and phone_numbers")]
    UnknownField,
    #[error("{field} is not a list of strings")]
    NotAList { field: &'static str },
    #[error("{field} item {index} is not a string")]
    NotAString { field: &'static str, index: usize },
    #[error("{field} item {index} is empty")]
    Empty { field: &'static str, index: usize },
    #[error("the request names no identifier")]
    NamesNobody,
    #[error("the request names more than {MAX_IDENTIFIERS} identifiers")]
    TooMany,
}

/// A request's identifiers, normalised: raw personal data, held only while the request is worked on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Identifiers {
    /// By column.
    pub(crate) values: BTreeMap<&'static str, BTreeSet<String>>,
}

impl Identifiers {
    /// The request in `body`, or why it is refused.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, Refusal> {
        if body.len() as u64 > MAX_REQUEST_BYTES {
            return Err(Refusal::TooLarge);
        }
        let value: Value = serde_json::from_slice(body)
            .map_err(|error| Refusal::NotJson { line: error.line(), column: error.column() })?;
        let Value::Object(fields) = value else { return Err(Refusal::NotAnObject) };
        let mut identifiers = Self::default();
        let mut count = 0;
        for (name, value) in fields {
            let (field, column) =
                FIELDS.iter().copied().find(|(field, _)| *field == name).ok_or(Refusal::UnknownField)?;
            let Value::Array(items) = value else { return Err(Refusal::NotAList { field }) };
            for (index, item) in items.iter().enumerate() {
                let Value::String(text) = item else { return Err(Refusal::NotAString { field, index }) };
                let value = normalised(column, text);
                if value.trim().is_empty() {
                    return Err(Refusal::Empty { field, index });
                }
                identifiers.values.entry(column).or_default().insert(value);
                count += 1;
            }
        }
        if count == 0 {
            return Err(Refusal::NamesNobody);
        }
        if count > MAX_IDENTIFIERS {
            return Err(Refusal::TooMany);
        }
        Ok(identifiers)
    }

    /// The tokens that stand for these identifiers.
    pub(crate) fn tokens(&self, personal: &PersonalData) -> Tokens {
        let mut tokens = Tokens::default();
        for (column, values) in &self.values {
            for value in values {
                tokens.column_mut(column).insert(token(personal, column, value));
            }
        }
        tokens
    }
}

/// The token of the normalised `value` of `column`: the curated table's keyed token, or with personal data
/// raw a SHA-256, which the raw bucket alone keeps.
pub(crate) fn token(personal: &PersonalData, column: &str, value: &str) -> String {
    match personal {
        PersonalData::Pseudonymised(key) => key.token(column, value),
        PersonalData::Raw => {
            let mut digest = Sha256::new();
            digest.update(column.as_bytes());
            digest.update([0x1f]);
            digest.update(value.as_bytes());
            format!("sha256:{}", URL_SAFE_NO_PAD.encode(digest.finalize()))
        }
    }
}

/// Tokens by the request field they came from; what a receipt and the erased persons' list keep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tokens {
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub(crate) personal_numbers: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub(crate) emails: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub(crate) ibans: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub(crate) phone_numbers: BTreeSet<String>,
}

impl Tokens {
    pub(crate) fn column(&self, column: &str) -> &BTreeSet<String> {
        match column {
            PERSONAL_NUMBER => &self.personal_numbers,
            EMAIL => &self.emails,
            IBAN => &self.ibans,
            _ => &self.phone_numbers,
        }
    }

    fn column_mut(&mut self, column: &str) -> &mut BTreeSet<String> {
        match column {
            PERSONAL_NUMBER => &mut self.personal_numbers,
            EMAIL => &mut self.emails,
            IBAN => &mut self.ibans,
            _ => &mut self.phone_numbers,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        COLUMNS.iter().all(|column| self.column(column).is_empty())
    }

    /// Takes `other`'s tokens out.
    pub(crate) fn remove(&mut self, other: &Tokens) {
        for column in COLUMNS {
            let set = self.column_mut(column);
            other.column(column).iter().for_each(|token| {
                set.remove(token);
            });
        }
    }

    /// Adds `other`'s tokens.
    pub(crate) fn extend(&mut self, other: &Tokens) {
        for column in COLUMNS {
            self.column_mut(column).extend(other.column(column).iter().cloned());
        }
    }
}

/// The identifier columns, in the order of a request's fields.
pub(crate) const COLUMNS: [&str; 4] = [PERSONAL_NUMBER, EMAIL, IBAN, PHONE_NUMBER];

/// The identifier fields of a record's text; the rest is skipped unread.
#[derive(Deserialize)]
struct Fields {
    personal_number: Option<Value>,
    email: Option<Value>,
    iban: Option<Value>,
    phone_number: Option<Value>,
}

/// Who is being erased, each person by the index of the request (or erased set) that names them: tells
/// whose a record is.
#[derive(Debug, Default)]
pub(crate) struct Matcher<'a> {
    personal: Option<&'a PersonalData>,
    /// Token to the persons it names, by column.
    tokens: HashMap<&'static str, HashMap<String, Vec<usize>>>,
    /// Raw identifiers of the requests being worked on, for text that is not a record (the error output's),
    /// found by substring, in lower case.
    raw: Vec<(String, usize)>,
}

impl<'a> Matcher<'a> {
    pub(crate) fn new(personal: &'a PersonalData) -> Self {
        Self { personal: Some(personal), ..Self::default() }
    }

    /// Adds person `index`, known by `tokens`.
    pub(crate) fn add(&mut self, index: usize, tokens: &Tokens) {
        for column in COLUMNS {
            for token in tokens.column(column) {
                self.tokens.entry(column).or_default().entry(token.clone()).or_default().push(index);
            }
        }
    }

    /// Adds the raw identifiers of person `index`, which text that is no record is searched for.
    pub(crate) fn add_raw(&mut self, index: usize, identifiers: &Identifiers) {
        for value in identifiers.values.values().flatten() {
            self.raw.push((value.to_lowercase(), index));
        }
    }

    /// The persons the token `token` of `column` names.
    pub(crate) fn token_owners(&self, column: &str, token: &str) -> &[usize] {
        self.tokens.get(column).and_then(|tokens| tokens.get(token)).map_or(&[], Vec::as_slice)
    }

    /// The persons whose record `text` is (by any identifier field that is a string), none if it is none's
    /// or not a JSON object.
    pub(crate) fn record(&self, text: &[u8]) -> Vec<usize> {
        let (Some(personal), false) = (self.personal, self.tokens.is_empty()) else { return Vec::new() };
        let Ok(fields) = serde_json::from_slice::<Fields>(text) else { return Vec::new() };
        let mut persons = Vec::new();
        for (column, value) in [
            (PERSONAL_NUMBER, fields.personal_number),
            (EMAIL, fields.email),
            (IBAN, fields.iban),
            (PHONE_NUMBER, fields.phone_number),
        ] {
            // A number is how a sender may have written a CNP or a phone number (and been refused for it).
            let value = match value {
                Some(Value::String(value)) => value,
                Some(Value::Number(number)) => number.to_string(),
                _ => continue,
            };
            let Some(tokens) = self.tokens.get(column) else { continue };
            if let Some(found) = tokens.get(&token(personal, column, &normalised(column, &value))) {
                persons.extend(found);
            }
        }
        persons.sort_unstable();
        persons.dedup();
        persons
    }

    /// The persons whose refused text `text` is: by its identifier fields if it is a JSON object, and by any
    /// raw identifier of a request being worked on that it contains, however spaced (an IBAN in groups of
    /// four, a phone number with its country code).
    pub(crate) fn refused_text(&self, text: &[u8]) -> Vec<usize> {
        let mut persons = self.record(text);
        let lower = String::from_utf8_lossy(text).to_lowercase();
        let unspaced: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
        let digits: String = lower.chars().filter(char::is_ascii_digit).collect();
        for (value, index) in &self.raw {
            // A phone number's national digits without the leading 0, as `+40 7…` writes them.
            let national = value.strip_prefix('0').filter(|rest| rest.chars().all(|c| c.is_ascii_digit()));
            if unspaced.contains(value.as_str())
                || national.is_some_and(|rest| rest.len() >= 9 && digits.contains(rest))
            {
                persons.push(*index);
            }
        }
        persons.sort_unstable();
        persons.dedup();
        persons
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pseudonym::PseudonymKey;

    const RECORD: &str = r#"{"person_name":"Ioana Popescu","email":" IoanaPopescu@Gmail.com","personal_number":"2900101120015","phone_number":"+40 722 123 456","iban":"ro49 aaaa 1b31 0075 9384 0000","unique_id":"x"}"#;

    fn pseudonymised() -> PersonalData {
        PersonalData::Pseudonymised(PseudonymKey::new(1, &[7; 32]).expect("a key"))
    }

    #[test]
    fn a_request_is_read_normalised_and_any_field_finds_the_record() {
        let personal = pseudonymised();
        for request in [
            r#"{"personal_numbers":[" 2900101120015 "]}"#,
            r#"{"emails":["ioanapopescu@gmail.com"]}"#,
            r#"{"ibans":["RO49AAAA1B31007593840000"]}"#,
            r#"{"phone_numbers":["0722123456"], "emails": []}"#,
        ] {
            let identifiers = Identifiers::parse(request.as_bytes()).expect("valid");
            let mut matcher = Matcher::new(&personal);
            matcher.add(3, &identifiers.tokens(&personal));
            assert_eq!(matcher.record(RECORD.as_bytes()), vec![3], "{request}");
            assert!(matcher.record(br#"{"personal_number":"1900101120016"}"#).is_empty());
        }
    }

    #[test]
    fn tokens_are_the_curated_tables_or_a_digest_when_raw_and_never_the_value() {
        let identifiers = Identifiers::parse(br#"{"emails":["A@B.ro"]}"#).expect("valid");
        let tokens = identifiers.tokens(&pseudonymised());
        let PersonalData::Pseudonymised(key) = pseudonymised() else { unreachable!() };
        assert_eq!(tokens.emails, [key.token("email", "a@b.ro")].into());
        let raw = identifiers.tokens(&PersonalData::Raw);
        let digest = raw.emails.iter().next().expect("one");
        assert!(digest.starts_with("sha256:") && !digest.contains("a@b"));
        assert_eq!(serde_json::to_string(&raw).expect("serialises"), format!(r#"{{"emails":["{digest}"]}}"#));
    }

    #[test]
    fn a_malformed_request_is_refused_by_a_reason_that_quotes_no_value() {
        for (body, reason) in [
            (&b"{\"emails\":"[..], "the request is not JSON (line 1, column 10)"),
            (b"[\"2900101120015\"]", "the request is not a JSON object"),
            (
                b"{\"cnp\":[\"2900101120015\"]}",
                "the request has a field other than personal_numbers, emails, ibans and phone_numbers",
            ),
            (b"{\"emails\":\"a@b.ro\"}", "emails is not a list of strings"),
            (b"{\"ibans\":[\"RO49\", 7]}", "ibans item 1 is not a string"),
            (b"{\"phone_numbers\":[\" \"]}", "phone_numbers item 0 is empty"),
            (b"{}", "the request names no identifier"),
            (b"{\"emails\":[]}", "the request names no identifier"),
        ] {
            assert_eq!(Identifiers::parse(body).expect_err("refused").to_string(), reason);
        }
    }

    #[test]
    fn refused_text_that_is_no_record_is_searched_for_the_raw_identifiers() {
        let personal = pseudonymised();
        let identifiers = Identifiers::parse(br#"{"emails":["A@B.ro"]}"#).expect("valid");
        let mut matcher = Matcher::new(&personal);
        matcher.add(0, &identifiers.tokens(&personal));
        matcher.add_raw(0, &identifiers);
        assert_eq!(matcher.refused_text(b"{\"email\": \"a@b.ro\", broken"), vec![0]);
        let phone = Identifiers::parse(br#"{"phone_numbers":["0722123456"],"ibans":["RO49AAAA1B31007593840000"]}"#)
            .expect("valid");
        let mut by_phone = Matcher::new(&personal);
        by_phone.add(1, &phone.tokens(&personal));
        by_phone.add_raw(1, &phone);
        assert_eq!(by_phone.refused_text(b"call +40 722 123 456 now"), vec![1]);
        assert_eq!(by_phone.refused_text(b"iban ro49 aaaa 1b31 0075 9384 0000"), vec![1]);
        assert_eq!(by_phone.refused_text(br#"{"phone_number":722123456,"x":1}"#), vec![1], "a number, refused");
        assert_eq!(matcher.refused_text(br#"{"email":"A@B.RO","iban":7}"#), vec![0]);
        assert!(matcher.refused_text(b"nothing here").is_empty());
    }
}
