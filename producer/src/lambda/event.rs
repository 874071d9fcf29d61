//! The producer's invocation event: a schedule's event, `{}`, or run options as JSON.

use serde_json::Value;

use crate::plan::RunOptions;

const EXPECTED: &str = r#"expected {}, a scheduled event or run options such as {"mode": "burst", "count": 1000}"#;

/// The event is neither a scheduled event nor valid run options.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The event is JSON but not an object; the kind it is instead.
    #[error("invalid producer event: a JSON {0}, {EXPECTED}")]
    NotAnObject(&'static str),
    /// An object, but not run options: an unknown field or a value of the wrong type.
    #[error("invalid producer event: {0}; {EXPECTED}")]
    Invalid(#[from] serde_path_to_error::Error<serde_json::Error>),
}

/// The run options an event asks for. An EventBridge event (rule or Scheduler with the default input)
/// asks for none, so the environment's defaults apply.
pub fn run_options(event: Value) -> Result<RunOptions, EventError> {
    if event.is_null() || is_eventbridge_event(&event) {
        return Ok(RunOptions::default());
    }
    let kind = match &event {
        Value::Object(_) => None,
        Value::Array(_) => Some("array"),
        Value::String(_) => Some("string"),
        Value::Number(_) => Some("number"),
        Value::Bool(_) => Some("boolean"),
        Value::Null => None,
    };
    if let Some(kind) = kind {
        return Err(EventError::NotAnObject(kind));
    }
    Ok(serde_path_to_error::deserialize(event)?)
}

fn is_eventbridge_event(event: &Value) -> bool {
    event.get("detail-type").is_some() && event.get("source").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Mode;
    use serde_json::json;

    #[test]
    fn empty_null_and_scheduled_events_ask_for_nothing() {
        let scheduled = json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-11-26T07:00:00Z",
            "region": "eu-central-1", "resources": ["arn:aws:events:eu-central-1:123456789012:rule/producer"],
            "detail": {}
        });
        for event in [json!({}), Value::Null, scheduled] {
            assert_eq!(run_options(event).expect("accepted"), RunOptions::default());
        }
    }

    #[test]
    fn run_options_are_read() {
        let options = run_options(json!({"mode": "burst", "count": 250, "concurrency": 4, "seed": 7})).expect("valid");
        assert_eq!(options.mode, Some(Mode::Burst));
        assert_eq!((options.count, options.concurrency, options.seed), (Some(250), Some(4), Some(7)));
    }

    #[test]
    fn invalid_events_name_what_is_wrong() {
        for (event, expected) in [
            (json!({"mode": "fast"}), "mode: unknown variant `fast`"),
            (json!({"count": "10"}), "count: invalid type: string"),
            (json!({"count": -5}), "count: invalid value: integer `-5`"),
            (json!({"cuont": 5}), "unknown field `cuont`"),
            (json!([1, 2]), "a JSON array, expected {}"),
            (json!("burst"), "a JSON string, expected {}"),
        ] {
            let error = run_options(event).expect_err("invalid").to_string();
            assert!(error.contains(expected), "{error}");
        }
    }
}
