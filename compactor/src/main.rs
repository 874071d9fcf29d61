//! The compactor Lambda's entry point: settings, the pseudonym key (read once per container), the S3
//! client for both buckets, and the runtime.

use compactor::curate::PersonalData;
use compactor::handler::{Compactor, handle};
use compactor::key::{self, SecretsManager};
use compactor::settings::{PersonalDataSetting, Settings};
use compactor::store::Stores;
use compactor::store::s3::S3Lake;
use lambda_runtime::service_fn;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::logging::init()?;
    let settings = Settings::from_env()?;
    let config = shared::aws::load_sdk_config().await;
    let personal = match &settings.personal {
        PersonalDataSetting::Raw => PersonalData::Raw,
        PersonalDataSetting::Pseudonymised { secret_id } => {
            PersonalData::Pseudonymised(key::load(&SecretsManager::new(&config), secret_id).await?)
        }
    };
    let s3 = shared::aws::s3_client(&config);
    let compactor = Compactor {
        stores: Stores {
            landing: S3Lake::new(s3.clone(), settings.landing_bucket),
            lake: S3Lake::new(s3, settings.layout.curated_bucket.clone()),
        },
        layout: settings.layout,
        settings: settings.compaction,
        personal,
    };
    lambda_runtime::run(service_fn(|event| Box::pin(handle(&compactor, event))))
        .await
        .map_err(|error| anyhow::anyhow!(error))
}
