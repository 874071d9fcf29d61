//! A partition object's name and bytes.

use std::io::Write;

use chrono::NaiveDate;
use flate2::Compression;
use flate2::write::GzEncoder;
use uuid::Uuid;

/// Names the objects of this project (UUID v5 namespace).
pub(crate) const NAMESPACE: Uuid = Uuid::from_u128(0x5e1f_7a0c_8d3b_4c2e_9f61_0a4b_7c8d_2e3f);

/// `PREFIX` + `dt=YYYY-MM-DD/` + a name derived from the messages' ids, whatever their order, so the
/// same messages always give the same key.
pub fn object_key<'a>(prefix: &str, date: NaiveDate, message_ids: impl Iterator<Item = &'a str>, gzip: bool) -> String {
    let mut ids: Vec<&str> = message_ids.collect();
    ids.sort_unstable();
    let name = Uuid::new_v5(&NAMESPACE, ids.join("\n").as_bytes());
    let extension = if gzip { "ndjson.gz" } else { "ndjson" };
    format!("{prefix}dt={}/{name}.{extension}", date.format("%Y-%m-%d"))
}

/// One record a line, gzip-compressed if asked.
pub(crate) fn encode<'a>(records: impl Iterator<Item = &'a [u8]>, gzip: bool) -> std::io::Result<Vec<u8>> {
    let mut ndjson = Vec::new();
    for record in records {
        ndjson.extend_from_slice(record);
        ndjson.push(b'\n');
    }
    if !gzip {
        return Ok(ndjson);
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(ndjson.len() / 4), Compression::default());
    encoder.write_all(&ndjson)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 5).expect("valid date")
    }

    #[test]
    fn keys_are_hive_style_and_independent_of_message_order() {
        let key = object_key("p/", date(), ["b", "a"].into_iter(), false);
        assert_eq!(key, object_key("p/", date(), ["a", "b"].into_iter(), false));
        assert!(key.starts_with("p/dt=2026-01-05/") && key.ends_with(".ndjson"), "{key}");
        assert_ne!(key, object_key("p/", date(), ["a", "c"].into_iter(), false));
        assert!(object_key("", date(), ["a"].into_iter(), true).ends_with(".ndjson.gz"));
    }

    #[test]
    fn ndjson_has_one_record_per_line_and_gzip_round_trips() {
        let records = [&b"{\"a\":1}"[..], b"{\"a\":2}"];
        let plain = encode(records.into_iter(), false).expect("encodes");
        assert_eq!(plain, b"{\"a\":1}\n{\"a\":2}\n");
        let compressed = encode(records.into_iter(), true).expect("encodes");
        let mut unpacked = Vec::new();
        GzDecoder::new(compressed.as_slice()).read_to_end(&mut unpacked).expect("valid gzip");
        assert_eq!(unpacked, plain);
    }
}
