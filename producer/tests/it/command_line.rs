//! The producer binary as a command-line tool, run outside Lambda.

use std::process::{Command, Output};

use shared::UserSession;

fn producer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_producer"))
        .args(args)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .expect("producer runs")
}

fn records(output: &Output) -> Vec<UserSession> {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output
        .stdout
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| UserSession::from_json(line).expect("each line is one valid record"))
        .collect()
}

#[test]
fn generate_writes_one_valid_record_per_line() {
    assert_eq!(records(&producer(&["generate", "--count", "250"])).len(), 250);
}

#[test]
fn generate_with_a_seed_repeats_itself_but_for_the_time() {
    let without_time = |output: &Output| -> Vec<UserSession> {
        let epoch = chrono::NaiveDateTime::default();
        records(output).into_iter().map(|record| UserSession { accessed_at: epoch, ..record }).collect()
    };
    let first = without_time(&producer(&["generate", "--count", "20", "--seed", "5"]));
    let second = without_time(&producer(&["generate", "--count", "20", "--seed", "5"]));
    assert_eq!(first, second);
    assert_ne!(first, without_time(&producer(&["generate", "--count", "20", "--seed", "6"])));
}

#[test]
fn help_documents_both_commands() {
    let output = producer(&["--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("generate") && help.contains("send"), "{help}");
    let output = producer(&["send", "--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("--queue-url") && help.contains("AWS_ENDPOINT_URL"), "{help}");
}

#[test]
fn a_bad_count_is_refused_with_a_message() {
    let output = producer(&["generate", "--count", "lots"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--count"));
}
