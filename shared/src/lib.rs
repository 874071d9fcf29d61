//! What the producer and the consumer agree on: the user-session record, how AWS clients are configured
//! and how settings are read from the environment.

pub mod aws;
pub mod env;
pub mod record;

pub use record::{DecodeError, MacAddress, UserSession};
#[cfg(feature = "testing")]
pub mod testing;
