//! The lake's objects as a compaction sees them: where each kind lives, a partition's committed state, the
//! ledger of the keys that wrote tokens, and the landed objects it reads.

pub mod keys;
pub(crate) mod landing;
pub mod layout;
pub(crate) mod state;
