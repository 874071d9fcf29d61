//! The consumer Lambda's entry point: settings, the S3 client, and the runtime.

use consumer::handler::{Consumer, handle};
use consumer::settings::Settings;
use consumer::store::s3::S3Store;
use lambda_runtime::service_fn;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::logging::init()?;
    let settings = Settings::from_env()?;
    let config = shared::aws::load_sdk_config().await;
    let consumer = Consumer {
        store: S3Store::new(shared::aws::s3_client(&config), settings.bucket),
        outputs: settings.outputs,
        window: settings.window,
        metrics_namespace: settings.metrics_namespace,
        metrics: settings.metrics,
        function_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "consumer".into()),
        deadline_margin: settings.deadline_margin,
    };
    // Boxed: the handler's future nested in the runtime's is too deep for the compiler's layout query.
    lambda_runtime::run(service_fn(|event| Box::pin(handle(&consumer, event))))
        .await
        .map_err(|error| anyhow::anyhow!(error))
}
