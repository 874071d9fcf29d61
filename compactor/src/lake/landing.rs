//! A landed object's records: NDJSON, gzip-compressed when its key ends in `.gz`.

use std::io::Read;

use flate2::read::GzDecoder;
use shared::{DecodeError, UserSession};

/// A landed object that cannot be read. It names the object and the line, never the line's text.
#[derive(Debug, thiserror::Error)]
pub enum LandingError {
    #[error("the landed object {key} is not valid gzip")]
    Gzip {
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("line {line} of the landed object {key} is not a record: {source}")]
    Record {
        key: String,
        line: usize,
        #[source]
        source: DecodeError,
    },
}

/// Every record of the object `key` holding `bytes`, in order; blank lines are skipped.
pub fn records(key: &str, bytes: &[u8]) -> Result<Vec<UserSession>, LandingError> {
    let unpacked;
    let text = if key.ends_with(".gz") {
        let mut buffer = Vec::with_capacity(bytes.len() * 4);
        GzDecoder::new(bytes)
            .read_to_end(&mut buffer)
            .map_err(|source| LandingError::Gzip { key: key.to_owned(), source })?;
        unpacked = buffer;
        unpacked.as_slice()
    } else {
        bytes
    };
    text.split(|byte| *byte == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.trim_ascii().is_empty())
        .map(|(index, line)| {
            UserSession::from_json(line).map_err(|source| LandingError::Record {
                key: key.to_owned(),
                line: index + 1,
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    const RECORD: &str = r#"{"person_name":"Ioana Popescu","user_name":"ioanapopescu","email":"ioana@gmail.com","personal_number":"2900101120013","birth_date":"1990-01-01","address":"Strada Florilor nr. 7, jud. Cluj","phone_number":"0722 123 456","mac_address":"0a:1b:2c:3d:4e:5f","ip_address":"10.0.0.1","iban":"RO49AAAA1B31007593840000","accessed_at":"2026-11-26 06:30:00.123456","session_duration":1,"download_speed":2,"upload_speed":3,"consumed_traffic":4,"unique_id":"7c9e6679-7425-40de-944b-e07fc1f90ae7"}"#;

    #[test]
    fn plain_and_gzip_objects_give_their_records() {
        let text = format!("{RECORD}\n\n{RECORD}\n");
        assert_eq!(records("a.ndjson", text.as_bytes()).expect("valid").len(), 2);
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(text.as_bytes()).expect("in memory");
        assert_eq!(records("a.ndjson.gz", &encoder.finish().expect("in memory")).expect("valid").len(), 2);
    }

    #[test]
    fn a_bad_line_names_the_object_and_line_but_not_its_text() {
        let text = format!("{RECORD}\n{{\"secret\":\"2900101120013\"}}\n");
        let error = records("p/dt=2026-11-26/a.ndjson", text.as_bytes()).expect_err("a bad line").to_string();
        assert!(error.starts_with("line 2 of the landed object p/dt=2026-11-26/a.ndjson is not a record"), "{error}");
        assert!(!error.contains("2900101120013") && !error.contains("secret"), "{error}");
        assert!(records("a.ndjson.gz", b"not gzip").is_err());
    }
}
