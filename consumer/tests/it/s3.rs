//! The consumer against a real S3 endpoint on loopback (moto, started by `scripts/test`). Each test
//! has a bucket of its own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{array_ids, event, invocation};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_sdk_s3::primitives::ByteStream;
use chrono::NaiveDate;

use consumer::append::{AppendError, AppendOptions, Line, append, new_array, segment_key};
use consumer::handler::{Consumer, handle};
use consumer::ingest::Outputs;
use consumer::partition::PartitionOptions;
use consumer::store::s3::S3Store;
use shared::UserSession;
use uuid::Uuid;

const KEY: &str = "streaming_data.json";

/// One request as it left the client.
#[derive(Debug, Clone)]
struct Sent {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body_bytes: u64,
}

/// Records every request the client sends, so a test can check what was sent rather than what the
/// emulator did with it.
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Sent>>>);

impl Recorder {
    fn sent(&self) -> Vec<Sent> {
        self.0.lock().map(|sent| sent.clone()).unwrap_or_default()
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let sent = Sent {
            method: request.method().to_owned(),
            uri: request.uri().to_owned(),
            headers: request.headers().iter().map(|(name, value)| (name.to_lowercase(), value.to_owned())).collect(),
            body_bytes: request.body().content_length().unwrap_or(0),
        };
        self.0.lock().map_err(|_| "recorder poisoned")?.push(sent);
        Ok(())
    }
}

async fn client(recorder: Option<Recorder>) -> Client {
    shared::testing::loopback_endpoint();
    let client = shared::aws::s3_client(&shared::aws::load_sdk_config().await);
    match recorder {
        Some(recorder) => Client::from_conf(client.config().to_builder().interceptor(recorder).build()),
        None => client,
    }
}

async fn object(client: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let output = client.get_object().bucket(bucket).key(key).send().await.expect("object exists");
    output.body.collect().await.expect("body").into_bytes().to_vec()
}

fn later() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(60)
}

fn rng() -> rand::rngs::StdRng {
    rand::SeedableRng::seed_from_u64(3)
}

fn options() -> AppendOptions {
    AppendOptions {
        key: KEY.into(),
        dedup_window_bytes: 64 * 1024,
        redelivery_window_bytes: 64 * 1024,
        rollover_bytes: None,
    }
}

fn records(count: usize, pad: usize) -> Vec<(Uuid, Vec<u8>)> {
    (0..count)
        .map(|n| {
            let id = Uuid::new_v4();
            (id, format!(r#"{{"n":{n},"pad":"{}","unique_id":"{id}"}}"#, "x".repeat(pad)).into_bytes())
        })
        .collect()
}

fn lines(records: &[(Uuid, Vec<u8>)]) -> Vec<Line<'_>> {
    lines_on(records, day(1))
}

/// The records as lines accessed on `on`.
fn lines_on(records: &[(Uuid, Vec<u8>)], on: NaiveDate) -> Vec<Line<'_>> {
    records
        .iter()
        .map(|(unique_id, json)| Line { unique_id: *unique_id, json, delivered_before: false, accessed_on: on })
        .collect()
}

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, n).expect("a day in March")
}

#[tokio::test]
async fn batches_land_in_the_array_and_in_readable_partitions() {
    let client = client(None).await;
    let bucket = shared::testing::s3_bucket(&client, "consumer-test").await;
    let consumer = Consumer {
        store: S3Store::new(client.clone(), &bucket),
        outputs: Outputs {
            append: Some(options()),
            partition: Some(PartitionOptions {
                prefix: "user_sessions/".into(),
                gzip: false,
                concurrency: consumer::partition::DEFAULT_CONCURRENCY,
            }),
            errors: None,
        },
        window: consumer::decode::RecordWindow::default(),
        metrics_namespace: "StreamingIngestion".into(),
        metrics: consumer::telemetry::MetricSet::Basic,
        function_name: "consumer".into(),
        deadline_margin: Duration::from_secs(2),
    };

    for name in ["sqs-valid-batch.json", "sqs-mixed-batch.json", "sqs-valid-batch.json"] {
        handle(&consumer, invocation(event(name), Duration::from_secs(60))).await.expect("handled");
    }

    let ids = array_ids(&object(&client, &bucket, KEY).await);
    assert_eq!(ids.len(), 8, "5 valid + 3 valid of the mixed batch, the redelivery adding none");
    let listed = client.list_objects_v2().bucket(&bucket).prefix("user_sessions/dt=").send().await.expect("listed");
    let mut lines = 0;
    for entry in listed.contents() {
        let key = entry.key().expect("key");
        for line in object(&client, &bucket, key).await.split(|byte| *byte == b'\n').filter(|line| !line.is_empty()) {
            UserSession::from_json(line).expect("each line is a valid record");
            lines += 1;
        }
    }
    assert_eq!(lines, 8, "the redelivered batch overwrote its own partition object");
}

#[tokio::test]
async fn objects_from_five_mebibytes_are_composed_sending_only_the_new_bytes() {
    let recorder = Recorder::default();
    let client = client(Some(recorder.clone())).await;
    let bucket = shared::testing::s3_bucket(&client, "consumer-test").await;
    let existing = records(11_000, 480);
    let body = new_array(existing.iter().map(|(_, json)| json.as_slice()));
    assert!(body.len() > 5 << 20);
    let put = client.put_object().bucket(&bucket).key(KEY).body(ByteStream::from(body)).send().await.expect("put");
    let etag = put.e_tag().expect("etag").to_owned();
    let before = recorder.sent().len();

    let batch = records(20, 480);
    let appended = append(&S3Store::new(client.clone(), &bucket), &options(), &lines(&batch), later(), &mut rng())
        .await
        .expect("appends");

    assert!(appended.composed);
    let sent = &recorder.sent()[before..];
    let bytes_sent: u64 = sent.iter().map(|request| request.body_bytes).sum();
    let appended_bytes: u64 = batch.iter().map(|(_, json)| json.len() as u64 + 2).sum();
    assert!(bytes_sent < appended_bytes + 4096, "sent {bytes_sent} bytes to append {appended_bytes}");
    let header = |request: &Sent, name: &str| {
        request.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone())
    };
    let complete = sent
        .iter()
        .find(|request| {
            request.method == "POST" && request.uri.contains("uploadId=") && !request.uri.contains("partNumber")
        })
        .expect("a CompleteMultipartUpload request");
    assert_eq!(header(complete, "if-match"), Some(etag.clone()), "the completion is guarded by the ETag read");
    let copy = sent.iter().find(|request| header(request, "x-amz-copy-source").is_some()).expect("an UploadPartCopy");
    assert_eq!(header(copy, "x-amz-copy-source-if-match"), Some(etag));
    let ids = array_ids(&object(&client, &bucket, KEY).await);
    assert_eq!(ids.len(), 11_020);
    assert_eq!(ids[11_000..], batch.iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>()[..]);
}

#[tokio::test]
async fn concurrent_consumers_lose_no_record() {
    let client = client(None).await;
    let bucket = shared::testing::s3_bucket(&client, "consumer-test").await;
    let batches: Vec<_> = (0..24).map(|_| records(10, 100)).collect();
    let writers = batches.chunks(3).map(|chunk| {
        let store = S3Store::new(client.clone(), &bucket);
        let chunk = chunk.to_vec();
        tokio::spawn(async move {
            let mut retries = 0;
            for batch in &chunk {
                retries +=
                    append(&store, &options(), &lines(batch), later(), &mut rng()).await.expect("appends").retries;
            }
            retries
        })
    });
    let writers: Vec<_> = writers.collect();
    assert_eq!(writers.len(), 8);
    for writer in writers {
        writer.await.expect("writer finished");
    }
    let mut stored = array_ids(&object(&client, &bucket, KEY).await);
    stored.sort();
    let mut expected: Vec<String> = batches.iter().flatten().map(|(id, _)| id.to_string()).collect();
    expected.sort();
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn an_empty_object_is_reported_and_left_alone() {
    let client = client(None).await;
    let bucket = shared::testing::s3_bucket(&client, "consumer-test").await;
    client.put_object().bucket(&bucket).key(KEY).body(ByteStream::from_static(b"")).send().await.expect("put");
    let error =
        append(&S3Store::new(client.clone(), &bucket), &options(), &lines(&records(1, 10)), later(), &mut rng())
            .await
            .expect_err("empty");
    assert!(matches!(error, AppendError::Corrupt { .. }), "{error}");
    assert!(object(&client, &bucket, KEY).await.is_empty());
}

#[tokio::test]
async fn concurrent_composes_above_five_mebibytes_lose_no_record() {
    let client = client(None).await;
    let bucket = shared::testing::s3_bucket(&client, "consumer-test").await;
    let existing = records(11_000, 480);
    let body = new_array(existing.iter().map(|(_, json)| json.as_slice()));
    client.put_object().bucket(&bucket).key(KEY).body(ByteStream::from(body)).send().await.expect("put");
    let batches: Vec<_> = (0..16).map(|_| records(10, 100)).collect();
    let writers: Vec<_> = batches
        .chunks(2)
        .map(|chunk| {
            let store = S3Store::new(client.clone(), &bucket);
            let chunk = chunk.to_vec();
            tokio::spawn(async move {
                for batch in &chunk {
                    let appended =
                        append(&store, &options(), &lines(batch), later(), &mut rng()).await.expect("appends");
                    assert!(appended.composed);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer finished");
    }
    let stored = array_ids(&object(&client, &bucket, KEY).await);
    assert_eq!(stored[..11_000], existing.iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>()[..]);
    let mut added = stored[11_000..].to_vec();
    added.sort();
    let mut expected: Vec<String> = batches.iter().flatten().map(|(id, _)| id.to_string()).collect();
    expected.sort();
    assert_eq!(added, expected);
}

#[tokio::test]
async fn a_full_array_rolls_over_into_numbered_segments() {
    let client = client(None).await;
    let bucket = shared::testing::s3_bucket(&client, "consumer-test").await;
    let store = S3Store::new(client.clone(), &bucket);
    let options = AppendOptions { rollover_bytes: Some(8 * 1024), ..options() };
    let batches: Vec<_> = (0..10).map(|_| records(10, 100)).collect();
    // Batch n is accessed on day 10 - n: each segment holds a range of days, written backwards.
    let on = |n: usize| day(10 - u32::try_from(n).expect("ten batches"));
    for (n, batch) in batches.iter().enumerate() {
        append(&store, &options, &lines_on(batch, on(n)), later(), &mut rng()).await.expect("appends");
    }
    let day_of: std::collections::HashMap<String, NaiveDate> = batches
        .iter()
        .enumerate()
        .flat_map(|(n, batch)| batch.iter().map(move |(id, _)| (id.to_string(), on(n))))
        .collect();
    let mut history = Vec::new();
    for number in 1.. {
        let key = segment_key(KEY, number);
        let Ok(output) = client.get_object().bucket(&bucket).key(&key).send().await else { break };
        let metadata = output.metadata().cloned().unwrap_or_default();
        let carried = |name: &str| metadata.get(name).map(|text| text.parse::<NaiveDate>().expect("YYYY-MM-DD"));
        let ids = array_ids(&output.body.collect().await.expect("body").into_bytes());
        let held: Vec<NaiveDate> = ids.iter().map(|id| day_of[id]).collect();
        let (first, last) = (held.iter().min().copied(), held.iter().max().copied());
        assert_eq!((carried("first-day"), carried("last-day")), (first, last), "{key}: {metadata:?}");
        history.extend(ids);
    }
    assert!(history.len() >= 40, "{} records sealed", history.len());
    history.extend(array_ids(&object(&client, &bucket, KEY).await));
    let expected: Vec<String> = batches.iter().flatten().map(|(id, _)| id.to_string()).collect();
    assert_eq!(history, expected);
}
