//! The curated table's columns as Arrow types that Glue and Athena read from Parquet: `string`, `int`,
//! `timestamp` (microseconds, no zone; the values are whole milliseconds, which a file of an earlier
//! version's schema reads the same) and `date`. One schema serves both modes; the raw-only columns are null when personal data is pseudonymised.

use std::sync::{Arc, LazyLock};

use arrow_array::builder::{Date32Builder, Int32Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{Datelike, NaiveDate};

use crate::curate::{CuratedRecord, Sex};
use crate::table::TableError;

/// The column every row is told apart by.
pub const UNIQUE_ID: &str = "unique_id";
/// The column a row's time is in, which files are sorted and pruned by.
pub const ACCESSED_AT: &str = "accessed_at";

/// Columns whose every value is random text, where a dictionary only costs: the record's id and the tokens.
pub const HIGH_ENTROPY_COLUMNS: [&str; 7] =
    [UNIQUE_ID, "personal_number", "email", "phone_number", "mac_address", "ip_address", "iban"];

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let string = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    let int = |name: &str| Field::new(name, DataType::Int32, false);
    Arc::new(Schema::new(vec![
        string(UNIQUE_ID, false),
        Field::new(ACCESSED_AT, DataType::Timestamp(TimeUnit::Microsecond, None), false),
        int("session_duration"),
        int("download_speed"),
        int("upload_speed"),
        int("consumed_traffic"),
        int("birth_year"),
        string("sex", true),
        string("county", true),
        string("personal_number", false),
        string("email", false),
        string("phone_number", false),
        string("mac_address", false),
        string("ip_address", false),
        string("iban", false),
        string("person_name", true),
        string("user_name", true),
        string("address", true),
        Field::new("birth_date", DataType::Date32, true),
    ]))
});

/// The curated table's Arrow schema, columns in table order.
pub fn schema() -> SchemaRef {
    Arc::clone(&SCHEMA)
}

/// `rows` as one Arrow batch of [`schema`].
pub fn to_batch(rows: &[CuratedRecord]) -> Result<RecordBatch, TableError> {
    let strings = |value: &dyn Fn(&CuratedRecord) -> &str| {
        let mut builder = StringBuilder::with_capacity(rows.len(), rows.len() * 24);
        rows.iter().for_each(|row| builder.append_value(value(row)));
        Arc::new(builder.finish()) as ArrayRef
    };
    let optional_strings = |value: &dyn Fn(&CuratedRecord) -> Option<&str>| {
        let mut builder = StringBuilder::with_capacity(rows.len(), rows.len() * 8);
        rows.iter().for_each(|row| builder.append_option(value(row)));
        Arc::new(builder.finish()) as ArrayRef
    };
    let ints = |value: &dyn Fn(&CuratedRecord) -> i32| {
        let mut builder = Int32Builder::with_capacity(rows.len());
        rows.iter().for_each(|row| builder.append_value(value(row)));
        Arc::new(builder.finish()) as ArrayRef
    };
    let mut unique_ids = StringBuilder::with_capacity(rows.len(), rows.len() * 36);
    rows.iter().for_each(|row| unique_ids.append_value(&row.unique_id));
    let mut accessed_at = TimestampMicrosecondBuilder::with_capacity(rows.len());
    rows.iter().for_each(|row| accessed_at.append_value(row.accessed_at.and_utc().timestamp_micros()));
    let mut birth_dates = Date32Builder::with_capacity(rows.len());
    rows.iter().for_each(|row| birth_dates.append_option(row.birth_date.map(days_since_epoch)));
    let columns = vec![
        Arc::new(unique_ids.finish()) as ArrayRef,
        Arc::new(accessed_at.finish()),
        ints(&|row| saturating_i32(row.session_duration)),
        ints(&|row| saturating_i32(row.download_speed)),
        ints(&|row| saturating_i32(row.upload_speed)),
        ints(&|row| saturating_i32(row.consumed_traffic)),
        ints(&|row| row.birth_year),
        optional_strings(&|row| row.sex.map(sex_code)),
        optional_strings(&|row| row.county),
        strings(&|row| &row.personal_number),
        strings(&|row| &row.email),
        strings(&|row| &row.phone_number),
        strings(&|row| &row.mac_address),
        strings(&|row| &row.ip_address),
        strings(&|row| &row.iban),
        optional_strings(&|row| row.person_name.as_deref()),
        optional_strings(&|row| row.user_name.as_deref()),
        optional_strings(&|row| row.address.as_deref()),
        Arc::new(birth_dates.finish()),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

fn sex_code(sex: Sex) -> &'static str {
    match sex {
        Sex::Female => "F",
        Sex::Male => "M",
    }
}

/// The record's bounds keep every measure within `int`; a value beyond it is kept at the bound, not wrapped.
fn saturating_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// Days from 1970-01-01, as Parquet's `DATE` counts them.
fn days_since_epoch(date: NaiveDate) -> i32 {
    /// 1970-01-01 counted from 0001-01-01 as day 1.
    const EPOCH_FROM_CE: i32 = 719_163;
    date.num_days_from_ce() - EPOCH_FROM_CE
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Date32Type, Int32Type, TimestampMicrosecondType};
    use chrono::NaiveDateTime;

    fn row() -> CuratedRecord {
        CuratedRecord {
            unique_id: uuid::Uuid::from_u128(7).to_string(),
            accessed_at: NaiveDateTime::parse_from_str("2026-11-29 10:00:00.5", "%Y-%m-%d %H:%M:%S%.f").expect("valid"),
            session_duration: 1,
            download_speed: 2,
            upload_speed: 3,
            consumed_traffic: u32::MAX,
            birth_year: 1990,
            sex: Some(Sex::Female),
            county: None,
            personal_number: "k1.a".into(),
            email: "k1.b".into(),
            phone_number: "k1.c".into(),
            mac_address: "k1.d".into(),
            ip_address: "k1.e".into(),
            iban: "k1.f".into(),
            person_name: None,
            user_name: None,
            address: None,
            birth_date: NaiveDate::from_ymd_opt(1970, 1, 11),
        }
    }

    #[test]
    fn a_row_becomes_one_batch_row_with_glue_types() {
        let batch = to_batch(&[row()]).expect("a batch");
        assert_eq!((batch.num_rows(), batch.num_columns()), (1, schema().fields().len()));
        assert_eq!(batch.column(0).as_string::<i32>().value(0), "00000000-0000-0000-0000-000000000007");
        assert_eq!(batch.column(1).as_primitive::<TimestampMicrosecondType>().value(0), 1_795_946_400_500_000);
        assert_eq!(batch.column(5).as_primitive::<Int32Type>().value(0), i32::MAX);
        assert_eq!(batch.column(7).as_string::<i32>().value(0), "F");
        assert!(batch.column(8).is_null(0) && batch.column(15).is_null(0));
        assert_eq!(batch.column(18).as_primitive::<Date32Type>().value(0), 10);
    }
}
