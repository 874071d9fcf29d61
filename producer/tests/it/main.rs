//! The producer's integration tests, one binary so the AWS SDK is linked once: the command line, runs
//! against SQS on loopback (moto, which `scripts/test` starts), the function's start, and the template.

// Test code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod command_line;
mod sqs;
mod startup;
mod support;
mod template;
