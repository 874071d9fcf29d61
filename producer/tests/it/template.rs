//! `template.yaml` and `events/` agree with the producer: its environment, the schedule's default input and the
//! producer events.

use producer::lambda::event::run_options;
use producer::lambda::settings::{QUEUE_URL_ENV, SEND_MAX_ATTEMPTS_ENV};
use producer::plan::{
    CONCURRENCY, COUNT, DURATION_SECS, MAX_PAUSE_SECS, MIN_PAUSE_SECS, MODE_ENV, PACK_BYTES, PACK_RECORDS, SEED_ENV,
};
use shared::deadline::MARGIN_MS_ENV;
use shared::testing::{environment_names, template, text};

#[test]
fn producer_environment_names_only_variables_the_producer_reads() {
    let known = [
        QUEUE_URL_ENV,
        MODE_ENV,
        SEED_ENV,
        COUNT.env,
        CONCURRENCY.env,
        DURATION_SECS.env,
        MIN_PAUSE_SECS.env,
        MAX_PAUSE_SECS.env,
        PACK_RECORDS.env,
        PACK_BYTES.env,
        SEND_MAX_ATTEMPTS_ENV,
        MARGIN_MS_ENV,
    ];
    let names = environment_names(&template(), "ProducerFunction", &known);
    assert!(names.iter().any(|name| name == QUEUE_URL_ENV));
}

#[test]
fn the_schedule_input_default_is_a_valid_producer_event() {
    let template = template();
    let input = text(&template["Parameters"]["ScheduleInput"]["Default"]);
    let event: serde_json::Value = serde_json::from_str(&input).expect("JSON");
    run_options(event).expect("a valid producer event").plan().expect("a valid plan");
    let burst_count = template["Parameters"]["BurstCount"].clone();
    assert_eq!(burst_count["MaxValue"].as_u64(), Some(*COUNT.range.end()));
    assert_eq!(burst_count["Default"].as_u64(), Some(COUNT.default));
}

#[test]
fn a_stream_window_fits_the_queues_delay_and_the_run_returns_long_before() {
    let template = template();
    assert_eq!(*DURATION_SECS.range.end(), 900, "SQS delays a message at most 900 s");
    let timeout = template["Resources"]["ProducerFunction"]["Properties"]["Timeout"].as_u64().expect("seconds");
    assert!(timeout <= 120, "a stream run sends its window and returns; {timeout} s bills a hung run for longer");
}

#[test]
fn the_producer_event_files_are_valid_events() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    for name in ["scheduled-event.json", "producer-burst.json", "producer-stream.json"] {
        let text = std::fs::read_to_string(directory.join(name)).expect("event file");
        let event: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        run_options(event).unwrap_or_else(|error| panic!("{name}: {error}")).plan().expect("a valid plan");
    }
}
