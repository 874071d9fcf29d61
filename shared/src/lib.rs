//! What the producer and the consumer agree on: the user-session record and how AWS clients are configured.

pub mod aws;
pub mod record;

pub use record::{DecodeError, MacAddress, UserSession};
