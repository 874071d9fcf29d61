//! `template.yaml` agrees with the consumer and the record: its environment, the Glue table's columns and
//! the partition layout the table's projection reads.

use chrono::NaiveDate;
use consumer::partition::object_key;
use consumer::settings::{
    BUCKET_NAME_ENV, DATA_KEY_ENV, DATA_ROLLOVER_BYTES_ENV, DEDUP_WINDOW_BYTES_ENV, DETAILED_METRICS_ENV,
    ERROR_PREFIX_ENV, MAX_RECORD_AGE_DAYS_ENV, METRICS_NAMESPACE_ENV, PARTITION_COMPRESSION_ENV, PARTITION_PREFIX_ENV,
    PARTITION_WRITE_CONCURRENCY_ENV,
};
use shared::record::FIELD_NAMES;
use shared::testing::{Value, environment, environment_names, template, text};

fn resource(template: &Value, name: &str) -> Value {
    template["Resources"][name].clone()
}

fn default(template: &Value, parameter: &str) -> Value {
    template["Parameters"][parameter]["Default"].clone()
}

fn number(value: &Value) -> u64 {
    value.as_u64().or_else(|| value.as_str().and_then(|text| text.parse().ok())).expect("a number")
}

#[test]
fn consumer_environment_names_only_variables_the_consumer_reads() {
    let template = template();
    let known = [
        BUCKET_NAME_ENV,
        DATA_KEY_ENV,
        PARTITION_PREFIX_ENV,
        PARTITION_COMPRESSION_ENV,
        PARTITION_WRITE_CONCURRENCY_ENV,
        MAX_RECORD_AGE_DAYS_ENV,
        DEDUP_WINDOW_BYTES_ENV,
        DATA_ROLLOVER_BYTES_ENV,
        ERROR_PREFIX_ENV,
        METRICS_NAMESPACE_ENV,
        DETAILED_METRICS_ENV,
    ];
    let names = environment_names(&template, "ConsumerFunction", &known);
    for required in [BUCKET_NAME_ENV, DATA_KEY_ENV, PARTITION_PREFIX_ENV, ERROR_PREFIX_ENV] {
        assert!(names.iter().any(|name| name == required), "the template does not set {required}");
    }
    let data_key = environment(&template, "ConsumerFunction")
        .iter()
        .find(|(name, _)| name == DATA_KEY_ENV)
        .map(|(_, value)| text(value));
    assert_eq!(data_key.as_deref(), Some("streaming_data.json"), "the seed's key");
}

#[test]
fn glue_columns_are_the_record_fields_with_matching_types() {
    let template = template();
    let columns =
        resource(&template, "LandingSessionsTable")["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]
            .as_sequence()
            .expect("columns")
            .clone();
    let names: Vec<String> = columns.iter().map(|column| text(&column["Name"])).collect();
    assert_eq!(names, FIELD_NAMES);

    let record: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/sqs-valid-batch.json")).expect("event JSON");
    let body: serde_json::Value =
        serde_json::from_str(record["Records"][0]["body"].as_str().expect("a body")).expect("a record");
    for column in &columns {
        let (name, glue_type) = (text(&column["Name"]), text(&column["Type"]));
        let value = &body[name.as_str()];
        let expected = match name.as_str() {
            // The Hive JSON SerDe reads `yyyy-MM-dd` dates and `yyyy-MM-dd HH:mm:ss[.f...]` timestamps.
            "birth_date" => "date",
            "accessed_at" => "timestamp",
            _ if value.is_u64() => "int",
            _ if value.is_string() => "string",
            _ => panic!("{name}: no Glue type for {value}"),
        };
        assert_eq!(glue_type, expected, "{name}");
    }
    let accessed_at = body["accessed_at"].as_str().expect("a timestamp");
    chrono::NaiveDateTime::parse_from_str(accessed_at, "%Y-%m-%d %H:%M:%S%.6f").expect("Hive's timestamp layout");
    // Every integer field fits Athena's 32-bit int.
    assert!(shared::record::MAX_CONSUMED_TRAFFIC < i32::MAX as u32);
}

#[test]
fn the_projection_reads_where_the_consumer_writes() {
    let template = template();
    let table = resource(&template, "LandingSessionsTable")["Properties"]["TableInput"].clone();
    let prefix = text(&default(&template, "PartitionPrefix"));
    let substitute = |template_text: String| {
        template_text
            .replace("${DataBucket}", "bucket")
            .replace("${PartitionPrefix}", &prefix)
            .replace("${!dt}", "2026-11-26")
    };
    let location = substitute(text(&table["Parameters"]["storage.location.template"]));
    let date = NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date");
    for gzip in [false, true] {
        let key = object_key(&prefix, date, ["message-1"].into_iter(), gzip);
        assert!(format!("s3://bucket/{key}").starts_with(&location), "{key} is not under {location}");
    }
    let table_location = substitute(text(&table["StorageDescriptor"]["Location"]));
    assert!(location.starts_with(&table_location));
    assert_eq!(text(&table["Parameters"]["projection.dt.format"]), "yyyy-MM-dd");
    assert_eq!(text(&table["PartitionKeys"][0]["Name"]), "dt");
    let consumer_prefix =
        text(&resource(&template, "ConsumerFunction")["Properties"]["Environment"]["Variables"]["PARTITION_PREFIX"]);
    assert_eq!(consumer_prefix, "PartitionPrefix", "the consumer writes under the parameter the table reads");
}

#[test]
fn the_queue_outlasts_six_consumer_timeouts_and_the_batching_window() {
    let template = template();
    let visibility = number(&default(&template, "QueueVisibilityTimeoutSeconds"));
    let timeout = number(&default(&template, "ConsumerTimeoutSeconds"));
    let window = number(&default(&template, "ConsumerBatchingWindowSeconds"));
    assert!(visibility >= 6 * timeout + window, "{visibility} < 6 x {timeout} + {window}");
    let batch = number(&default(&template, "ConsumerBatchSize"));
    assert!(batch <= 10 || window >= 1, "a batch above 10 needs a batching window");
    let mapping = resource(&template, "ConsumerFunction")["Properties"]["Events"]["Queue"]["Properties"].clone();
    assert_eq!(text(&mapping["FunctionResponseTypes"][0]), "ReportBatchItemFailures");
}

/// Lambda's limit on a synchronous invocation's payload, which the event source mapping's batch is.
const INVOCATION_PAYLOAD_BYTES: u64 = 6_000_000;
/// What the SQS event adds to each message besides its body: id, receipt handle, attributes, digest and
/// the queue's ARN (about 900 bytes seen), with room to spare.
const EVENT_BYTES_PER_MESSAGE: u64 = 1_536;
/// The event carries a body as a JSON string: a packed body's quotes (about 10% of a record) and any
/// accent escaped as `\uXXXX` grow it; a quarter is room to spare.
const ESCAPED_BODY_PERCENT: u64 = 125;

#[test]
fn a_full_batch_of_the_largest_messages_fits_one_invocation() {
    let template = template();
    let queue = resource(&template, "Queue")["Properties"].clone();
    let largest_body = number(&queue["MaximumMessageSize"]);
    let batch_parameter = &template["Parameters"]["ConsumerBatchSize"];
    for batch in [number(&batch_parameter["Default"]), number(&batch_parameter["MaxValue"])] {
        let payload = batch * (largest_body * ESCAPED_BODY_PERCENT / 100 + EVENT_BYTES_PER_MESSAGE);
        assert!(
            payload <= INVOCATION_PAYLOAD_BYTES,
            "{batch} messages of {largest_body} bytes make an event of {payload} bytes, above Lambda's 6 MB"
        );
    }
    let producer = environment(&template, "ProducerFunction");
    let pack_bytes = producer.iter().find(|(name, _)| name == "PACK_BYTES").map(|(_, value)| number(value));
    assert!(pack_bytes.is_some_and(|bytes| bytes <= largest_body), "the producer packs within the queue's limit");
}
