//! The binary reads its environment before it takes an invocation, and a bad one stops it at once with a
//! message that names the variable.

use shared::testing::assert_bad_environments_stop;

#[test]
fn a_bad_environment_stops_the_function_at_start_naming_the_variable() {
    let bucket = ("BUCKET_NAME", "lake");
    let landing = ("PARTITION_PREFIX", "landing/");
    assert_bad_environments_stop(
        env!("CARGO_BIN_EXE_compactor"),
        &[
            (&[], "BUCKET_NAME is not set"),
            (&[bucket, landing, ("CURATED_PREFIX", "landing/curated/")], "CURATED_PREFIX"),
            (&[bucket, landing, ("CURATED_FILE_MIB", "0")], "CURATED_FILE_MIB"),
            (&[bucket, landing, ("LAKE_PERSONAL_DATA", "plain")], "LAKE_PERSONAL_DATA = \"plain\""),
            (&[bucket, landing], "PSEUDONYM_SECRET_ARN is not set"),
        ],
    );
}
