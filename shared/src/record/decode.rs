//! Strict decoding of one record, with errors built from the decoder's structure, never from its messages:
//! serde's messages quote the input they reject (values, unknown keys, duplicate keys), and a record is
//! personal data. A refused document is parsed again and read from its parsed entries through serde's own
//! deserializers with an error type that keeps only the kind of problem, the field, and what the schema
//! expected there.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, Deserializer, Expected, IntoDeserializer, MapAccess, Unexpected, Visitor};
use serde_json::Value;

use super::{FIELD_NAMES, MAX_RECORD_BYTES, UserSession, identifiers};

/// The kind of problem that makes a document not a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Problem {
    /// The message has no body at all.
    NoBody,
    /// Longer than [`MAX_RECORD_BYTES`]; refused before it is parsed.
    TooLarge,
    /// Not JSON, or JSON followed by more than white space.
    NotJson,
    /// JSON, but not an object.
    NotAnObject,
    MissingField,
    UnknownField,
    DuplicateField,
    WrongType,
    /// A number outside the field's range, or a time outside the window the consumer takes.
    OutOfRange,
    /// Text that is not in the field's format (a date, a timestamp, an address, a UUID, a personal
    /// identifier).
    InvalidFormat,
}

impl Problem {
    /// A stable name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::NoBody => "no_body",
            Problem::TooLarge => "too_large",
            Problem::NotJson => "not_json",
            Problem::NotAnObject => "not_an_object",
            Problem::MissingField => "missing_field",
            Problem::UnknownField => "unknown_field",
            Problem::DuplicateField => "duplicate_field",
            Problem::WrongType => "wrong_type",
            Problem::OutOfRange => "out_of_range",
            Problem::InvalidFormat => "invalid_format",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str(&self.as_str().replace('_', " "))
    }
}

/// Why a JSON document is not a valid [`UserSession`]. It holds nothing of the document but its size and,
/// for a syntax error, where it broke, so it may be logged whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid user-session record: {}: {}{}", self.field(), .problem, in_parentheses(.detail))]
pub struct DecodeError {
    problem: Problem,
    field: Option<&'static str>,
    /// What the schema expects, in the schema's words, or where the JSON broke.
    detail: Option<String>,
}

fn in_parentheses(detail: &Option<String>) -> String {
    detail.as_deref().map(|detail| format!(" ({detail})")).unwrap_or_default()
}

impl DecodeError {
    /// A message without a body, which no decoding was tried on.
    pub fn no_body() -> Self {
        Self::new(Problem::NoBody)
    }

    /// A field whose value is outside the range this consumer takes, in the words of `rule`.
    pub fn out_of_range(field: &'static str, rule: String) -> Self {
        Self { problem: Problem::OutOfRange, field: Some(field), detail: Some(rule) }
    }

    fn invalid_format(field: &'static str, rule: &str) -> Self {
        Self { problem: Problem::InvalidFormat, field: Some(field), detail: Some(rule.to_owned()) }
    }

    fn new(problem: Problem) -> Self {
        Self { problem, field: None, detail: None }
    }

    fn with_detail(problem: Problem, detail: String) -> Self {
        Self { problem, field: None, detail: Some(detail) }
    }

    /// What is wrong.
    pub fn problem(&self) -> Problem {
        self.problem
    }

    /// The schema's name of the field at fault, or `.` for the document as a whole (an unknown key is
    /// never named: it is input).
    pub fn field(&self) -> &'static str {
        self.field.unwrap_or(".")
    }

    /// What the schema expects there, in its own words, or where the JSON broke.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

/// Decodes `json` as one record; see [`UserSession::from_json`].
pub(super) fn decode(json: &[u8]) -> Result<UserSession, DecodeError> {
    if json.len() > MAX_RECORD_BYTES {
        return Err(DecodeError::with_detail(
            Problem::TooLarge,
            format!("{} bytes, more than the {MAX_RECORD_BYTES} a record may have", json.len()),
        ));
    }
    // serde_json straight into the record is the fast path; its error is dropped unread, since its message
    // quotes the input, and the refused document is decoded again to say what is wrong.
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let record =
        match UserSession::deserialize(&mut deserializer).and_then(|record| deserializer.end().map(|()| record)) {
            Ok(record) => record,
            Err(_) => return Err(explain(json)),
        };
    match identifiers::check(&record) {
        Ok(()) => Ok(record),
        Err((field, rule)) => Err(DecodeError::invalid_format(field, rule)),
    }
}

/// Why serde_json refused `json`: the document is parsed, then read into a record through serde's own
/// deserializers with [`DecodeError`] as their error, which keeps the kind, the field and what the schema
/// expects.
fn explain(json: &[u8]) -> DecodeError {
    let entries = match serde_json::from_slice::<Entries>(json) {
        Ok(Entries(entries)) => entries,
        Err(error) if error.classify() == serde_json::error::Category::Data => {
            return DecodeError::new(Problem::NotAnObject);
        }
        Err(error) => {
            return DecodeError::with_detail(
                Problem::NotJson,
                format!("line {}, column {}", error.line(), error.column()),
            );
        }
    };
    let fields = MapDeserializer::<_, DecodeError>::new(
        entries.into_iter().map(|(key, value)| (key, ValueDeserializer::new(value))),
    );
    match serde_path_to_error::deserialize::<_, UserSession>(fields) {
        Err(error) => {
            // The first segment is the record's field; deeper ones would be inside a value of the wrong type.
            let path = error.path().to_string();
            let top = path.split(['.', '[']).next().unwrap_or_default();
            let mut error = error.into_inner();
            if error.field.is_none() && error.problem != Problem::UnknownField {
                error.field = FIELD_NAMES.iter().copied().find(|name| *name == top);
            }
            error
        }
        // Both readings follow the same schema; should they ever differ, the document is still refused.
        Ok(_) => DecodeError::new(Problem::InvalidFormat),
    }
}

/// An object's entries in order, duplicates kept, so the record's own decoding sees and refuses them.
struct Entries(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(FIELD_NAMES.len()));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// A parsed JSON value as a deserializer whose error is [`DecodeError`]. Strings are asked for as strings,
/// as serde_json does, so a visitor that would also take an array (uuid's takes 16 bytes) gets none.
struct ValueDeserializer<E>(Value, PhantomData<E>);

impl<E> ValueDeserializer<E> {
    fn new(value: Value) -> Self {
        Self(value, PhantomData)
    }
}

impl<'de, E: de::Error> Deserializer<'de> for ValueDeserializer<E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(value) => visitor.visit_bool(value),
            Value::Number(number) => {
                if let Some(value) = number.as_u64() {
                    visitor.visit_u64(value)
                } else if let Some(value) = number.as_i64() {
                    visitor.visit_i64(value)
                } else {
                    visitor.visit_f64(number.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(text) => visitor.visit_string(text),
            Value::Array(items) => {
                SeqDeserializer::new(items.into_iter().map(ValueDeserializer::new)).deserialize_any(visitor)
            }
            Value::Object(map) => {
                MapDeserializer::new(map.into_iter().map(|(key, value)| (key, ValueDeserializer::new(value))))
                    .deserialize_any(visitor)
            }
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Value::String(text) => visitor.visit_string(text),
            other => Err(E::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.deserialize_str(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de, E: de::Error> IntoDeserializer<'de, E> for ValueDeserializer<E> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// A value as serde names what it did not expect.
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(value) => Unexpected::Bool(*value),
        Value::Number(number) => match (number.as_u64(), number.as_i64()) {
            (Some(value), _) => Unexpected::Unsigned(value),
            (None, Some(value)) => Unexpected::Signed(value),
            (None, None) => Unexpected::Float(number.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(text) => Unexpected::Str(text),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// What kind of value was found, without the value.
fn kind(unexpected: &Unexpected) -> &'static str {
    match unexpected {
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) => "an integer",
        Unexpected::Float(_) => "a floating-point number",
        Unexpected::Char(_) | Unexpected::Str(_) => "a string",
        Unexpected::Bytes(_) => "bytes",
        Unexpected::Unit | Unexpected::Option => "null",
        Unexpected::Seq => "an array",
        Unexpected::Map => "an object",
        _ => "another kind of value",
    }
}

impl de::Error for DecodeError {
    /// Custom messages quote the input (chrono's, uuid's and our own parsers'), so only the kind is kept.
    fn custom<T: fmt::Display>(_message: T) -> Self {
        Self::new(Problem::InvalidFormat)
    }

    fn invalid_type(unexpected: Unexpected, expected: &dyn Expected) -> Self {
        Self::with_detail(Problem::WrongType, format!("found {}, expected {expected}", kind(&unexpected)))
    }

    fn invalid_value(unexpected: Unexpected, expected: &dyn Expected) -> Self {
        let problem = match unexpected {
            Unexpected::Unsigned(_) | Unexpected::Signed(_) | Unexpected::Float(_) => Problem::OutOfRange,
            _ => Problem::InvalidFormat,
        };
        Self::with_detail(problem, format!("expected {expected}"))
    }

    fn invalid_length(_length: usize, expected: &dyn Expected) -> Self {
        Self::with_detail(Problem::WrongType, format!("expected {expected}"))
    }

    fn unknown_variant(_variant: &str, _expected: &'static [&'static str]) -> Self {
        Self::new(Problem::InvalidFormat)
    }

    fn unknown_field(_field: &str, _expected: &'static [&'static str]) -> Self {
        Self::with_detail(Problem::UnknownField, format!("a record has only its {} fields", FIELD_NAMES.len()))
    }

    fn missing_field(field: &'static str) -> Self {
        Self { field: Some(field), ..Self::new(Problem::MissingField) }
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self { field: Some(field), ..Self::new(Problem::DuplicateField) }
    }
}
