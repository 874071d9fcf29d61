//! Test support (feature `testing`): the local AWS emulator's endpoint, refusing anything but loopback.

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
