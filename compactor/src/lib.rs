//! The compactor: records that landed as NDJSON become the curated lake's rows, pseudonymised unless the
//! stack keeps personal data raw.
//!
//! `pseudonym` turns an identifier into a keyed token; `curate` turns a record into a curated row. Both are
//! pure: the key is read elsewhere and passed in.

pub mod curate;
pub mod pseudonym;
