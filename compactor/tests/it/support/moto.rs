//! Buckets of its own on the local S3 emulator (moto, on loopback), a raw one to land in and a curated one
//! for the lake, with what a test lands and reads back from the curated table.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use compactor::compaction::rebuild::{RebuildError, RebuildReport, RebuildRequest};
use compactor::compaction::{self, Report, Run, RunError, Settings};
use compactor::curate::PersonalData;
use compactor::erasure::{self, ErasureError, ErasureReport};
use compactor::lake::layout::Layout;
use compactor::pseudonym::PseudonymKey;
use compactor::store::s3::S3Lake;
use compactor::store::{LakeStore, Stores};
use compactor::table::reader::{for_each_batch, for_each_unique_id};
use rand::SeedableRng;
use rand::rngs::StdRng;
use shared::UserSession;
use shared::array::{FIRST_DAY_METADATA, LAST_DAY_METADATA};

use crate::support::faults::FaultyLake;

pub(crate) struct MotoLake {
    pub client: Client,
    pub layout: Layout,
    pub raw_bucket: String,
    pub stores: Stores<S3Lake>,
}

impl MotoLake {
    pub(crate) async fn new() -> Self {
        shared::testing::loopback_endpoint();
        let client = shared::aws::s3_client(&shared::aws::load_sdk_config().await);
        let raw_bucket = shared::testing::s3_bucket(&client, "compactor-raw").await;
        let curated_bucket = shared::testing::s3_bucket(&client, "compactor-curated").await;
        let layout = Layout {
            curated_bucket: curated_bucket.clone(),
            landing_prefix: "landing/".into(),
            curated_prefix: "curated/".into(),
            array_key: "streaming_data.json".into(),
            errors_prefix: "errors/".into(),
        };
        let stores = Stores {
            landing: S3Lake::new(client.clone(), &raw_bucket),
            lake: S3Lake::new(client.clone(), curated_bucket),
        };
        Self { client, layout, raw_bucket, stores }
    }

    /// Both buckets through one fault plan, as one run sees them.
    pub(crate) fn faulty(&self, plan: impl FnOnce(S3Lake) -> FaultyLake<S3Lake>) -> Stores<FaultyLake<S3Lake>> {
        let lake = plan(self.stores.lake.clone());
        Stores { landing: lake.beside(self.stores.landing.clone()), lake }
    }

    /// Lands `records` as one NDJSON object `name` of the date `day` (`YYYY-MM-DD`).
    pub(crate) async fn land(&self, day: &str, name: &str, records: &[UserSession]) {
        let text: String = records.iter().map(|record| record.to_json().expect("encodes") + "\n").collect();
        self.client
            .put_object()
            .bucket(&self.raw_bucket)
            .key(format!("landing/dt={day}/{name}.ndjson"))
            .body(ByteStream::from(text.into_bytes()))
            .send()
            .await
            .expect("landed");
    }

    /// Writes `records` as the consumer's array does, at `key` of the raw bucket, with the days it says it
    /// holds (`None`: an array written before arrays said).
    pub(crate) async fn put_array(&self, key: &str, records: &[UserSession], days: Option<(&str, &str)>) {
        let lines: Vec<String> = records.iter().map(|record| record.to_json().expect("encodes")).collect();
        let mut put = self
            .client
            .put_object()
            .bucket(&self.raw_bucket)
            .key(key)
            .body(ByteStream::from(format!("[\n{}\n]\n", lines.join(",\n")).into_bytes()));
        if let Some((first, last)) = days {
            put = put.metadata(FIRST_DAY_METADATA, first).metadata(LAST_DAY_METADATA, last);
        }
        put.send().await.expect("written");
    }

    /// Starts the rebuild `asked` for, or goes on with the one under way, through `stores`, pseudonymised.
    pub(crate) async fn rebuild<S: LakeStore>(
        &self,
        stores: &Stores<S>,
        asked: Option<RebuildRequest>,
    ) -> Result<Option<RebuildReport>, RebuildError> {
        let personal = PersonalData::Pseudonymised(key());
        let settings = settings();
        compaction::rebuild(stores, &self.run_of(&settings, &personal), asked).await
    }

    /// One run as the handler makes it, pseudonymised: the erasure requests with all the time they want, the
    /// compaction leaving erased persons out, the sweep of what arrived since.
    pub(crate) async fn erase<S: LakeStore>(&self, stores: &Stores<S>) -> Result<ErasureReport, ErasureError> {
        let personal = PersonalData::Pseudonymised(key());
        let settings = settings();
        let run = self.run_of(&settings, &personal);
        let mut report = erasure::take_requests(stores, &run, run.stop_at).await?;
        // A compaction that fails (faults) leaves its partitions to the next run, as in production.
        let _ = compaction::compact(stores, &run).await;
        erasure::sweep(stores, &run, run.stop_at, &mut report).await?;
        Ok(report)
    }

    /// Puts the erasure request `name` with `body`.
    pub(crate) async fn request_erasure(&self, name: &str, body: &str) {
        let key = format!("{}{name}", compactor::erasure::ledger::REQUESTS_PREFIX);
        self.stores.landing.put(&key, body.to_owned().into(), compactor::store::Condition::Always).await.expect("put");
    }

    /// The raw bucket's object `key`, if there is one.
    pub(crate) async fn raw_object(&self, key: &str) -> Option<Vec<u8>> {
        self.stores.landing.get(key).await.expect("read").map(|fetched| fetched.body.to_vec())
    }

    /// Deletes every object of the curated lake, as an operator starting it again would.
    pub(crate) async fn delete_curated(&self) {
        for key in self.curated_keys().await {
            self.stores.lake.delete(&key).await.expect("deleted");
        }
    }

    /// A run over these buckets through `stores`, pseudonymised.
    pub(crate) async fn run<S: LakeStore>(&self, stores: &Stores<S>, settings: &Settings) -> Result<Report, RunError> {
        let personal = PersonalData::Pseudonymised(key());
        compaction::compact(stores, &self.run_of(settings, &personal)).await
    }

    /// A run of these buckets now, with two minutes to spare and no one erased.
    fn run_of<'a>(&'a self, settings: &'a Settings, personal: &'a PersonalData) -> Run<'a> {
        Run {
            layout: &self.layout,
            settings,
            personal,
            now: Utc::now(),
            stop_at: Instant::now() + Duration::from_secs(120),
            take_until: Instant::now() + Duration::from_secs(120),
        }
    }

    /// The data files the manifests list, with their sizes.
    pub(crate) async fn listed_files(&self) -> Vec<(String, u64)> {
        let prefix = format!("{}tables/", self.layout.curated_prefix);
        let mut files = Vec::new();
        let lake = &self.stores.lake;
        for manifest in lake.list(&prefix).await.expect("listed") {
            let body = lake.get(&manifest.key).await.expect("read").expect("a manifest").body;
            for line in std::str::from_utf8(&body).expect("text").lines() {
                let uri_prefix = format!("s3://{}/", self.layout.curated_bucket);
                let key = line.strip_prefix(&uri_prefix).expect("a URI of the curated bucket").to_owned();
                let size = lake.list(&key).await.expect("listed").first().expect("a listed file exists").size;
                files.push((key, size));
            }
        }
        files
    }

    /// How many times each `unique_id` is in the table readers see.
    pub(crate) async fn table(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for (key, size) in self.listed_files().await {
            for_each_unique_id(&self.stores.lake, &key, size, |id| *counts.entry(id.to_owned()).or_default() += 1)
                .await
                .expect("a data file");
        }
        counts
    }

    /// Every key of the raw bucket.
    pub(crate) async fn raw_keys(&self) -> Vec<String> {
        self.stores.landing.list("").await.expect("listed").into_iter().map(|object| object.key).collect()
    }

    /// Every key of the curated bucket.
    pub(crate) async fn curated_keys(&self) -> Vec<String> {
        self.stores.lake.list("").await.expect("listed").into_iter().map(|object| object.key).collect()
    }

    /// Every string value of every data file under the curated prefix, one a line.
    pub(crate) async fn curated_text(&self) -> String {
        let mut text = String::new();
        let lake = &self.stores.lake;
        for object in lake.list(&format!("{}data/", self.layout.curated_prefix)).await.expect("listed") {
            for_each_batch(lake, &object.key, object.size, |batch| {
                for column in batch.columns() {
                    if let Some(strings) = column.as_string_opt::<i32>() {
                        strings.iter().flatten().for_each(|value| {
                            text.push_str(value);
                            text.push('\n');
                        });
                    }
                }
                Ok(())
            })
            .await
            .expect("a data file");
        }
        text
    }
}

/// The `unique_id` the curated table holds `record` under.
pub(crate) fn row_id(record: &UserSession) -> String {
    compactor::curate::row_id(record, &PersonalData::Pseudonymised(key()))
}

pub(crate) fn key() -> PseudonymKey {
    PseudonymKey::new(1, b"a test key of thirty-two bytes..").expect("a valid key")
}

/// `count` generated records accessed on the day of `at`.
pub(crate) fn records(seed: u64, count: usize, at: &str) -> Vec<UserSession> {
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339(at).expect("valid").to_utc();
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count).map(|_| producer::generator::user_session(&mut rng, now)).collect()
}

/// Settings that take every landed object at once, in small commits, so a run makes many writes.
pub(crate) fn settings() -> Settings {
    Settings { grace: Duration::ZERO, input_bytes_per_commit: 16 * 1024, ..Settings::default() }
}
