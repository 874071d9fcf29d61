//! The binary reads its environment before it takes an invocation, and a bad one stops it at once with a
//! message that names the variable.

use shared::testing::assert_bad_environments_stop;

#[test]
fn a_bad_environment_stops_the_function_at_start_naming_the_variable() {
    let bucket = ("BUCKET_NAME", "lake");
    assert_bad_environments_stop(
        env!("CARGO_BIN_EXE_consumer"),
        &[
            (&[], "BUCKET_NAME is not set"),
            (&[("BUCKET_NAME", "Data_Lake")], "BUCKET_NAME = \"Data_Lake\""),
            (&[bucket, ("PARTITION_PREFIX", "p/"), ("PARTITION_COMPRESSION", "zstd")], "PARTITION_COMPRESSION"),
            (&[bucket, ("DATA_ROLLOVER_BYTES", "-1")], "DATA_ROLLOVER_BYTES"),
            (&[bucket, ("DEADLINE_MARGIN_MS", "61000")], "DEADLINE_MARGIN_MS"),
        ],
    );
}
