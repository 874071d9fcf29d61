//! Records as the seed chapter's own generator (Faker `ro_RO`) writes them pass every check of the
//! decoder, identifiers included; `fixtures/seed_generator.py` wrote them.

use shared::UserSession;

const SEED_RECORDS: &str = include_str!("../fixtures/seed_records.ndjson");

#[test]
fn every_record_of_the_seed_generator_is_accepted_unchanged() {
    let mut count = 0;
    for (index, line) in SEED_RECORDS.lines().enumerate() {
        let record =
            UserSession::from_json(line.as_bytes()).unwrap_or_else(|error| panic!("line {}: {error}", index + 1));
        let original: serde_json::Value = serde_json::from_str(line).expect("JSON");
        let again: serde_json::Value = serde_json::from_str(&record.to_json().expect("encodes")).expect("JSON");
        assert_eq!(again, original, "line {}", index + 1);
        count += 1;
    }
    assert_eq!(count, 300);
}
