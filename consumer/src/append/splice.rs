//! Appending to a JSON array by bytes, never parsing or re-serialising what is already there.
//!
//! The array is written one record per line: `[`, the records separated by `,` and a newline, `]`.
//! Appending keeps every byte before the closing bracket (but the newline before it) and writes the
//! continuation after them, so it works on the seed's one-line arrays too, and never writes over the spaces
//! an erasure left where it removed the last records.

/// Where an array ends, found in the last bytes of the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArrayEnd {
    /// How many leading bytes of the object an append keeps.
    pub(crate) keep: u64,
    /// The array holds no element yet.
    pub(crate) empty: bool,
}

/// The object's last bytes are not the end of a JSON array of objects.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpliceError {
    #[error("the object does not end with a JSON array of records (no closing bracket at its end)")]
    NoClosingBracket,
    #[error("the object does not end with a JSON array of records (a `]` that closes no record list)")]
    NotAnArrayOfObjects,
    #[error("the end of the array lies beyond the {0} bytes read; raise DEDUP_WINDOW_BYTES")]
    TailTooShort(usize),
}

/// Finds the end of the array in `tail`, the object's bytes from `offset` on.
pub(crate) fn array_end(tail: &[u8], offset: u64) -> Result<ArrayEnd, SpliceError> {
    let closing = last_non_space(tail).ok_or_else(|| short_or(tail, offset, SpliceError::NoClosingBracket))?;
    if tail[closing] != b']' {
        return Err(SpliceError::NoClosingBracket);
    }
    let before =
        last_non_space(&tail[..closing]).ok_or_else(|| short_or(tail, offset, SpliceError::NoClosingBracket))?;
    let empty = match tail[before] {
        b'[' => true,
        b'}' => false,
        _ => return Err(SpliceError::NotAnArrayOfObjects),
    };
    // Every byte before the closing bracket is kept but the newline just before it: bytes an erasure blanked
    // after the last record (docs/erasure.md) keep their offsets, so versions of one array only grow.
    let newline = usize::from(closing > before + 1 && tail[closing - 1] == b'\n');
    Ok(ArrayEnd { keep: offset + (closing - newline) as u64, empty })
}

fn short_or(tail: &[u8], offset: u64, otherwise: SpliceError) -> SpliceError {
    if offset > 0 { SpliceError::TailTooShort(tail.len()) } else { otherwise }
}

fn last_non_space(bytes: &[u8]) -> Option<usize> {
    bytes.iter().rposition(|byte| !byte.is_ascii_whitespace())
}

/// What follows the kept bytes: the records, one a line, and the closing bracket.
pub(crate) fn continuation<'a>(end: ArrayEnd, records: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut first = end.empty;
    for record in records {
        out.extend_from_slice(if first { b"\n" } else { b",\n" });
        out.extend_from_slice(record);
        first = false;
    }
    out.extend_from_slice(b"\n]\n");
    out
}

/// A new array holding `records`.
pub fn new_array<'a>(records: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = b"[".to_vec();
    out.extend(continuation(ArrayEnd { keep: 1, empty: true }, records));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn append(object: &[u8], records: &[&str]) -> Result<Vec<u8>, SpliceError> {
        let end = array_end(object, 0)?;
        let mut out = object[..end.keep as usize].to_vec();
        out.extend(continuation(end, records.iter().map(|record| record.as_bytes())));
        Ok(out)
    }

    fn parse(bytes: &[u8]) -> Vec<Value> {
        serde_json::from_slice(bytes).expect("a valid JSON array")
    }

    #[test]
    fn a_new_array_has_one_record_per_line() {
        assert_eq!(new_array([&b"{\"a\":1}"[..], b"{\"a\":2}"]), b"[\n{\"a\":1},\n{\"a\":2}\n]\n");
        assert_eq!(parse(&new_array([])), Vec::<Value>::new());
    }

    #[test]
    fn appends_to_empty_and_filled_arrays_stay_valid() {
        let mut object = b"[]".to_vec();
        let rounds = [vec![r#"{"n":1}"#], vec![r#"{"n":2}"#, r#"{"n":3}"#], vec![r#"{"n":4}"#]];
        for (records, total) in rounds.iter().zip([1, 3, 4]) {
            object = append(&object, records).expect("appends");
            assert_eq!(parse(&object).len(), total);
        }
        assert_eq!(object, b"[\n{\"n\":1},\n{\"n\":2},\n{\"n\":3},\n{\"n\":4}\n]\n");
    }

    #[test]
    fn the_seeds_one_line_arrays_are_continued() {
        let object = append(br#"[{"n": 1}, {"n": 2}]"#, &[r#"{"n":3}"#]).expect("appends");
        assert_eq!(parse(&object).len(), 3);
        let object = append(b"[ ]\n\n", &[r#"{"n":1}"#]).expect("appends");
        assert_eq!(parse(&object).len(), 1);
    }

    #[test]
    fn an_append_after_an_erasure_blanked_the_last_records_writes_after_their_spaces() {
        // The erasure blanked `{"n":2}` and the comma before it, and all the records of the second array.
        for (erased, kept) in
            [(&b"[\n{\"n\":1} \n       \n]\n"[..], 1), (b"[\n       \n]\n", 0), (b"[{\"n\":1}        ]", 1)]
        {
            let object = append(erased, &[r#"{"n":3}"#]).expect("appends");
            let blanked_through = erased.iter().rposition(|byte| *byte == b']').expect("a bracket") - 1;
            assert_eq!(object[..blanked_through], erased[..blanked_through], "no erased byte written over");
            assert_eq!(parse(&object).len(), kept + 1);
        }
    }

    #[test]
    fn the_end_is_found_in_a_tail_at_an_offset() {
        let object = b"[\n{\"n\":1},\n{\"n\":2}\n]\n";
        let end = array_end(&object[8..], 8).expect("found");
        assert_eq!(end, ArrayEnd { keep: 18, empty: false });
        assert_eq!(object[end.keep as usize - 1], b'}');
    }

    #[test]
    fn objects_that_are_not_arrays_of_records_are_refused() {
        assert_eq!(array_end(b"", 0), Err(SpliceError::NoClosingBracket));
        assert_eq!(array_end(b"   ", 0), Err(SpliceError::NoClosingBracket));
        assert_eq!(array_end(b"{\"a\":1}", 0), Err(SpliceError::NoClosingBracket));
        assert_eq!(array_end(b"[1, 2]", 0), Err(SpliceError::NotAnArrayOfObjects));
        assert_eq!(array_end(b"[{\"a\":1}", 0), Err(SpliceError::NoClosingBracket));
        assert_eq!(array_end(b"]", 0), Err(SpliceError::NoClosingBracket));
        assert_eq!(array_end(b"  ]", 10), Err(SpliceError::TailTooShort(3)));
    }
}
