//! A partition's committed state: its data files and the landed objects already compacted into them. It
//! is replaced only by a write conditional on the version read, so it changes one run at a time, and the
//! manifest readers use is derived from it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lake::layout::Layout;
use crate::table::writer::TimeRange;

/// One data file of the partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileEntry {
    pub key: String,
    pub records: u64,
    pub bytes: u64,
    /// The curation rules its rows were written under (`table::upgrade::CURATION`); 0, for a file listed
    /// before states said, is the rules before ids were tokens.
    #[serde(default)]
    pub curation: u32,
    /// Its rows' first and last `accessed_at`; `None` for a file listed before states said, which every
    /// commit reads the ids of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessed: Option<TimeRange>,
}

/// A data file a commit replaced, and when: readers of the manifest before it may still read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RetiredFile {
    pub key: String,
    pub at: DateTime<Utc>,
}

/// The partition as last committed. A partition never committed is the default: generation 0, empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PartitionState {
    /// How many commits made it.
    pub generation: u64,
    /// The files the table holds, no `unique_id` in two of them.
    pub files: Vec<FileEntry>,
    /// Landed keys whose records are in `files`; a key that no longer lands (expired) is forgotten.
    pub compacted: BTreeSet<String>,
    /// Files replaced by a rewrite, kept from deletion until the orphan age has passed since.
    #[serde(default)]
    pub retired: Vec<RetiredFile>,
    /// Objects larger than a commit's input (a rebuild's segments) read in part: how many bytes, to the
    /// end of a line. The next commit goes on from there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub partial: BTreeMap<String, u64>,
}

/// A state object that is not a state.
#[derive(Debug, thiserror::Error)]
#[error("the partition state {key} is not valid: {source}")]
pub struct StateError {
    pub key: String,
    #[source]
    pub source: serde_json::Error,
}

impl PartitionState {
    pub(crate) fn from_json(key: &str, bytes: &[u8]) -> Result<Self, StateError> {
        serde_json::from_slice(bytes).map_err(|source| StateError { key: key.to_owned(), source })
    }

    pub(crate) fn to_json(&self) -> Vec<u8> {
        // A state of strings and integers always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub(crate) fn records(&self) -> u64 {
        self.files.iter().map(|file| file.records).sum()
    }

    /// The symlink manifest of this state: each file's URI on a line, in key order.
    pub(crate) fn manifest(&self, layout: &Layout) -> String {
        let mut keys: Vec<&str> = self.files.iter().map(|file| file.key.as_str()).collect();
        keys.sort_unstable();
        keys.iter().map(|key| format!("{}\n", layout.uri(key))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_round_trips_and_gives_its_manifest() {
        let layout = Layout {
            curated_bucket: "b".into(),
            landing_prefix: "p/".into(),
            curated_prefix: "c/".into(),
            array_key: "a.json".into(),
            errors_prefix: "errors/".into(),
        };
        let state = PartitionState {
            generation: 2,
            files: vec![
                FileEntry {
                    key: "c/data/dt=2026-11-29/b.parquet".into(),
                    records: 2,
                    bytes: 20,
                    curation: 1,
                    accessed: Some(TimeRange { first: 1, last: 2 }),
                },
                FileEntry {
                    key: "c/data/dt=2026-11-29/a.parquet".into(),
                    records: 1,
                    bytes: 10,
                    curation: 0,
                    accessed: None,
                },
            ],
            compacted: ["p/dt=2026-11-29/x.ndjson".to_owned()].into(),
            retired: vec![RetiredFile { key: "c/data/dt=2026-11-29/0.parquet".into(), at: DateTime::UNIX_EPOCH }],
            partial: [("streaming_data/00000001.json".to_owned(), 4096)].into(),
        };
        assert_eq!(PartitionState::from_json("k", &state.to_json()).expect("valid"), state);
        assert_eq!(state.records(), 3);
        assert_eq!(
            state.manifest(&layout),
            "s3://b/c/data/dt=2026-11-29/a.parquet\ns3://b/c/data/dt=2026-11-29/b.parquet\n"
        );
    }

    #[test]
    fn a_damaged_state_is_an_error_naming_its_key() {
        let error = PartitionState::from_json("c/state/dt=2026-11-29.json", b"{\"generation\":").expect_err("bad");
        assert!(error.to_string().starts_with("the partition state c/state/dt=2026-11-29.json is not valid"));
    }
}
