//! Getting records onto the queue: packing them into messages, batching the messages within SQS's
//! limits, the queue port, its SQS adapter and retried delivery.

pub(crate) mod batch;
pub mod delivery;
#[cfg(test)]
pub(crate) mod memory;
pub(crate) mod pack;
pub mod queue;
pub mod sqs;
