//! One place that loads the AWS SDK configuration, so both functions honour the same environment.

pub use aws_config::SdkConfig;

use aws_config::BehaviorVersion;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Loads the SDK configuration from the standard AWS environment (region, credentials and
/// `AWS_ENDPOINT_URL`, which points the clients at a local emulator in tests).
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// A one-line account of an SDK error: the service's error code and message when the service answered,
/// the whole chain of causes when it did not (timeouts, connection failures).
pub fn describe_error<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::ServiceError(service) => format!(
            "{}: {}",
            service.err().code().unwrap_or("unknown error"),
            service.err().message().unwrap_or("no message")
        ),
        other => DisplayErrorContext(other).to_string(),
    }
}

/// An S3 client for `config`. A custom endpoint (`AWS_ENDPOINT_URL`, a local emulator) gets path-style
/// addressing, since `BUCKET.127.0.0.1` resolves nowhere.
#[cfg(feature = "s3")]
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = config.endpoint_url().is_some();
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(path_style).build())
}
