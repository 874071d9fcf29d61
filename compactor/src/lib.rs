//! The compactor: records that landed as NDJSON become the curated lake's Parquet rows, pseudonymised
//! unless the stack keeps personal data raw, each `unique_id` once.
//!
//! `curate`, `county` and `pseudonym` are pure; `table` writes and reads the Parquet files; `lake` names the objects
//! and holds a partition's state; `compaction` is the run; `store` is the port to S3 and its adapters;
//! `erasure` removes persons on request from every store; `key` reads the pseudonym key; `settings` and `handler` serve the Lambda entry point, and `telemetry`
//! writes what a run reports.

pub mod compaction;
pub mod county;
pub mod curate;
pub mod erasure;
pub mod handler;
pub mod key;
pub mod lake;
pub mod pseudonym;
pub mod settings;
pub mod store;
pub mod table;
mod telemetry;
