//! A partition written under an earlier schema, for the tests of schema evolution: no `county` column
//! (added since) and a `legacy` column (removed since), as this version's curation rules otherwise wrote it.

// Test fixtures: a fixture that cannot be built stops the test with its reason.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use chrono::NaiveDate;
use shared::UserSession;

use crate::curate::{PersonalData, curate};
use crate::lake::layout::Layout;
use crate::store::{Condition, LakeStore};
use crate::table::schema::to_batch;
use crate::table::upgrade::CURATION;

/// Writes `records` as `day`'s partition in the earlier schema: one data file and the state listing it.
pub async fn older_schema_partition<S: LakeStore>(
    lake: &S,
    layout: &Layout,
    day: NaiveDate,
    records: &[UserSession],
    personal: &PersonalData,
) {
    let rows: Vec<_> = records.iter().map(|record| curate(record, personal)).collect();
    let current = to_batch(&rows).expect("a batch");
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in current.schema().fields().iter().zip(current.columns()) {
        if field.name() != "county" {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
        }
    }
    fields.push(Field::new("legacy", DataType::Utf8, true));
    columns.push(arrow_array::new_null_array(&DataType::Utf8, rows.len()));
    let older = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("a batch");
    let mut bytes = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut bytes, older.schema(), None).expect("a writer");
    writer.write(&older).expect("written");
    writer.close().expect("closed");
    let key = layout.data_key(day, "older-schema.parquet");
    let size = bytes.len() as u64;
    lake.put(&key, Bytes::from(bytes), Condition::Always).await.expect("stored");
    let state = format!(
        r#"{{"generation":1,"files":[{{"key":"{key}","records":{},"bytes":{size},"curation":{CURATION}}}],"compacted":[],"retired":[]}}"#,
        records.len(),
    );
    lake.put(&layout.state_key(day), Bytes::from(state), Condition::IfAbsent).await.expect("stored");
}
