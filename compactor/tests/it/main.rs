//! The compactor's integration tests, one binary: the lake scenarios against moto on loopback (fixtures in
//! `support`), the binary's start, and the template's agreement with the code.

// Test code: a failed expectation panics with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod erasure;
mod lake;
mod rebuild;
mod startup;
mod support;
mod template;
