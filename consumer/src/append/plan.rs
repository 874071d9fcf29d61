//! The decision of one append attempt, a pure function of the bytes read and the records: which
//! records are new, which an earlier write of this append put there (its answer lost), where the array
//! ends, whether to create, continue or roll it over, and the range of days the array written carries.
//! How the store carries the write out (a rewrite or a copy on its side) is the store's business.

use std::collections::HashSet;

use uuid::Uuid;

use super::Line;
use super::dedup::unique_ids;
use super::segments::Days;
use super::splice::{ArrayEnd, SpliceError, array_end, continuation, new_array};

/// Bytes read from the live array.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Read<'a> {
    pub(crate) bytes: &'a [u8],
    /// Where `bytes` start in the array.
    pub(crate) offset: u64,
    /// The array's whole size.
    pub(crate) size: u64,
    /// The range of days its metadata carries; `None` when unknown.
    pub(crate) days: Option<Days>,
}

/// What an attempt knows besides the records.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Known<'a> {
    /// The live array's bytes this attempt read; `None` when there is no live array.
    pub(crate) live: Option<Read<'a>>,
    /// Ids earlier reads found in the history (this array before `live.offset`, sealed segments).
    pub(crate) seen: &'a HashSet<Uuid>,
    /// Where in this live array the last attempt's write put its records, had it landed.
    pub(crate) ours_at: Option<u64>,
    /// Ids found where the last attempt's write would lie in a segment sealed since.
    pub(crate) ours_sealed: &'a HashSet<Uuid>,
    /// The size at which the live array is sealed; `None` never.
    pub(crate) rollover_bytes: Option<u64>,
}

/// What to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Every record is there already.
    Nothing,
    /// There is no live array: create one holding the new records.
    Create(Vec<u8>),
    /// Keep the array's first `keep` bytes and write `suffix` after them.
    Append { keep: u64, suffix: Vec<u8> },
    /// The array reached the rollover size: seal it as it is and start a new one holding the new records.
    RollOver(Vec<u8>),
}

/// An attempt's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) action: Action,
    /// Where the live array read ends (when there is one and something to write): bytes before
    /// `end.keep` stay as they are in its later versions.
    pub(crate) end: Option<ArrayEnd>,
    /// Records the action writes.
    pub(crate) fresh: u64,
    /// Records an earlier write of this append put there.
    pub(crate) landed_before: u64,
    /// Records the history held already.
    pub(crate) duplicates: u64,
    /// The range of days the array written carries: the one read widened by the records written, or
    /// theirs alone in a new (or empty) array; `None` when the array's days are unknown, and when
    /// nothing is written.
    pub(crate) days: Option<Days>,
}

/// Decides what to write for `lines` (unique ids, one each) given what was read.
pub(crate) fn plan(lines: &[&Line<'_>], known: Known<'_>) -> Result<Decision, SpliceError> {
    let in_live = known.live.map(|read| unique_ids(read.bytes)).unwrap_or_default();
    let mut ours = known.ours_sealed.clone();
    if let (Some(read), Some(at)) = (known.live, known.ours_at) {
        let start = usize::try_from(at.saturating_sub(read.offset)).unwrap_or(usize::MAX).min(read.bytes.len());
        ours.extend(unique_ids(&read.bytes[start..]));
    }
    let present = |id: &Uuid| known.seen.contains(id) || in_live.contains(id) || ours.contains(id);
    let fresh_lines: Vec<&Line> = lines.iter().copied().filter(|line| !present(&line.unique_id)).collect();
    let fresh: Vec<&[u8]> = fresh_lines.iter().map(|line| line.json).collect();
    let landed_before = lines.iter().filter(|line| ours.contains(&line.unique_id)).count() as u64;
    let duplicates = lines.len() as u64 - fresh.len() as u64 - landed_before;
    if fresh.is_empty() {
        return Ok(Decision { action: Action::Nothing, end: None, fresh: 0, landed_before, duplicates, days: None });
    }
    let fresh_days = Days::of(fresh_lines.iter().map(|line| line.accessed_on));
    let end = known.live.map(|read| array_end(read.bytes, read.offset)).transpose()?;
    let (action, days) = match (known.live, end) {
        (Some(read), Some(_)) if known.rollover_bytes.is_some_and(|bytes| read.size >= bytes) => {
            (Action::RollOver(new_array(fresh.iter().copied())), fresh_days)
        }
        (Some(read), Some(end)) => {
            // An array with records but no range may hold any day, and keeps saying so: a range of the
            // new records alone would hide its older ones.
            let days = if end.empty { fresh_days } else { read.days.map(|days| days.widened(fresh_days)) };
            (Action::Append { keep: end.keep, suffix: continuation(end, fresh.iter().copied()) }, days)
        }
        _ => (Action::Create(new_array(fresh.iter().copied())), fresh_days),
    };
    Ok(Decision { action, end, fresh: fresh.len() as u64, landed_before, duplicates, days })
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    const A: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    const B: &str = "0b7d3f1e-2f4c-4a8e-9d2a-1c3e5f7a9b0d";
    const C: &str = "3f2b8c1a-5d6e-4f70-8a9b-0c1d2e3f4a5b";

    fn record(id: &str) -> String {
        format!(r#"{{"unique_id":"{id}"}}"#)
    }

    fn line(json: &str) -> Line<'_> {
        let id = json.split('"').nth(3).and_then(|id| id.parse().ok()).unwrap_or_default();
        Line { unique_id: id, json: json.as_bytes(), delivered_before: false, accessed_on: day(1) }
    }

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, n).expect("a day")
    }

    fn days(first: u32, last: u32) -> Option<Days> {
        Some(Days { first: day(first), last: day(last) })
    }

    fn decide(
        lines: &[&str],
        live: Option<(&[u8], u64, u64)>,
        ours_at: Option<u64>,
        rollover: Option<u64>,
    ) -> Decision {
        let lines: Vec<Line> = lines.iter().map(|json| line(json)).collect();
        let lines: Vec<&Line> = lines.iter().collect();
        let none = HashSet::new();
        let known = Known {
            live: live.map(|(bytes, offset, size)| Read { bytes, offset, size, days: None }),
            seen: &none,
            ours_at,
            ours_sealed: &none,
            rollover_bytes: rollover,
        };
        plan(&lines, known).expect("an array")
    }

    #[test]
    fn no_array_is_created_with_the_records() {
        let (a, b) = (record(A), record(B));
        let decision = decide(&[&a, &b], None, None, None);
        assert_eq!(decision.action, Action::Create(format!("[\n{a},\n{b}\n]\n").into_bytes()));
        assert_eq!((decision.fresh, decision.duplicates), (2, 0));
    }

    #[test]
    fn records_in_the_bytes_read_are_duplicates_and_the_rest_follow_the_last_record() {
        let (a, b) = (record(A), record(B));
        let array = format!("[\n{a}\n]\n");
        let decision = decide(&[&a, &b], Some((array.as_bytes(), 0, array.len() as u64)), None, None);
        let keep = array.len() as u64 - 3;
        assert_eq!(decision.action, Action::Append { keep, suffix: format!(",\n{b}\n]\n").into_bytes() });
        assert_eq!((decision.fresh, decision.duplicates, decision.landed_before), (1, 1, 0));
    }

    #[test]
    fn records_after_where_the_last_attempt_wrote_are_its_own() {
        let (a, b, c) = (record(A), record(B), record(C));
        let array = format!("[\n{a},\n{b}\n]\n");
        let ours_at = (2 + a.len()) as u64;
        let tail = &array.as_bytes()[1..];
        let decision = decide(&[&b, &c], Some((tail, 1, array.len() as u64)), Some(ours_at), None);
        assert_eq!((decision.fresh, decision.duplicates, decision.landed_before), (1, 0, 1));
        let decision = decide(&[&a], Some((tail, 1, array.len() as u64)), Some(ours_at), None);
        assert_eq!((decision.action, decision.duplicates, decision.landed_before), (Action::Nothing, 1, 0));
    }

    #[test]
    fn a_full_array_rolls_over_to_a_new_one_holding_only_the_new_records() {
        let (a, b) = (record(A), record(B));
        let array = format!("[\n{a}\n]\n");
        let size = array.len() as u64;
        let decision = decide(&[&a, &b], Some((array.as_bytes(), 0, size)), None, Some(size));
        assert_eq!(decision.action, Action::RollOver(format!("[\n{b}\n]\n").into_bytes()));
        let below = decide(&[&b], Some((array.as_bytes(), 0, size)), None, Some(size + 1));
        assert!(matches!(below.action, Action::Append { .. }));
        let nothing_new = decide(&[&a], Some((array.as_bytes(), 0, size)), None, Some(size));
        assert_eq!(nothing_new.action, Action::Nothing, "a full array is sealed only to make room");
    }

    #[test]
    fn a_corrupt_array_is_neither_continued_nor_sealed() {
        let b = record(B);
        let lines = [line(&b)];
        let none = HashSet::new();
        let known = Known {
            live: Some(Read { bytes: b"{\"not\":1}", offset: 0, size: 9, days: None }),
            seen: &none,
            ours_at: None,
            ours_sealed: &none,
            rollover_bytes: Some(1),
        };
        assert!(plan(&[&lines[0]], known).is_err());
    }

    /// The range of days the decision for `lines` (records with the day of each) gives the array it
    /// writes, when the whole live array read is `live` with the range `days`.
    fn days_written(lines: &[(&str, u32)], live: Option<(&str, Option<Days>)>, rollover: Option<u64>) -> Option<Days> {
        let lines: Vec<Line> = lines.iter().map(|(json, on)| Line { accessed_on: day(*on), ..line(json) }).collect();
        let lines: Vec<&Line> = lines.iter().collect();
        let none = HashSet::new();
        let known = Known {
            live: live.map(|(array, days)| Read { bytes: array.as_bytes(), offset: 0, size: array.len() as u64, days }),
            seen: &none,
            ours_at: None,
            ours_sealed: &none,
            rollover_bytes: rollover,
        };
        plan(&lines, known).expect("an array").days
    }

    #[test]
    fn a_new_array_carries_the_days_of_its_records() {
        let (a, b) = (record(A), record(B));
        assert_eq!(days_written(&[(&a, 5), (&b, 2)], None, None), days(2, 5));
        let array = format!("[\n{a}\n]\n");
        assert_eq!(days_written(&[(&b, 7)], Some((&array, days(1, 3))), Some(1)), days(7, 7), "after a rollover");
    }

    #[test]
    fn an_append_widens_the_days_read_by_those_of_the_records_it_writes() {
        let (a, b, c) = (record(A), record(B), record(C));
        let array = format!("[\n{a}\n]\n");
        assert_eq!(days_written(&[(&b, 9), (&c, 4)], Some((&array, days(3, 5))), None), days(3, 9));
        assert_eq!(days_written(&[(&b, 1)], Some((&array, days(3, 5))), None), days(1, 5));
        assert_eq!(days_written(&[(&b, 4)], Some((&array, days(3, 5))), None), days(3, 5), "unchanged within");
        let duplicate_elsewhere = days_written(&[(&a, 20), (&b, 4)], Some((&array, days(3, 5))), None);
        assert_eq!(duplicate_elsewhere, days(3, 5), "a record the array holds adds no day");
        assert_eq!(days_written(&[(&a, 20)], Some((&array, days(3, 5))), None), None, "nothing is written");
    }

    #[test]
    fn an_array_holding_records_but_no_days_is_continued_without_any() {
        let (a, b) = (record(A), record(B));
        let array = format!("[\n{a}\n]\n");
        assert_eq!(days_written(&[(&b, 4)], Some((&array, None)), None), None);
        assert_eq!(days_written(&[(&b, 4)], Some((r#"[{"seed": 1}]"#, None)), None), None);
        assert_eq!(days_written(&[(&b, 4)], Some(("[]", None)), None), days(4, 4), "an empty one holds only these");
        assert_eq!(days_written(&[(&b, 4)], Some((&array, None)), Some(1)), days(4, 4), "its successor has days");
    }
}
