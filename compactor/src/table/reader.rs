//! Stored data files read back through the store's ranged reads: the footer first, then only the column
//! chunks asked for, a row group at a time, so reading the ids of a large file costs a few megabytes.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::statistics::Statistics;

use crate::store::LakeStore;
use crate::table::TableError;
use crate::table::evolution::Projection;
use crate::table::schema::{ACCESSED_AT, UNIQUE_ID, schema};
use crate::table::writer::TimeRange;

/// The footer bytes read in the first request: enough for a data file's whole metadata.
const FOOTER_HINT: usize = 64 * 1024;
/// Rows a batch read back holds.
const READ_BATCH_ROWS: usize = 8192;

/// One stored object read by ranges.
struct RangedObject<S> {
    store: S,
    key: String,
    size: u64,
}

impl<S: LakeStore> AsyncFileReader for RangedObject<S> {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move { self.store.get_range(&self.key, range).await.map_err(|error| ParquetError::External(Box::new(error))) }
            .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata =
                ParquetMetaDataReader::new().with_prefetch_hint(Some(FOOTER_HINT)).load_and_finish(self, size).await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// Calls `each` with every `unique_id` of the data file `key` of `size` bytes, reading that column only.
pub async fn for_each_unique_id<S: LakeStore>(
    store: &S,
    key: &str,
    size: u64,
    mut each: impl FnMut(&str),
) -> Result<(), TableError> {
    let object = RangedObject { store: store.clone(), key: key.to_owned(), size };
    let builder = ParquetRecordBatchStreamBuilder::new(object).await?;
    let column = builder
        .schema()
        .index_of(UNIQUE_ID)
        .map_err(|_| TableError::Schema { key: key.to_owned(), reason: format!("no {UNIQUE_ID} column") })?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [column]);
    let mut batches = builder.with_projection(mask).with_batch_size(READ_BATCH_ROWS).build()?;
    while let Some(batch) = batches.try_next().await? {
        let ids = batch.column(0).as_string_opt::<i32>().ok_or_else(|| TableError::Schema {
            key: key.to_owned(),
            reason: format!("{UNIQUE_ID} is not a string column"),
        })?;
        ids.iter().flatten().for_each(&mut each);
    }
    Ok(())
}

/// Calls `each` with the values of `columns` (string columns; `None` for a null) of every row of the data
/// file `key` of `size` bytes, reading those columns only. A column the file lacks is null throughout.
pub async fn for_each_row_of<S: LakeStore>(
    store: &S,
    key: &str,
    size: u64,
    columns: &[&str],
    mut each: impl FnMut(&[Option<&str>]),
) -> Result<(), TableError> {
    let object = RangedObject { store: store.clone(), key: key.to_owned(), size };
    let builder = ParquetRecordBatchStreamBuilder::new(object).await?;
    let present: Vec<usize> = columns.iter().filter_map(|name| builder.schema().index_of(name).ok()).collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), present);
    let mut batches = builder.with_projection(mask).with_batch_size(READ_BATCH_ROWS).build()?;
    while let Some(batch) = batches.try_next().await? {
        let mut values = vec![None; columns.len()];
        let read: Vec<Option<&arrow_array::StringArray>> = columns
            .iter()
            .map(|name| batch.column_by_name(name).and_then(|column| column.as_string_opt::<i32>()))
            .collect();
        for row in 0..batch.num_rows() {
            for (value, column) in values.iter_mut().zip(&read) {
                *value = column.filter(|column| column.is_valid(row)).map(|column| column.value(row));
            }
            each(&values);
        }
    }
    Ok(())
}

/// Whether the data file `key` of `size` bytes may hold one of `ids`, by its `unique_id` Bloom filters (a
/// false positive now and then, never a false negative). A row group without a filter (a file written before
/// they were) may hold any.
pub async fn may_hold_any<S: LakeStore>(store: &S, key: &str, size: u64, ids: &[&str]) -> Result<bool, TableError> {
    let object = RangedObject { store: store.clone(), key: key.to_owned(), size };
    let mut builder = ParquetRecordBatchStreamBuilder::new(object).await?;
    let column = builder
        .parquet_schema()
        .columns()
        .iter()
        .position(|column| column.name() == UNIQUE_ID)
        .ok_or_else(|| TableError::Schema { key: key.to_owned(), reason: format!("no {UNIQUE_ID} column") })?;
    for row_group in 0..builder.metadata().num_row_groups() {
        match builder.get_row_group_column_bloom_filter(row_group, column).await? {
            Some(filter) if !ids.iter().any(|id| filter.check(*id)) => {}
            _ => return Ok(true),
        }
    }
    Ok(false)
}

/// The first and last `accessed_at` of the data file `key` of `size` bytes, from its row groups' statistics
/// (its footer only); `None` when a row group has none.
pub async fn time_range<S: LakeStore>(store: &S, key: &str, size: u64) -> Result<Option<TimeRange>, TableError> {
    let object = RangedObject { store: store.clone(), key: key.to_owned(), size };
    let builder = ParquetRecordBatchStreamBuilder::new(object).await?;
    let Some(column) = builder.parquet_schema().columns().iter().position(|column| column.name() == ACCESSED_AT) else {
        return Ok(None);
    };
    let mut range: Option<TimeRange> = None;
    for row_group in builder.metadata().row_groups() {
        let Some(Statistics::Int64(times)) = row_group.column(column).statistics() else { return Ok(None) };
        let (Some(first), Some(last)) = (times.min_opt(), times.max_opt()) else { return Ok(None) };
        range = Some(TimeRange::widen(range, *first, *last));
    }
    Ok(range)
}

/// Calls `each` with every batch of the data file `key` of `size` bytes, as batches of the table's schema
/// (a file of an earlier schema is read as this one's: `evolution`).
pub async fn for_each_batch<S: LakeStore>(
    store: &S,
    key: &str,
    size: u64,
    mut each: impl FnMut(RecordBatch) -> Result<(), TableError>,
) -> Result<(), TableError> {
    let object = RangedObject { store: store.clone(), key: key.to_owned(), size };
    let builder = ParquetRecordBatchStreamBuilder::new(object).await?;
    // The batch is rebuilt on the table's schema, which also drops any metadata the file's carries.
    let projection = Projection::new(key, builder.schema(), schema())?;
    let mut batches = builder.with_batch_size(READ_BATCH_ROWS).build()?;
    while let Some(batch) = batches.try_next().await? {
        each(projection.apply(&batch)?)?;
    }
    Ok(())
}
