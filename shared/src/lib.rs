//! What the producer and the consumer agree on: the user-session record, how AWS clients are configured,
//! how settings are read from the environment and how an invocation's deadline is read.

pub mod aws;
pub mod deadline;
pub mod env;
pub mod logging;
pub mod record;

pub use record::{DecodeError, MacAddress, Problem, UserSession};
#[cfg(feature = "testing")]
pub mod testing;
