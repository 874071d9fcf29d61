//! The Lambda face of the producer: settings from the environment, the event, and the handler that
//! maps one invocation onto a run.

pub mod event;
pub mod handler;
pub mod settings;
