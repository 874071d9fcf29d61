//! Where each object of the lake lives. The landing zone is in the raw bucket; under the curated prefix of
//! the curated bucket, `data/dt=D/` holds the Parquet files, `state/dt=D.json` each partition's committed
//! state, `state/keys.json` the key ledger, and `tables/user_sessions/dt=D/manifest` the list of files the
//! Glue table reads.

use chrono::NaiveDate;

/// The name the curated table is known by, in its manifests' path.
pub const TABLE: &str = "user_sessions";

/// The curated bucket and the two prefixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The bucket of the curated lake, which manifests name their files in.
    pub curated_bucket: String,
    /// Where the consumer lands NDJSON, `dt=D/` partitions below it.
    pub landing_prefix: String,
    /// Where the compactor writes, in the curated bucket.
    pub curated_prefix: String,
    /// The consumer's error output, in the raw bucket, `dt=D/` partitions below it; an erasure searches it.
    pub errors_prefix: String,
    /// The consumer's live JSON array, in the raw bucket; its sealed segments are beside it
    /// (`shared::array`). A rebuild reads them.
    pub array_key: String,
}

impl Layout {
    /// The date of a landed object's partition, or `None` for a key outside `dt=YYYY-MM-DD/`.
    pub fn landing_date(&self, key: &str) -> Option<NaiveDate> {
        let partition = key.strip_prefix(&self.landing_prefix)?.strip_prefix("dt=")?;
        let (date, name) = partition.split_once('/')?;
        if name.is_empty() || name.contains('/') {
            return None;
        }
        NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
    }

    pub fn data_prefix(&self, date: NaiveDate) -> String {
        format!("{}data/dt={}/", self.curated_prefix, day(date))
    }

    pub fn data_key(&self, date: NaiveDate, name: &str) -> String {
        format!("{}{name}", self.data_prefix(date))
    }

    pub fn state_key(&self, date: NaiveDate) -> String {
        format!("{}dt={}.json", self.state_prefix(), day(date))
    }

    /// The shadow state a rebuild of `date` commits to until it is swapped in.
    pub fn shadow_state_key(&self, date: NaiveDate) -> String {
        format!("{}dt={}.json", self.shadow_state_prefix(), day(date))
    }

    /// Where the shadow states are.
    pub fn shadow_state_prefix(&self) -> String {
        format!("{}rebuild/", self.state_prefix())
    }

    /// The date of a shadow state, or `None` for any other key.
    pub fn shadow_state_date(&self, key: &str) -> Option<NaiveDate> {
        let name = key.strip_prefix(&self.shadow_state_prefix())?.strip_prefix("dt=")?.strip_suffix(".json")?;
        NaiveDate::parse_from_str(name, "%Y-%m-%d").ok()
    }

    /// The rebuild under way, if any: its days and the next one to rebuild.
    pub fn rebuild_key(&self) -> String {
        format!("{}rebuild.json", self.state_prefix())
    }

    /// Where the landed objects of `date` are.
    pub fn landing_day_prefix(&self, date: NaiveDate) -> String {
        format!("{}dt={}/", self.landing_prefix, day(date))
    }

    pub fn state_prefix(&self) -> String {
        format!("{}state/", self.curated_prefix)
    }

    /// The date of a partition's state, or `None` for any other key (the key ledger).
    pub fn state_date(&self, key: &str) -> Option<NaiveDate> {
        let name = key.strip_prefix(&self.state_prefix())?.strip_prefix("dt=")?.strip_suffix(".json")?;
        NaiveDate::parse_from_str(name, "%Y-%m-%d").ok()
    }

    pub fn key_ledger_key(&self) -> String {
        format!("{}keys.json", self.state_prefix())
    }

    /// The marker a run writes once no data file of an earlier curation is left in the lake.
    pub fn curation_marker_key(&self) -> String {
        format!("{}curation.json", self.state_prefix())
    }

    pub fn manifest_key(&self, date: NaiveDate) -> String {
        format!("{}dt={}/manifest", self.manifest_prefix(), day(date))
    }

    pub fn manifest_prefix(&self) -> String {
        format!("{}tables/{TABLE}/", self.curated_prefix)
    }

    /// The date of a partition's manifest, or `None` for any other key.
    pub fn manifest_date(&self, key: &str) -> Option<NaiveDate> {
        let name = key.strip_prefix(&self.manifest_prefix())?.strip_prefix("dt=")?.strip_suffix("/manifest")?;
        NaiveDate::parse_from_str(name, "%Y-%m-%d").ok()
    }

    /// `s3://bucket/key`, as a manifest names a file.
    pub fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.curated_bucket)
    }
}

fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            curated_bucket: "b".into(),
            landing_prefix: "partitioned/".into(),
            curated_prefix: "curated/".into(),
            array_key: "streaming_data.json".into(),
            errors_prefix: "errors/".into(),
        }
    }

    #[test]
    fn landed_keys_give_their_date_and_others_none() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 29);
        assert_eq!(layout().landing_date("partitioned/dt=2026-11-29/a.ndjson"), date);
        assert_eq!(layout().landing_date("partitioned/dt=2026-11-29/a.ndjson.gz"), date);
        for other in
            ["partitioned/dt=2026-13-01/a", "partitioned/dt=2026-11-29/", "partitioned/x/a", "other/dt=2026-11-29/a"]
        {
            assert_eq!(layout().landing_date(other), None, "{other}");
        }
    }

    #[test]
    fn curated_keys_sit_under_their_kind_and_date() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 29).expect("valid");
        assert_eq!(layout().data_key(date, "x.parquet"), "curated/data/dt=2026-11-29/x.parquet");
        assert_eq!(layout().state_key(date), "curated/state/dt=2026-11-29.json");
        assert_eq!(layout().state_date(&layout().state_key(date)), Some(date));
        assert_eq!(layout().state_date(&layout().key_ledger_key()), None);
        assert_eq!(layout().shadow_state_key(date), "curated/state/rebuild/dt=2026-11-29.json");
        assert_eq!(layout().state_date(&layout().shadow_state_key(date)), None);
        assert_eq!(layout().shadow_state_date(&layout().shadow_state_key(date)), Some(date));
        assert_eq!(layout().shadow_state_date(&layout().state_key(date)), None);
        assert_eq!(layout().state_date(&layout().rebuild_key()), None);
        assert_eq!(layout().landing_day_prefix(date), "partitioned/dt=2026-11-29/");
        assert_eq!(layout().manifest_date(&layout().manifest_key(date)), Some(date));
        assert_eq!(layout().manifest_date("curated/tables/user_sessions/dt=2026-11-29/other"), None);
        assert_eq!(layout().manifest_key(date), "curated/tables/user_sessions/dt=2026-11-29/manifest");
        assert_eq!(layout().uri("k"), "s3://b/k");
    }
}
