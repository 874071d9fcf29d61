//! Helpers shared by the consumer's integration tests.

use std::path::Path;

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::Value;

/// An SQS event from `events/`.
pub fn event(name: &str) -> SqsEvent {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).expect("an SQS event")
}

/// The unique ids of the records in a JSON array, in order.
pub fn array_ids(bytes: &[u8]) -> Vec<String> {
    let array: Vec<Value> = serde_json::from_slice(bytes).expect("valid JSON array");
    array.iter().map(|record| record["unique_id"].as_str().expect("id").to_owned()).collect()
}
