//! One invocation: event to run options, options to a plan, the plan run against the queue, and the
//! summary returned in the seed's `{statusCode, body}` shape.

use std::time::{Duration, SystemTime};

use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use serde_json::Value;
use shared::deadline;
use tokio::time::Instant;
use tracing::info;

use super::event::{EventError, run_options};
use super::settings::Settings;
use crate::plan::PlanError;
use crate::publish::queue::MessageQueue;
use crate::run::{RunError, Summary, run};

/// What an invocation needs, built once per container.
pub struct Producer<Q> {
    pub queue: Q,
    pub settings: Settings,
}

/// The seed's response: an HTTP-like status and the summary as a JSON string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Response {
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    pub body: String,
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
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("invalid run options: {0}")]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Run(#[from] RunError),
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
    let deadline = stop_instant(event.context.deadline, settings.deadline_margin);
    let mut rng = match plan.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => rand::make_rng(),
    };
    let summary = run(&producer.queue, &plan, &mut rng, Utc::now, &settings.retry, deadline).await?;
    info!(
        mode = ?summary.mode,
        requested = summary.requested,
        sent = summary.sent,
        failed = summary.failed,
        unsent = summary.unsent,
        messages = summary.messages,
        sqs_calls = summary.sqs_calls,
        elapsed_ms = summary.elapsed_ms,
        "run finished"
    );
    Response::new(&summary).map_err(HandlerError::Summary)
}

/// The instant `margin` before the invocation's deadline.
fn stop_instant(deadline_ms: u64, margin: Duration) -> Instant {
    Instant::now() + deadline::until_stop(deadline_ms, margin, SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::memory::MemoryQueue;
    use lambda_runtime::Context;
    use serde_json::json;
    use std::time::UNIX_EPOCH;

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
        let mut context = Context::default();
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis();
        context.deadline = u64::try_from(now_ms).expect("fits") + seconds_left * 1000;
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
        let stop = stop_instant(600_000, Duration::from_secs(2));
        assert_eq!(stop - Instant::now(), Duration::from_secs(598));
        let past = stop_instant(deadline::SMALLEST_EPOCH_DEADLINE_MS, Duration::from_secs(2));
        assert!(past <= Instant::now(), "a date long past leaves no time");
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
