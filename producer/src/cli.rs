//! The producer as a command-line tool, for runs outside Lambda: write records as NDJSON, or send them.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use clap::builder::NonEmptyStringValueParser;
use clap::{Parser, Subcommand};
use rand::rngs::StdRng;
use shared::seed;
use tokio::time::Instant;

use crate::generator::user_session;
use crate::plan::{CONCURRENCY, Mode, PACK_BYTES, PACK_RECORDS, RunOptions};
use crate::publish::delivery::RetryPolicy;
use crate::publish::sqs::SqsQueue;
use crate::run::{RunContext, retry_rng, run};

/// Synthetic Romanian user-session records (the seed assignment's schema), generated or sent to SQS.
///
/// Run by Lambda (AWS_LAMBDA_RUNTIME_API set) the same binary is the producer function instead.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write records to standard output, one JSON object per line (NDJSON).
    Generate {
        /// How many records.
        #[arg(long, short = 'n')]
        count: u64,
        /// Seeds the random generator: the same seed gives the same records but for accessed_at.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Send records to an SQS queue, packed and batched as the Lambda's burst mode does, and print a
    /// summary as JSON. The standard AWS environment (AWS_REGION, credentials, AWS_ENDPOINT_URL for a
    /// local emulator) chooses the endpoint. Exits with 1 if any record failed.
    Send {
        /// How many records.
        #[arg(long, short = 'n')]
        count: u64,
        /// The queue's URL.
        #[arg(long, env = "QUEUE_URL", value_parser = NonEmptyStringValueParser::new())]
        queue_url: String,
        /// Seeds the random generator.
        #[arg(long)]
        seed: Option<u64>,
        /// SendMessageBatch calls in flight at once.
        #[arg(long, default_value_t = CONCURRENCY.default)]
        concurrency: u64,
        /// Records packed into one message, one a line (1 sends each record alone).
        #[arg(long, default_value_t = PACK_RECORDS.default)]
        pack_records: u64,
        /// The largest message body in bytes.
        #[arg(long, default_value_t = PACK_BYTES.default)]
        pack_bytes: u64,
    },
}

/// Parses the command line and runs it.
pub async fn main() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Generate { count, seed } => generate(count, seed::rng(seed)),
        Command::Send { count, queue_url, seed, concurrency, pack_records, pack_bytes } => {
            let options = RunOptions {
                mode: Some(Mode::Burst),
                count: Some(count),
                concurrency: Some(concurrency),
                pack_records: Some(pack_records),
                pack_bytes: Some(pack_bytes),
                seed,
                ..Default::default()
            };
            send(&options, queue_url).await
        }
    }
}

fn generate(count: u64, mut rng: StdRng) -> anyhow::Result<ExitCode> {
    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let mut line = Vec::with_capacity(1024);
    for _ in 0..count {
        line.clear();
        user_session(&mut rng, Utc::now()).write_json(&mut line)?;
        line.push(b'\n');
        if let Err(error) = out.write_all(&line) {
            return finish_early(error);
        }
    }
    match out.flush() {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(error) => finish_early(error),
    }
}

/// A reader that stops early (`producer generate | head`) is no failure.
fn finish_early(error: io::Error) -> anyhow::Result<ExitCode> {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(error).context("cannot write to standard output")
    }
}

async fn send(options: &RunOptions, queue_url: String) -> anyhow::Result<ExitCode> {
    let plan = options.plan()?;
    let config = shared::aws::load_sdk_config().await;
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&config), queue_url);
    let context = RunContext {
        queue: &queue,
        rng: &mut seed::rng(plan.seed),
        retry_rng: retry_rng(plan.seed),
        clock: Utc::now,
        policy: &RetryPolicy::default(),
        // A command line has no deadline; a day stands for none.
        deadline: Instant::now() + Duration::from_secs(24 * 3600),
    };
    let summary = run(&plan, context).await?;
    println!("{}", serde_json::to_string(&summary)?);
    Ok(if summary.is_complete() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn count_is_required() {
        assert!(Cli::try_parse_from(["producer", "generate"]).is_err());
        assert!(Cli::try_parse_from(["producer", "generate", "--count", "3", "--seed", "1"]).is_ok());
    }
}
