//! Helpers of the compactor's integration tests.

pub(crate) mod faults;
pub(crate) mod late_writes;
pub(crate) mod moto;
pub(crate) mod personal_data;
