//! One place that loads the AWS SDK configuration, so both functions honour the same environment.

pub use aws_config::SdkConfig;

use aws_config::BehaviorVersion;

/// Loads the SDK configuration from the standard AWS environment (region, credentials and
/// `AWS_ENDPOINT_URL`, which points the clients at a local emulator in tests).
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}
