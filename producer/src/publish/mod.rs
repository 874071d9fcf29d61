//! Getting records onto the queue: packing them into messages, batching the messages within SQS's
//! limits, the queue port, its SQS adapter and retried delivery.

pub mod batch;
pub mod delivery;
pub mod memory;
pub mod pack;
pub mod queue;
pub mod sqs;
