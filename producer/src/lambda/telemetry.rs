//! What a run tells its operators: one summary line with every count, which Logs Insights queries. The
//! producer writes no metrics document: the queue's own CloudWatch metrics count what it sends, and the
//! function's Errors metric sees a run that failed as a whole.

use tracing::info;

use crate::run::Summary;

/// What one run reports, drawn from its summary: counts only, never a record or a message body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunReport<'a> {
    summary: &'a Summary,
}

impl<'a> From<&'a Summary> for RunReport<'a> {
    fn from(summary: &'a Summary) -> Self {
        Self { summary }
    }
}

impl RunReport<'_> {
    /// Writes the run's summary line.
    pub(crate) fn log(&self) {
        let summary = self.summary;
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Mode;
    use crate::publish::delivery::Delivery;
    use serde_json::{Value, json};
    use shared::logging::{CapturedLog, LogConfig, subscriber};
    use std::time::Duration;
    use tracing::level_filters::LevelFilter;

    #[test]
    fn the_summary_line_carries_every_count_and_nothing_else() {
        let delivery = Delivery { sent: 90, failed: 4, messages: 9, calls: 11 };
        let summary = Summary::new(Mode::Burst, 100, delivery, Duration::from_millis(1_234));
        let log = CapturedLog::default();
        let config = LogConfig { level: LevelFilter::INFO, json: true };
        tracing::subscriber::with_default(subscriber(config, log.writer()), || RunReport::from(&summary).log());
        let lines: Vec<Value> =
            log.text().lines().map(|line| serde_json::from_str(line).expect("a JSON log line")).collect();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(
            lines[0]["fields"],
            json!({
                "message": "run finished", "mode": "Burst", "requested": 100, "sent": 90, "failed": 4,
                "unsent": 6, "messages": 9, "sqs_calls": 11, "elapsed_ms": 1234
            })
        );
    }
}
