//! One summary per invocation: a structured log line and the same counts as CloudWatch metrics in
//! Embedded Metric Format, which CloudWatch Logs turns into metrics with no API call.

use serde::Serialize;
use serde_json::{Value, json};

/// Counts of one invocation.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub received: u64,
    pub rejected: u64,
    pub appended: u64,
    pub duplicates: u64,
    pub partitioned: u64,
    pub failed: u64,
    pub retries: u64,
}

impl Counts {
    const METRICS: [&'static str; 7] =
        ["Received", "Rejected", "Appended", "Duplicates", "Partitioned", "Failed", "AppendRetries"];

    fn values(&self) -> [u64; 7] {
        [self.received, self.rejected, self.appended, self.duplicates, self.partitioned, self.failed, self.retries]
    }

    /// The EMF document for these counts, stamped `timestamp_ms` (milliseconds since the Unix epoch).
    pub fn emf(&self, namespace: &str, function_name: &str, timestamp_ms: i64) -> Value {
        let mut document = json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [["FunctionName"]],
                    "Metrics": Self::METRICS.iter().map(|name| json!({"Name": name, "Unit": "Count"})).collect::<Vec<_>>(),
                }],
            },
            "FunctionName": function_name,
        });
        if let Some(fields) = document.as_object_mut() {
            for (name, value) in Self::METRICS.iter().zip(self.values()) {
                fields.insert((*name).to_owned(), value.into());
            }
        }
        document
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_names_every_metric_and_carries_its_value() {
        let counts =
            Counts { received: 10, rejected: 2, appended: 7, duplicates: 1, partitioned: 8, failed: 2, retries: 3 };
        let document = counts.emf("StreamingIngestion", "consumer", 1_764_000_000_000);
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "StreamingIngestion");
        assert_eq!(directive["Dimensions"], json!([["FunctionName"]]));
        let names: Vec<&str> =
            directive["Metrics"].as_array().expect("metrics").iter().filter_map(|m| m["Name"].as_str()).collect();
        assert_eq!(names, Counts::METRICS);
        for name in names {
            assert!(document[name].is_u64(), "{name}");
        }
        assert_eq!(document["AppendRetries"], 3);
        assert_eq!(document["FunctionName"], "consumer");
        assert_eq!(document["_aws"]["Timestamp"], 1_764_000_000_000_i64);
    }
}
