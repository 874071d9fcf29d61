//! The producer: synthetic Romanian user-session records sent to SQS, by Lambda or from a command line.
//!
//! `generator` makes records, `plan` says what a run does, `run` does it through the queue port of
//! `publish`, and `lambda` and `cli` are the two ways in. Each module is public for what the binary, the
//! integration tests, the benches or the compactor's tests use of it, and no more.

pub mod cli;
pub mod generator;
pub mod lambda;
pub mod plan;
pub mod publish;
pub mod run;
