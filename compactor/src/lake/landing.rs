//! A landed object's records: NDJSON, gzip-compressed when its key ends in `.gz`, or the consumer's JSON
//! array (a record a line between `[` and `]`, each but the last followed by `,`), which a rebuild reads.
//! Inflating stops at a limit, so a small object that expands without end (a gzip bomb) costs the limit
//! and no more.

use std::io::Read;

use chrono::NaiveDate;
use flate2::read::GzDecoder;
use shared::{DecodeError, UserSession};

/// A landed object that cannot be read. It names the object and the line, never the line's text.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LandingError {
    #[error("the landed object {key} is not valid gzip")]
    Gzip {
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the landed object {key} inflates to more than {limit} bytes, the run's input budget; left in place")]
    TooLarge { key: String, limit: u64 },
    #[error("line {line} of the landed object {key} is not a record: {source}")]
    Record {
        key: String,
        line: usize,
        #[source]
        source: DecodeError,
    },
}

/// What a landed object holds: its records, and what could not be read of it.
#[derive(Debug, Default)]
pub(crate) struct Landed {
    pub records: Vec<UserSession>,
    pub rejected: Vec<LandingError>,
    /// Records of other days than the one asked for, left out.
    pub other_days: u64,
    /// The NDJSON read, inflated.
    pub text_bytes: u64,
}

/// Every record of `day` in the object `key` holding `bytes`, in order; blank lines, an array's brackets and a
/// lone comma (an erased record's) are skipped, and a line that is not a record is rejected without costing the others. A gzip object that
/// inflates beyond `limit` bytes is refused whole, having cost at most `limit` bytes of memory.
pub(crate) fn records(key: &str, bytes: &[u8], limit: u64, day: NaiveDate) -> Landed {
    let unpacked;
    let text = if key.ends_with(".gz") {
        let mut buffer = Vec::new();
        let refusal = match inflate(bytes, limit, &mut buffer) {
            Err(source) => Some(LandingError::Gzip { key: key.to_owned(), source }),
            Ok(()) if buffer.len() as u64 > limit => Some(LandingError::TooLarge { key: key.to_owned(), limit }),
            Ok(()) => None,
        };
        if let Some(error) = refusal {
            return Landed { rejected: vec![error], text_bytes: buffer.len() as u64, ..Landed::default() };
        }
        unpacked = buffer;
        unpacked.as_slice()
    } else {
        bytes
    };
    let mut landed = Landed { text_bytes: text.len() as u64, ..Landed::default() };
    for (index, line) in text.split(|byte| *byte == b'\n').enumerate() {
        let line = line.trim_ascii();
        // An erasure blanks a record and the comma before it, so a lone comma may stay on a line of spaces.
        if matches!(line, b"" | b"[" | b"]" | b",") {
            continue;
        }
        match UserSession::from_json(line.strip_suffix(b",").unwrap_or(line)) {
            Ok(record) if record.accessed_at.date() == day => landed.records.push(record),
            Ok(_) => landed.other_days += 1,
            Err(source) => landed.rejected.push(LandingError::Record { key: key.to_owned(), line: index + 1, source }),
        }
    }
    landed
}

/// Inflates `bytes` into `out`, at most `limit` + 1 bytes (one more tells a larger object), growing `out`
/// by doubling but never past that, so an object that inflates without end costs `limit` + 1 bytes.
pub(crate) fn inflate(bytes: &[u8], limit: u64, out: &mut Vec<u8>) -> std::io::Result<()> {
    let most = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
    let mut decoder = GzDecoder::new(bytes).take(limit.saturating_add(1));
    let mut chunk = vec![0; 64 * 1024];
    out.reserve_exact(bytes.len().saturating_mul(4).min(most));
    loop {
        let read = decoder.read(&mut chunk)?;
        if read == 0 {
            return Ok(());
        }
        if out.len() + read > out.capacity() {
            let grown = (out.capacity() * 2).max(out.len() + read).min(most);
            out.reserve_exact(grown - out.len());
        }
        out.extend_from_slice(&chunk[..read]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    const RECORD: &str = r#"{"person_name":"Ioana Popescu","user_name":"ioanapopescu","email":"ioana@gmail.com","personal_number":"2900101120015","birth_date":"1990-01-01","address":"Strada Florilor nr. 7, jud. Cluj","phone_number":"0722 123 456","mac_address":"0a:1b:2c:3d:4e:5f","ip_address":"10.0.0.1","iban":"RO49AAAA1B31007593840000","accessed_at":"2026-11-26 06:30:00.123456","session_duration":1,"download_speed":2,"upload_speed":3,"consumed_traffic":4,"unique_id":"7c9e6679-7425-40de-944b-e07fc1f90ae7"}"#;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).expect("valid")
    }

    #[test]
    fn an_array_gives_the_records_of_the_day_asked_for() {
        let other = RECORD.replace("2026-11-26 06:30", "2026-11-27 06:30");
        let array = format!("[\n{RECORD},\n{other},\n{RECORD}\n]\n");
        let landed = records("streaming_data/00000001.json", array.as_bytes(), 1 << 20, day());
        assert_eq!((landed.records.len(), landed.other_days, landed.rejected.len()), (2, 1, 0));
    }

    #[test]
    fn plain_and_gzip_objects_give_their_records() {
        let text = format!("{RECORD}\n\n{RECORD}\n");
        assert_eq!(records("a.ndjson", text.as_bytes(), 1 << 20, day()).records.len(), 2);
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(text.as_bytes()).expect("in memory");
        let landed = records("a.ndjson.gz", &encoder.finish().expect("in memory"), 1 << 20, day());
        assert_eq!((landed.records.len(), landed.text_bytes), (2, text.len() as u64));
    }

    #[test]
    fn a_bad_line_is_rejected_alone_named_by_object_and_line_but_not_its_text() {
        let text = format!("{{\"secret\":\"2900101120015\"}}\n{RECORD}\n");
        let landed = records("p/dt=2026-11-26/a.ndjson", text.as_bytes(), 1 << 20, day());
        assert_eq!((landed.records.len(), landed.rejected.len()), (1, 1));
        let error = landed.rejected[0].to_string();
        assert!(error.starts_with("line 1 of the landed object p/dt=2026-11-26/a.ndjson is not a record"), "{error}");
        assert!(!error.contains("2900101120015") && !error.contains("secret"), "{error}");
        assert_eq!(records("a.ndjson.gz", b"not gzip", 1 << 20, day()).rejected.len(), 1);
    }

    #[test]
    fn a_gzip_bomb_is_refused_by_name_after_inflating_no_more_than_the_limit() {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        let block = format!("{RECORD}\n").repeat(1000);
        for _ in 0..64 {
            encoder.write_all(block.as_bytes()).expect("in memory");
        }
        let bomb = encoder.finish().expect("in memory");
        let landed = records("p/dt=2026-11-26/bomb.ndjson.gz", &bomb, 1 << 20, day());
        assert!(landed.records.is_empty());
        assert!(landed.text_bytes <= (1 << 20) + 1, "{} bytes inflated", landed.text_bytes);
        let mut out = Vec::new();
        inflate(&bomb, 1 << 20, &mut out).expect("gzip");
        assert!(out.capacity() <= (1 << 20) + 1, "{} bytes held", out.capacity());
        let error = landed.rejected.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        assert_eq!(
            error,
            "the landed object p/dt=2026-11-26/bomb.ndjson.gz inflates to more than 1048576 bytes, the run's input budget; left in place"
        );
        assert_eq!(records("p/dt=2026-11-26/bomb.ndjson.gz", &bomb, 64 << 20, day()).records.len(), 64_000);
    }
}
