//! Files written under an earlier schema read as this version's, so a column change never stops compaction:
//! a column this version added reads as null (so it must be nullable), a column it removed is left out, and
//! a column whose type changed is refused by name. Columns are matched by name, as Athena reads Parquet.
//!
//! To add a column: append it, nullable, to `schema::schema()` and to the Glue table's `Columns` in
//! `template.yaml`, in the same place (the template test holds the two together). Files already written keep
//! their columns and read the new one as null; each is rewritten in the current schema the next time a commit
//! merges it. A column is removed the same way, from both; earlier files keep it, unread.

use arrow_array::{ArrayRef, RecordBatch, new_null_array};
use arrow_schema::{Schema, SchemaRef};

use crate::table::TableError;

/// Where each column of the table comes from in a file: its index there, or nowhere (read as null).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Projection {
    table: SchemaRef,
    sources: Vec<Option<usize>>,
}

impl Projection {
    /// How the file `key`, of schema `file`, reads as `table`.
    pub(crate) fn new(key: &str, file: &Schema, table: SchemaRef) -> Result<Self, TableError> {
        let refused = |reason: String| TableError::Schema { key: key.to_owned(), reason };
        let mut sources = Vec::with_capacity(table.fields().len());
        for field in table.fields() {
            match file.index_of(field.name()) {
                Ok(index) => {
                    let found = file.field(index).data_type();
                    if found != field.data_type() {
                        let expected = field.data_type();
                        return Err(refused(format!("{} is {found} there, {expected} in the table", field.name())));
                    }
                    sources.push(Some(index));
                }
                Err(_) if field.is_nullable() => sources.push(None),
                Err(_) => return Err(refused(format!("no {} column, which may not be null", field.name()))),
            }
        }
        Ok(Self { table, sources })
    }

    /// `batch`, read from the file, as a batch of the table.
    pub(crate) fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch, TableError> {
        let columns: Vec<ArrayRef> = self
            .table
            .fields()
            .iter()
            .zip(&self.sources)
            .map(|(field, source)| match source {
                Some(index) => batch.column(*index).clone(),
                None => new_null_array(field.data_type(), batch.num_rows()),
            })
            .collect();
        Ok(RecordBatch::try_new(self.table.clone(), columns)?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::{Int32Array, StringArray};
    use arrow_schema::{DataType, Field};

    use super::*;

    fn table() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("unique_id", DataType::Utf8, false),
            Field::new("added", DataType::Utf8, true),
            Field::new("count", DataType::Int32, false),
        ]))
    }

    #[test]
    fn an_added_column_reads_as_null_and_a_removed_one_is_left_out() {
        let file = Arc::new(Schema::new(vec![
            Field::new("count", DataType::Int32, false),
            Field::new("removed", DataType::Utf8, true),
            Field::new("unique_id", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            file.clone(),
            vec![
                Arc::new(Int32Array::from(vec![1, 2])),
                Arc::new(StringArray::from(vec![Some("gone"), None])),
                Arc::new(StringArray::from(vec!["a", "b"])),
            ],
        )
        .expect("a batch");
        let read = Projection::new("f", &file, table()).expect("readable").apply(&batch).expect("projected");
        assert_eq!(read.schema(), table());
        assert_eq!(read.column(0).as_string::<i32>().iter().flatten().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(read.column(1).null_count(), 2);
    }

    #[test]
    fn a_changed_type_or_a_missing_required_column_is_refused_by_name() {
        let changed = Schema::new(vec![
            Field::new("unique_id", DataType::Utf8, false),
            Field::new("count", DataType::Int64, false),
        ]);
        let error = Projection::new("f", &changed, table()).expect_err("refused").to_string();
        assert!(error.contains("count is Int64 there, Int32 in the table"), "{error}");
        let missing = Schema::new(vec![Field::new("unique_id", DataType::Utf8, false)]);
        let error = Projection::new("f", &missing, table()).expect_err("refused").to_string();
        assert!(error.contains("no count column"), "{error}");
    }
}
