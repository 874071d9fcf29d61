//! Fixtures the consumer's integration tests share: the event files, invocations of them, and what a
//! JSON array holds.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

/// The text of `name` in `events/`.
fn events_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// An SQS event from `events/`.
pub(crate) fn event(name: &str) -> SqsEvent {
    serde_json::from_str(&events_file(name)).expect("an SQS event")
}

/// The corpus of malformed messages in `events/malformed-messages.json`: (what is wrong, body).
pub(crate) fn malformed_messages() -> Vec<(String, String)> {
    let cases: Vec<Value> = serde_json::from_str(&events_file("malformed-messages.json")).expect("a JSON array");
    cases
        .iter()
        .map(|case| (case["case"].as_str().expect("case").into(), case["body"].as_str().expect("body").into()))
        .collect()
}

/// The unique ids of the records in a JSON array, in order.
pub(crate) fn array_ids(bytes: &[u8]) -> Vec<String> {
    let array: Vec<Value> = serde_json::from_slice(bytes).expect("valid JSON array");
    array.iter().map(|record| record["unique_id"].as_str().expect("id").to_owned()).collect()
}

/// An invocation of `event` whose deadline is `time_left` from now, as Lambda sets it.
pub(crate) fn invocation(event: SqsEvent, time_left: Duration) -> LambdaEvent<SqsEvent> {
    let mut context = Context::default();
    let deadline = SystemTime::now() + time_left;
    context.deadline = deadline.duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as u64;
    LambdaEvent::new(event, context)
}
