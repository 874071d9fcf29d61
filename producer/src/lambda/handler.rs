//! One invocation: event to run options, options to a plan, the plan run against the queue, the run
//! reported, and the summary returned in the seed's `{statusCode, body}` shape.

use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use shared::deadline::stop_at;
use shared::seed;
use tokio::time::Instant;

use super::event::{EventError, run_options};
use super::settings::Settings;
use super::telemetry::RunReport;
use crate::plan::PlanError;
use crate::publish::queue::MessageQueue;
use crate::run::{RunContext, RunError, Summary, retry_rng, run};

/// What an invocation needs, built once per container.
pub struct Producer<Q> {
    /// Where the records go.
    pub queue: Q,
    /// The environment's settings, read at start.
    pub settings: Settings,
}

/// The seed's response: an HTTP-like status and the summary as a JSON string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Response {
    #[serde(rename = "statusCode")]
    pub(crate) status_code: u16,
    pub(crate) body: String,
}

impl Response {
    /// 200 when every record reached the queue, 207 when some failed or ran out of time.
    fn new(summary: &Summary) -> Result<Self, serde_json::Error> {
        let status_code = if summary.is_complete() { 200 } else { 207 };
        Ok(Self { status_code, body: serde_json::to_string(summary)? })
    }
}

/// Why an invocation failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event is not one the producer takes.
    #[error(transparent)]
    Event(#[from] EventError),
    /// The event's options, over the environment's, are out of their limits.
    #[error("invalid run options: {0}")]
    Plan(#[from] PlanError),
    /// The run stopped on a fault.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The summary could not be written as the response body.
    #[error("cannot encode the summary: {0}")]
    Summary(#[source] serde_json::Error),
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match &error {
            HandlerError::Event(_) => "InvalidEvent",
            HandlerError::Plan(_) => "InvalidRunOptions",
            HandlerError::Run(_) | HandlerError::Summary(_) => "RunFailed",
        };
        tracing::error!(error_type, error = %error, "invocation failed");
        Diagnostic { error_type: error_type.into(), error_message: error.to_string() }
    }
}

/// Runs what the event asks for, stopping the settings' margin before the invocation's deadline.
pub async fn handle<Q: MessageQueue>(
    producer: &Producer<Q>,
    event: LambdaEvent<Value>,
) -> Result<Response, HandlerError> {
    let settings = &producer.settings;
    let plan = settings.defaults.clone().overridden_by(run_options(event.payload)?).plan()?;
    let context = RunContext {
        queue: &producer.queue,
        rng: &mut seed::rng(plan.seed),
        retry_rng: retry_rng(plan.seed),
        clock: Utc::now,
        policy: &settings.retry,
        deadline: stop_at(Instant::now(), event.context.deadline, settings.deadline_margin),
    };
    let summary = run(&plan, context).await?;
    RunReport::from(&summary).log();
    Response::new(&summary).map_err(HandlerError::Summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::memory::MemoryQueue;
    use lambda_runtime::Context;
    use serde_json::json;
    use shared::deadline::SMALLEST_EPOCH_DEADLINE_MS;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    fn producer(vars: &[(&str, &str)]) -> Producer<MemoryQueue> {
        let settings = Settings::from_lookup(|name| {
            std::iter::once(("QUEUE_URL", "http://127.0.0.1:1/queue"))
                .chain(vars.iter().copied())
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_owned())
        })
        .expect("valid settings");
        Producer { queue: MemoryQueue::default(), settings }
    }

    fn event(payload: Value, seconds_left: u64) -> LambdaEvent<Value> {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis();
        with_deadline(payload, u64::try_from(now_ms).expect("fits") + seconds_left * 1000)
    }

    fn with_deadline(payload: Value, deadline_ms: u64) -> LambdaEvent<Value> {
        let mut context = Context::default();
        context.deadline = deadline_ms;
        LambdaEvent::new(payload, context)
    }

    fn body(response: &Response) -> Value {
        serde_json::from_str(&response.body).expect("JSON body")
    }

    #[tokio::test(start_paused = true)]
    async fn burst_event_returns_the_seed_shaped_summary() {
        let producer = producer(&[]);
        let response = handle(&producer, event(json!({"mode": "burst", "count": 25}), 60)).await.expect("runs");
        assert_eq!(response.status_code, 200);
        let summary = body(&response);
        assert_eq!(summary["mode"], "burst");
        assert_eq!((summary["sent"].as_u64(), summary["failed"].as_u64()), (Some(25), Some(0)));
        assert_eq!((summary["messages"].as_u64(), summary["sqs_calls"].as_u64()), (Some(1), Some(1)));
        assert!(summary["elapsed_ms"].is_u64());
        assert_eq!(producer.queue.records().len(), 25);
        let response = serde_json::to_value(&response).expect("serialises");
        assert!(response["statusCode"].is_u64() && response["body"].is_string());
    }

    #[tokio::test(start_paused = true)]
    async fn scheduled_event_runs_the_environment_defaults() {
        let producer = producer(&[("PRODUCER_MODE", "burst"), ("BURST_COUNT", "12")]);
        let scheduled = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        let response = handle(&producer, event(scheduled, 60)).await.expect("runs");
        assert_eq!(body(&response)["sent"], 12);
    }

    #[tokio::test(start_paused = true)]
    async fn the_default_stream_returns_at_once_with_its_window_sent() {
        let producer = producer(&[]);
        let started = Instant::now();
        let response = handle(&producer, event(json!({}), 900)).await.expect("runs");
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
        let summary = body(&response);
        assert_eq!(summary["mode"], "stream");
        assert_eq!(summary["sent"], summary["requested"]);
        let messages = producer.queue.messages();
        assert!((60..=900).contains(&messages.len()), "pauses of 1-15 s over 900 s: {}", messages.len());
        assert!(messages.iter().all(|message| message.records == 1 && message.delay_seconds < 900));
    }

    #[tokio::test(start_paused = true)]
    async fn same_seed_same_records() {
        let first = producer(&[]);
        let second = producer(&[]);
        let payload = json!({"mode": "burst", "count": 5, "seed": 99});
        handle(&first, event(payload.clone(), 60)).await.expect("runs");
        handle(&second, event(payload, 60)).await.expect("runs");
        let ids = |producer: &Producer<MemoryQueue>| -> Vec<String> {
            producer.queue.records().iter().map(|body| body[body.len() - 40..].to_owned()).collect()
        };
        assert_eq!(ids(&first), ids(&second));
    }

    #[tokio::test(start_paused = true)]
    async fn an_emulator_budget_counts_from_now() {
        // cargo lambda's emulator sends a deadline of 600000: ten minutes from now, not a date in 1970.
        let producer = producer(&[]);
        let burst = json!({"mode": "burst", "count": 25});
        let response = handle(&producer, with_deadline(burst.clone(), 600_000)).await.expect("runs");
        assert_eq!((response.status_code, body(&response)["sent"].as_u64()), (200, Some(25)));
        let response = handle(&producer, with_deadline(burst, SMALLEST_EPOCH_DEADLINE_MS)).await.expect("runs");
        assert_eq!(response.status_code, 207, "a date long past leaves no time");
        assert_eq!(body(&response)["unsent"], 25);
    }

    #[tokio::test(start_paused = true)]
    async fn invalid_events_are_errors_that_name_the_problem() {
        let producer = producer(&[]);
        let error = handle(&producer, event(json!({"mode": "burst", "count": 0}), 60)).await.expect_err("invalid");
        assert!(error.to_string().contains("count = 0 is out of range"), "{error}");
        let error = handle(&producer, event(json!({"count": "ten"}), 60)).await.expect_err("invalid");
        assert!(error.to_string().contains("count: invalid type"), "{error}");
        assert!(producer.queue.messages().is_empty());
    }
}
