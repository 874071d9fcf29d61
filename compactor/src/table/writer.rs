//! Parquet data files built in memory, split when one reaches the target size, and named after their
//! content so that writing the same rows again writes the same object.

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use sha2::{Digest, Sha256};

use crate::table::TableError;
use crate::table::schema::{ACCESSED_AT, HIGH_ENTROPY_COLUMNS, UNIQUE_ID, schema};

/// zstd's level for data files. Measured with `cargo bench -p compactor --bench compact`: level 1 made
/// smaller files than level 3 here (104.5 against 107.8 bytes a record; the tokens are random text either
/// way) and the whole compaction 1.5 times as fast.
const ZSTD_LEVEL: i32 = 1;
/// The share of absent ids an id Bloom filter says may be there.
const BLOOM_FALSE_POSITIVES: f64 = 0.01;
/// Rows a row group holds at most; a file of the target size holds a few.
const MAX_ROW_GROUP_ROWS: usize = 1 << 20;

/// A finished data file.
#[derive(Debug, Clone)]
pub struct DataFile {
    /// `<hash>.parquet`, the hash of the bytes.
    pub name: String,
    pub bytes: Bytes,
    pub records: u64,
    /// The first and last `accessed_at` of its rows, in microseconds.
    pub accessed: TimeRange,
}

/// The first and last `accessed_at` of a file's rows, in microseconds since the epoch: a commit reads the
/// ids of a file only when one of its new rows falls in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimeRange {
    pub first: i64,
    pub last: i64,
}

impl TimeRange {
    /// `range` widened to hold `first` to `last` too.
    pub(crate) fn widen(range: Option<Self>, first: i64, last: i64) -> Self {
        match range {
            None => Self { first, last },
            Some(range) => Self { first: range.first.min(first), last: range.last.max(last) },
        }
    }
}

/// Writes batches into data files of at least `target_bytes` each (all but the last), over by at most a
/// row group.
pub struct DataFileWriter {
    target_bytes: usize,
    current: Option<ArrowWriter<Vec<u8>>>,
    records: u64,
    accessed: Option<TimeRange>,
    finished: Vec<DataFile>,
}

impl DataFileWriter {
    pub fn new(target_bytes: usize) -> Self {
        Self { target_bytes, current: None, records: 0, accessed: None, finished: Vec::new() }
    }

    /// Adds `batch` to the current file, and finishes that file once it reaches the target size.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), TableError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let times = batch
            .column_by_name(ACCESSED_AT)
            .and_then(|column| column.as_primitive_opt::<TimestampMicrosecondType>())
            .ok_or(TableError::ColumnType(ACCESSED_AT))?;
        let (first, last) =
            times.values().iter().fold((i64::MAX, i64::MIN), |(first, last), &at| (first.min(at), last.max(at)));
        let writer = match &mut self.current {
            Some(writer) => writer,
            None => self.current.insert(ArrowWriter::try_new(Vec::new(), schema(), Some(properties()))?),
        };
        writer.write(batch)?;
        self.records += batch.num_rows() as u64;
        self.accessed = Some(TimeRange::widen(self.accessed, first, last));
        // The row group in progress is counted before compression, several times what it will take; it is
        // flushed at half the target, and the file's size is then what was written, compressed.
        if writer.in_progress_size() >= self.target_bytes / 2 {
            writer.flush()?;
        }
        if writer.bytes_written() >= self.target_bytes {
            self.finish_current()?;
        }
        Ok(())
    }

    /// The files finished so far, for the caller to store before more are built.
    pub fn take_finished(&mut self) -> Vec<DataFile> {
        std::mem::take(&mut self.finished)
    }

    /// Finishes the file in progress and gives every file not yet taken.
    pub fn finish(mut self) -> Result<Vec<DataFile>, TableError> {
        self.finish_current()?;
        Ok(self.finished)
    }

    fn finish_current(&mut self) -> Result<(), TableError> {
        let Some(writer) = self.current.take() else { return Ok(()) };
        // A file is begun only by a batch with rows, which sets the range.
        let Some(accessed) = self.accessed.take() else { return Ok(()) };
        let bytes = Bytes::from(writer.into_inner()?);
        let digest = Sha256::digest(&bytes);
        let name = format!("{}.parquet", hex(&digest[..16]));
        self.finished.push(DataFile { name, bytes, records: std::mem::take(&mut self.records), accessed });
        Ok(())
    }
}

fn properties() -> WriterProperties {
    let level = ZstdLevel::try_new(ZSTD_LEVEL).unwrap_or_default();
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(MAX_ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Chunk);
    // A Bloom filter of the ids, so a commit asks a file whether it holds a late record's id without
    // reading the column: about 1.2 bytes a row at 1% false positives.
    builder = builder
        .set_column_bloom_filter_enabled(ColumnPath::from(UNIQUE_ID), true)
        .set_column_bloom_filter_fpp(ColumnPath::from(UNIQUE_ID), BLOOM_FALSE_POSITIVES)
        .set_column_bloom_filter_max_ndv(ColumnPath::from(UNIQUE_ID), MAX_ROW_GROUP_ROWS as u64);
    for column in HIGH_ENTROPY_COLUMNS {
        // Min and max of random text prune nothing; a dictionary of unique values only adds a page.
        builder = builder
            .set_column_dictionary_enabled(ColumnPath::from(column), false)
            .set_column_statistics_enabled(ColumnPath::from(column), EnabledStatistics::None);
    }
    // Parquet 1.0 encodings only (plain and dictionary), which every reader reads: prefix and delta
    // encodings saved under 1% here (`cargo bench -p compactor --bench compact`).
    builder.build()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curate::{PersonalData, curate};
    use crate::table::schema::to_batch;
    use rand::SeedableRng;

    #[test]
    fn files_are_split_at_the_target_and_named_by_their_content() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z").expect("valid").to_utc();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let rows: Vec<_> =
            (0..2_000).map(|_| curate(&producer::generator::user_session(&mut rng, now), &PersonalData::Raw)).collect();
        let write = || {
            let mut writer = DataFileWriter::new(32 * 1024);
            for chunk in rows.chunks(100) {
                writer.write(&to_batch(chunk).expect("a batch")).expect("written");
            }
            writer.finish().expect("finished")
        };
        let files = write();
        assert!(files.len() > 2);
        assert_eq!(files.iter().map(|file| file.records).sum::<u64>(), 2_000);
        let micros = now.timestamp_micros();
        assert!(files.iter().all(|file| file.accessed == TimeRange { first: micros, last: micros }));
        assert!(files[..files.len() - 1].iter().all(|file| file.bytes.len() >= 32 * 1024));
        let names: Vec<&str> = files.iter().map(|file| file.name.as_str()).collect();
        assert_eq!(names, write().iter().map(|file| file.name.as_str()).collect::<Vec<_>>());
    }
}
