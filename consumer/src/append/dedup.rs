//! Which records the end of the array already holds, found by their `unique_id` without parsing them.

use std::collections::HashSet;

use memchr::memmem;
use uuid::Uuid;

/// The unique ids of the records in `tail`. A record cut off at the start of the tail may be missed,
/// never misread: only a complete, well-formed id counts.
pub(crate) fn unique_ids(tail: &[u8]) -> HashSet<Uuid> {
    let key = br#""unique_id""#;
    memmem::find_iter(tail, key)
        .filter_map(|at| {
            let rest = trim_start(&tail[at + key.len()..]);
            let rest = trim_start(rest.strip_prefix(b":")?);
            let rest = rest.strip_prefix(b"\"")?;
            let end = memchr::memchr(b'"', rest)?;
            Uuid::try_parse_ascii(&rest[..end]).ok()
        })
        .collect()
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|byte| !byte.is_ascii_whitespace()).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    const B: &str = "0b7d3f1e-2f4c-4a8e-9d2a-1c3e5f7a9b0d";

    fn id(text: &str) -> Uuid {
        Uuid::parse_str(text).expect("valid UUID")
    }

    #[test]
    fn ids_are_found_in_compact_and_spaced_json() {
        let tail = format!("[\n{{\"x\":1,\"unique_id\":\"{A}\"}},\n{{\"unique_id\" : \"{B}\"}}\n]\n");
        assert_eq!(unique_ids(tail.as_bytes()), HashSet::from([id(A), id(B)]));
    }

    #[test]
    fn cut_or_malformed_ids_are_skipped() {
        let cut = &format!("\"unique_id\":\"{A}\"")[5..];
        let tail = format!("{cut}}},\n{{\"unique_id\":\"not-a-uuid\"}},{{\"unique_id\":\"{B}");
        assert!(unique_ids(tail.as_bytes()).is_empty());
    }
}
