//! One summary per invocation: a structured log line with every count, which Logs Insights queries, and
//! a few of the counts as CloudWatch metrics in Embedded Metric Format, which CloudWatch Logs turns into
//! metrics with no API call. Each metric costs $0.30 a month while it is published, so by default there
//! are two: records taken in and records refused.

use serde::Serialize;
use serde_json::{Value, json};

/// Counts of one invocation.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub messages: u64,
    pub records: u64,
    pub rejected: u64,
    pub appended: u64,
    pub duplicates: u64,
    pub partitioned: u64,
    pub failed_messages: u64,
    pub retries: u64,
}

/// Which counts are published as metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum MetricSet {
    /// `Records` and `Rejected`.
    #[default]
    Basic,
    /// Every count.
    Detailed,
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

    /// The EMF document for `set` of these counts, stamped `timestamp_ms` (milliseconds since the Unix
    /// epoch).
    pub fn emf(&self, set: MetricSet, namespace: &str, function_name: &str, timestamp_ms: i64) -> Value {
        let names: &[&str] = match set {
            MetricSet::Basic => &Self::BASIC,
            MetricSet::Detailed => &Self::DETAILED,
        };
        let mut document = json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [["FunctionName"]],
                    "Metrics": names.iter().map(|name| json!({"Name": name, "Unit": "Count"})).collect::<Vec<_>>(),
                }],
            },
            "FunctionName": function_name,
        });
        if let Some(fields) = document.as_object_mut() {
            for name in names {
                fields.insert((*name).to_owned(), self.value(name).into());
            }
        }
        document
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let document = COUNTS.emf(MetricSet::Basic, "StreamingIngestion", "consumer", 1_764_000_000_000);
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
        let document = COUNTS.emf(MetricSet::Detailed, "StreamingIngestion", "consumer", 0);
        assert_eq!(names(&document), Counts::DETAILED);
        let values: Vec<u64> = Counts::DETAILED.iter().filter_map(|name| document[*name].as_u64()).collect();
        assert_eq!(values, [10, 2, 3, 7, 1, 8, 2, 3]);
    }
}
