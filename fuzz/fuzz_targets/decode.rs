//! The record decoder on arbitrary bytes: it returns a record or an error, never panics, and a record it
//! returns encodes and decodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::UserSession;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(record) = UserSession::from_json(bytes) {
        let json = record.to_json().expect("a decoded record encodes");
        let again = UserSession::from_json(json.as_bytes()).expect("an encoded record decodes");
        assert_eq!(again, record);
    }
});
