//! The consumer: user-session records from SQS batches into S3, appended to the JSON array
//! `streaming_data.json` and written as date-partitioned NDJSON for Athena.
//!
//! `handler` maps the Lambda event onto `decode` and the `ingest` core, which writes through the
//! `store` port by way of the `append` and `partition` paths, and invalid records to the `error_output`;
//! `telemetry` reports what each invocation did.

pub mod append;
pub mod decode;
pub mod error_output;
pub mod handler;
pub mod ingest;
pub mod partition;
pub mod settings;
pub mod store;
pub mod telemetry;
