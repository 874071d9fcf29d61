//! Test support (feature `testing`): the local AWS emulator's endpoint, refusing anything but loopback, and the SAM
//! template, for tests that check it agrees with the code.

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
