//! The Lambda face of the producer: settings from the environment, the event, the handler that maps one
//! invocation onto a run, and what the run reports.

pub mod event;
pub mod handler;
pub mod settings;
mod telemetry;
