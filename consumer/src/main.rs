//! The consumer Lambda (SQS to S3) is the pipeline's next milestone; until it lands this binary only
//! holds the crate's place in the workspace and refuses to run.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("consumer: not implemented yet; see the project's README");
    ExitCode::FAILURE
}
