//! What an invocation did: a warning for each record refused (its id, field and problem, never its
//! text; five of a message at most, then their count) as soon as the batch is decoded, then once a
//! structured summary line with every count, which Logs Insights queries, and a few of the counts as
//! CloudWatch metrics in Embedded Metric Format, which CloudWatch Logs turns into metrics with no API call.
//! Each metric costs $0.30 a month while it is published, so by default there are two: records taken in
//! and records refused.

use std::io::Write;

use serde_json::{Value, json};
use tracing::{error, info, warn};

use crate::decode::{Decoded, Rejected};
use crate::ingest::Ingested;

/// Which counts are published as metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum MetricSet {
    /// `Records` and `Rejected`.
    #[default]
    Basic,
    /// Every count.
    Detailed,
}

/// Where the metrics go and which are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Metrics<'a> {
    /// Which counts are published.
    pub(crate) set: MetricSet,
    /// The CloudWatch namespace.
    pub(crate) namespace: &'a str,
    /// The value of the one dimension, `FunctionName`.
    pub(crate) function_name: &'a str,
    /// When the batch was taken in, in milliseconds since the Unix epoch.
    pub(crate) timestamp_ms: i64,
}

/// Counts of one invocation, the ones a metric can publish.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    messages: u64,
    records: u64,
    rejected: u64,
    appended: u64,
    duplicates: u64,
    partitioned: u64,
    failed_messages: u64,
    retries: u64,
}

impl Counts {
    const BASIC: [&'static str; 2] = ["Records", "Rejected"];
    const DETAILED: [&'static str; 8] =
        ["Records", "Rejected", "Messages", "Appended", "Duplicates", "Partitioned", "FailedMessages", "AppendRetries"];

    fn value(&self, metric: &str) -> u64 {
        match metric {
            "Records" => self.records,
            "Rejected" => self.rejected,
            "Messages" => self.messages,
            "Appended" => self.appended,
            "Duplicates" => self.duplicates,
            "Partitioned" => self.partitioned,
            "FailedMessages" => self.failed_messages,
            _ => self.retries,
        }
    }

    /// The EMF document of `metrics` for these counts.
    fn emf(&self, metrics: &Metrics<'_>) -> Value {
        let names: &[&str] = match metrics.set {
            MetricSet::Basic => &Self::BASIC,
            MetricSet::Detailed => &Self::DETAILED,
        };
        let mut document = json!({
            "_aws": {
                "Timestamp": metrics.timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": metrics.namespace,
                    "Dimensions": [["FunctionName"]],
                    "Metrics": names.iter().map(|name| json!({"Name": name, "Unit": "Count"})).collect::<Vec<_>>(),
                }],
            },
            "FunctionName": metrics.function_name,
        });
        if let Some(fields) = document.as_object_mut() {
            for name in names {
                fields.insert((*name).to_owned(), self.value(name).into());
            }
        }
        document
    }
}

/// What one invocation did: the batch as decoded and what the core made of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchReport {
    counts: Counts,
    rejected_written: u64,
    partition_objects: u64,
    composed: bool,
    sealed: bool,
    out_of_time: bool,
}

/// Refusals of one message logged each on its own line; the rest make one line with their count, so a
/// message of thousands of bad lines costs a few lines of log (its records are in the error output).
pub(crate) const REJECTIONS_LOGGED_PER_MESSAGE: usize = 5;

/// Logs the refused records, [`REJECTIONS_LOGGED_PER_MESSAGE`] of a message at most, each with its
/// message id, line, field and problem, never its text; then one line per message with the number not
/// logged. Called as soon as the batch is decoded, so the refusals are in the log even if the invocation
/// does not finish.
pub(crate) fn log_rejections(rejected: &[Rejected<'_>]) {
    // A message's records are decoded, and so refused, one after the other.
    for message in rejected.chunk_by(|a, b| a.message_id == b.message_id) {
        for Rejected { message_id, line, reason, .. } in message.iter().take(REJECTIONS_LOGGED_PER_MESSAGE) {
            warn!(
                message_id,
                line,
                field = reason.field(),
                problem = reason.problem().as_str(),
                detail = reason.detail(),
                "message rejected"
            );
        }
        if let Some(more) = message.len().checked_sub(REJECTIONS_LOGGED_PER_MESSAGE).filter(|more| *more > 0) {
            warn!(
                message_id = message[0].message_id,
                more, "more records of the message rejected; each is in the error output with its reason"
            );
        }
    }
}

impl BatchReport {
    /// The report of a batch of `messages` messages, decoded as `decoded` and ingested as `ingested`.
    pub(crate) fn new(messages: usize, decoded: &Decoded<'_>, ingested: &Ingested<'_>) -> Self {
        let counts = Counts {
            messages: messages as u64,
            records: (decoded.accepted.len() + decoded.rejected.len()) as u64,
            rejected: decoded.rejected.len() as u64,
            appended: ingested.appended.appended,
            duplicates: ingested.appended.duplicates,
            partitioned: ingested.partitioned,
            failed_messages: ingested.failed.len() as u64,
            retries: ingested.appended.retries,
        };
        Self {
            counts,
            rejected_written: ingested.rejected_written,
            partition_objects: ingested.partition_objects,
            composed: ingested.appended.composed,
            sealed: ingested.appended.sealed,
            out_of_time: ingested.out_of_time,
        }
    }

    /// Logs the summary, and writes the EMF document of `metrics` to `out` (the
    /// function's standard output) as a line of its own: CloudWatch reads it there, not inside a log
    /// record. Metrics that cannot be written are logged and lost; the batch's outcome stands.
    pub(crate) fn write(&self, metrics: &Metrics<'_>, mut out: impl Write) {
        let counts = &self.counts;
        info!(
            messages = counts.messages,
            records = counts.records,
            rejected = counts.rejected,
            rejected_written = self.rejected_written,
            appended = counts.appended,
            duplicates = counts.duplicates,
            partitioned = counts.partitioned,
            partition_objects = self.partition_objects,
            failed_messages = counts.failed_messages,
            retries = counts.retries,
            composed = self.composed,
            sealed = self.sealed,
            out_of_time = self.out_of_time,
            "batch done"
        );
        // One write of the whole line, so nothing else written to `out` lands inside it.
        let mut line = counts.emf(metrics).to_string().into_bytes();
        line.push(b'\n');
        if let Err(cause) = out.write_all(&line).and_then(|()| out.flush()) {
            error!(error = %cause, "the metrics document could not be written");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use aws_lambda_events::event::sqs::SqsMessage;

    use crate::append::Appended;
    use crate::decode::{RecordWindow, decode};

    const COUNTS: Counts = Counts {
        messages: 3,
        records: 10,
        rejected: 2,
        appended: 7,
        duplicates: 1,
        partitioned: 8,
        failed_messages: 2,
        retries: 3,
    };

    fn metrics(set: MetricSet, timestamp_ms: i64) -> Metrics<'static> {
        Metrics { set, namespace: "StreamingIngestion", function_name: "consumer", timestamp_ms }
    }

    fn names(document: &Value) -> Vec<&str> {
        document["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .filter_map(|m| m["Name"].as_str())
            .collect()
    }

    #[test]
    fn by_default_two_metrics_are_published() {
        let document = COUNTS.emf(&metrics(MetricSet::Basic, 1_764_000_000_000));
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "StreamingIngestion");
        assert_eq!(directive["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(names(&document), ["Records", "Rejected"]);
        assert_eq!((document["Records"].as_u64(), document["Rejected"].as_u64()), (Some(10), Some(2)));
        assert!(document.get("Appended").is_none(), "a count outside the set is not in the document");
        assert_eq!(document["FunctionName"], "consumer");
        assert_eq!(document["_aws"]["Timestamp"], 1_764_000_000_000_i64);
    }

    #[test]
    fn detailed_metrics_name_every_count_with_its_value() {
        let document = COUNTS.emf(&metrics(MetricSet::Detailed, 0));
        assert_eq!(names(&document), Counts::DETAILED);
        let values: Vec<u64> = Counts::DETAILED.iter().filter_map(|name| document[*name].as_u64()).collect();
        assert_eq!(values, [10, 2, 3, 7, 1, 8, 2, 3]);
    }

    #[test]
    fn the_report_writes_the_emf_document_of_its_counts_as_one_line() {
        let mut messages = [SqsMessage::default(), SqsMessage::default()];
        messages[0].message_id = Some("a".into());
        messages[0].body = Some("not a record".into());
        messages[1].message_id = Some("b".into());
        let decoded = decode(&messages, RecordWindow::default(), chrono::Utc::now()).expect("every message has an id");
        let ingested = Ingested {
            appended: Appended { appended: 4, duplicates: 1, retries: 2, composed: true, sealed: false },
            partitioned: 5,
            failed: ["b"].into(),
            ..Ingested::default()
        };
        let mut out = Vec::new();

        BatchReport::new(messages.len(), &decoded, &ingested).write(&metrics(MetricSet::Detailed, 7), &mut out);

        let text = String::from_utf8(out).expect("UTF-8");
        assert!(text.ends_with('\n') && text.lines().count() == 1, "{text:?}");
        let document: Value = serde_json::from_str(&text).expect("a JSON document");
        let values: Vec<u64> = Counts::DETAILED.iter().filter_map(|name| document[*name].as_u64()).collect();
        assert_eq!(values, [2, 2, 2, 4, 1, 5, 1, 2], "records, rejected, messages, appended, ... retries");
        assert_eq!(document["_aws"]["Timestamp"], 7);
    }
}
