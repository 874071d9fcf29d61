//! Helpers shared by the consumer's integration tests.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Context, LambdaEvent};
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

/// An invocation of `event` whose deadline is `time_left` from now, as Lambda sets it.
pub fn invocation(event: SqsEvent, time_left: Duration) -> LambdaEvent<SqsEvent> {
    let mut context = Context::default();
    let deadline = SystemTime::now() + time_left;
    context.deadline = deadline.duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as u64;
    LambdaEvent::new(event, context)
}
