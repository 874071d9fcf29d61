//! Test support (feature `testing`): the local AWS emulator's endpoint, refusing anything but loopback, the SAM
//! template, for tests that check it agrees with the code, and a function binary started as Lambda starts it.
// Test support fails the test that called it, with the reason.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

pub use serde_yaml_ng::Value;

/// `AWS_ENDPOINT_URL`, which `scripts/test` points at moto; panics unless it is on loopback, so no
/// test ever reaches a real AWS endpoint.
pub fn loopback_endpoint() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .unwrap_or_else(|_| panic!("AWS_ENDPOINT_URL is not set: run the integration tests with scripts/test"));
    let authority = endpoint.split("://").nth(1).unwrap_or_default().split('/').next().unwrap_or_default();
    let host = if authority.starts_with('[') {
        authority.split(']').next().map(|host| format!("{host}]")).unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default().to_owned()
    };
    assert!(
        host.starts_with("127.") || host == "localhost" || host == "[::1]",
        "AWS_ENDPOINT_URL={endpoint} is not on loopback; tests only talk to a local emulator"
    );
    endpoint
}

/// The SAM template at the repository's root, parsed; CloudFormation's short tags (`!Ref`, `!Sub`)
/// stay as tagged values.
pub fn template() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A plain string in the template, or the string inside a `!Sub`.
pub fn text(value: &Value) -> String {
    match value {
        serde_yaml_ng::Value::String(text) => text.clone(),
        serde_yaml_ng::Value::Tagged(tagged) => text(&tagged.value),
        other => panic!("expected a string in the template, found {other:?}"),
    }
}

/// The environment variables the template sets for a function, and their values.
pub fn environment(template: &Value, function: &str) -> Vec<(String, Value)> {
    let variables = &template["Resources"][function]["Properties"]["Environment"]["Variables"];
    let variables = variables.as_mapping().unwrap_or_else(|| panic!("{function} sets no environment"));
    variables.iter().map(|(name, value)| (text(name), value.clone())).collect()
}

/// Starts a function's binary as the Lambda runtime would, with only `vars` for its environment, and
/// returns whether it succeeded and what it wrote to standard error. The Runtime API address is on
/// loopback and never reached by the tests that use this: they check the environment is refused first.
pub fn start_function(binary: &str, vars: &[(&str, &str)]) -> (bool, String) {
    let output = std::process::Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .envs(vars.iter().copied())
        .output()
        .unwrap_or_else(|error| panic!("{binary} does not run: {error}"));
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Checks that `binary`, started with each case's environment, stops at once with a message that names
/// the case's variable.
pub fn assert_bad_environments_stop(binary: &str, cases: &[(&[(&str, &str)], &str)]) {
    for (vars, named) in cases {
        let (succeeded, stderr) = start_function(binary, vars);
        assert!(!succeeded, "{vars:?} started");
        assert!(stderr.contains(named), "{vars:?}: {stderr}");
    }
}

/// The names of the variables the template sets for `function`, each checked to be one of `known`, the
/// variables the function reads.
pub fn environment_names(template: &Value, function: &str, known: &[&str]) -> Vec<String> {
    let names: Vec<String> = environment(template, function).into_iter().map(|(name, _)| name).collect();
    for name in &names {
        assert!(known.contains(&name.as_str()), "the template sets {name}, which {function} does not read");
    }
    names
}

/// A new bucket on the loopback endpoint, named `{prefix}-{random}`, in the client's region, so each
/// test writes to a bucket of its own.
#[cfg(feature = "s3")]
pub async fn s3_bucket(client: &aws_sdk_s3::Client, prefix: &str) -> String {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let bucket = format!("{prefix}-{}", uuid::Uuid::new_v4().simple());
    let region = client.config().region().map(ToString::to_string).unwrap_or_default();
    let location = CreateBucketConfiguration::builder()
        .location_constraint(BucketLocationConstraint::from(region.as_str()))
        .build();
    client.create_bucket().bucket(&bucket).create_bucket_configuration(location).send().await.expect("bucket created");
    bucket
}
