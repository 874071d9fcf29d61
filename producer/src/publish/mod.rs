//! Getting records onto the queue: the queue port, its SQS adapter, batching and retried delivery.

pub mod batch;
pub mod delivery;
pub mod memory;
pub mod queue;
pub mod sqs;
