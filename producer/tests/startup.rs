//! Under the Lambda runtime the binary reads its environment before it takes an invocation, and a bad
//! one stops it at once with a message that names the variable.

use std::process::Command;

fn start(vars: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_producer"))
        .env_clear()
        // Loopback, and never reached: the environment is refused first.
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .envs(vars.iter().copied())
        .output()
        .expect("the producer runs");
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_bad_environment_stops_the_function_at_start_naming_the_variable() {
    let queue = ("QUEUE_URL", "http://127.0.0.1:9/000000000000/queue");
    for (vars, named) in [
        (&[][..], "QUEUE_URL is not set"),
        (&[("QUEUE_URL", "queue")][..], "QUEUE_URL = \"queue\""),
        (&[queue, ("BURST_COUNT", "0")][..], "BURST_COUNT"),
        (&[queue, ("PRODUCER_MODE", "flood")][..], "PRODUCER_MODE = \"flood\""),
        (&[queue, ("DEADLINE_MARGIN_MS", "soon")][..], "DEADLINE_MARGIN_MS = \"soon\""),
    ] {
        let (succeeded, stderr) = start(vars);
        assert!(!succeeded, "{vars:?} started");
        assert!(stderr.contains(named), "{vars:?}: {stderr}");
    }
}
