//! The consumer's integration tests, one binary so the AWS SDK is linked once: the handler against the
//! event files, the append path's properties, S3 on loopback (moto), the binary's start and the template.

// Test code: expectations are stated with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod append_properties;
mod handler_events;
mod s3;
mod startup;
mod support;
mod template;
