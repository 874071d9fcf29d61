//! Under the Lambda runtime the binary reads its environment before it takes an invocation, and a bad
//! one stops it at once with a message that names the variable.

use shared::testing::assert_bad_environments_stop;

#[test]
fn a_bad_environment_stops_the_function_at_start_naming_the_variable() {
    let queue = ("QUEUE_URL", "http://127.0.0.1:9/000000000000/queue");
    assert_bad_environments_stop(
        env!("CARGO_BIN_EXE_producer"),
        &[
            (&[], "QUEUE_URL is not set"),
            (&[("QUEUE_URL", "queue")], "QUEUE_URL = \"queue\""),
            (&[queue, ("BURST_COUNT", "0")], "BURST_COUNT"),
            (&[queue, ("PRODUCER_MODE", "flood")], "PRODUCER_MODE = \"flood\""),
            (&[queue, ("DEADLINE_MARGIN_MS", "soon")], "DEADLINE_MARGIN_MS = \"soon\""),
        ],
    );
}
