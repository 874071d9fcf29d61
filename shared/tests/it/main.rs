//! The shared crate's integration tests, one binary: property tests of the record decoder, and the seed
//! generator's records.

// Test code: a failed expectation panics with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod decode_properties;
mod seed_records;
