//! The curated table's files: its Arrow schema, Parquet files written in memory up to a target size, stored
//! files read back by column over ranged reads, files of earlier schemas read as this one's, and rows of
//! earlier curation rules brought up to date.

pub(crate) mod evolution;
#[cfg(any(test, feature = "testing"))]
pub mod fixtures;
pub mod reader;
pub mod schema;
pub mod upgrade;
pub mod writer;

/// A Parquet file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("Arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("the data file {key} does not have the curated table's columns: {reason}")]
    Schema { key: String, reason: String },
    #[error("a batch of the curated table has a {0} column of another type")]
    ColumnType(&'static str),
}
