//! The producer binary: the Lambda function under the Lambda runtime, a command-line tool elsewhere.

use std::process::ExitCode;

use lambda_runtime::service_fn;
use producer::lambda::handler::{Producer, handle};
use producer::lambda::settings::Settings;
use producer::publish::sqs::SqsQueue;

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    // Logs go to standard error, so `producer generate` keeps standard output for records.
    shared::logging::init()?;
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return producer::cli::main().await;
    }
    let settings = Settings::from_env()?;
    let config = shared::aws::load_sdk_config().await;
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&config), settings.queue_url.clone());
    let producer = Producer { queue, settings };
    lambda_runtime::run(service_fn(|event| handle(&producer, event))).await.map_err(|error| anyhow::anyhow!(error))?;
    Ok(ExitCode::SUCCESS)
}
