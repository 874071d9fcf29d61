//! The lake's objects as a compaction sees them: where each kind lives, a partition's committed state, and
//! the landed objects it reads.

pub(crate) mod landing;
pub mod layout;
pub(crate) mod state;
