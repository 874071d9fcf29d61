//! What the producer and the consumer agree on: the user-session record, how AWS clients are configured,
//! how settings are read from the environment, how an invocation's deadline is read, how long a retry
//! waits and how a run's random generator is seeded, and where the array keeps its history.

pub mod array;
#[cfg(feature = "aws")]
pub mod aws;
pub mod backoff;
pub mod deadline;
pub mod env;
pub mod logging;
pub mod record;
pub mod seed;

pub use record::{DecodeError, MacAddress, Problem, UserSession};
#[cfg(feature = "testing")]
pub mod testing;
