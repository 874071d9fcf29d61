//! Helpers of the compactor's integration tests.

pub mod faults;
pub mod moto;
pub mod personal_data;
