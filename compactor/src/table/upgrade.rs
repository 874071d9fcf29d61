//! Rows written by an earlier version of the curation rules, brought to this one: the record's id as its
//! token, the time cut to the millisecond, the county one of the fixed list or null. A file of a lake compacted
//! before ids were tokens would otherwise keep raw ids and microseconds, which join back to the raw records,
//! and whatever text a sender wrote as a county. Rows already of this version pass through unchanged.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::builder::{StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use uuid::Uuid;

use crate::county::named;
use crate::curate::{PersonalData, UNIQUE_ID_PURPOSE};
use crate::table::TableError;
use crate::table::schema::UNIQUE_ID;

/// The version of the curation rules this code writes; files of a state without one are of version 0.
pub const CURATION: u32 = 1;

/// The `unique_id` a row written under any version has under this one: a raw id becomes its token when
/// personal data is pseudonymised; a token stays as it is.
pub fn upgrade_id<'a>(id: &'a str, personal: &PersonalData) -> Cow<'a, str> {
    match (personal, Uuid::parse_str(id)) {
        (PersonalData::Pseudonymised(key), Ok(uuid)) => {
            Cow::Owned(key.token(UNIQUE_ID_PURPOSE, &uuid.hyphenated().to_string()))
        }
        _ => Cow::Borrowed(id),
    }
}

/// `batch` under this version's rules, less the rows whose upgraded id is in `drop`: rows the partition
/// already holds under their token.
pub fn upgrade(
    batch: &RecordBatch,
    personal: &PersonalData,
    drop: &HashSet<String>,
) -> Result<RecordBatch, TableError> {
    let schema = batch.schema();
    let column = |name: &str| schema.index_of(name).map_err(TableError::from);
    let (id_at, time_at, county_at) = (column(UNIQUE_ID)?, column("accessed_at")?, column("county")?);

    let ids = batch.column(id_at).as_string_opt::<i32>().ok_or(TableError::ColumnType(UNIQUE_ID))?;
    let mut upgraded_ids = StringBuilder::with_capacity(ids.len(), ids.len() * 20);
    let mut keep = Vec::with_capacity(ids.len());
    for id in ids.iter() {
        let id = id.map(|id| upgrade_id(id, personal));
        keep.push(id.as_ref().is_none_or(|id| !drop.contains(id.as_ref())));
        upgraded_ids.append_option(id);
    }

    let times = batch
        .column(time_at)
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or(TableError::ColumnType("accessed_at"))?;
    let mut milliseconds = TimestampMicrosecondBuilder::with_capacity(times.len());
    times.iter().for_each(|time| milliseconds.append_option(time.map(|micros| micros - micros.rem_euclid(1_000))));

    let counties = batch.column(county_at).as_string_opt::<i32>().ok_or(TableError::ColumnType("county"))?;
    let mut listed = StringBuilder::with_capacity(counties.len(), counties.len() * 8);
    counties.iter().for_each(|county| listed.append_option(county.and_then(named)));

    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns[id_at] = Arc::new(upgraded_ids.finish());
    columns[time_at] = Arc::new(milliseconds.finish());
    columns[county_at] = Arc::new(listed.finish());
    let upgraded = RecordBatch::try_new(schema, columns)?;
    if keep.iter().all(|kept| *kept) {
        return Ok(upgraded);
    }
    Ok(arrow_select::filter::filter_record_batch(&upgraded, &BooleanArray::from(keep))?)
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use chrono::NaiveDateTime;

    use super::*;
    use crate::curate::CuratedRecord;
    use crate::pseudonym::PseudonymKey;
    use crate::table::schema::to_batch;

    fn personal() -> PersonalData {
        PersonalData::Pseudonymised(PseudonymKey::new(1, &[5; 32]).expect("a valid key"))
    }

    /// A row as the version before tokens wrote it.
    fn old_row(id: u128, county: Option<&'static str>) -> CuratedRecord {
        CuratedRecord {
            unique_id: Uuid::from_u128(id).to_string(),
            accessed_at: NaiveDateTime::parse_from_str("2026-11-29 23:59:59.999999", "%Y-%m-%d %H:%M:%S%.f")
                .expect("valid"),
            session_duration: 1,
            download_speed: 2,
            upload_speed: 3,
            consumed_traffic: 4,
            birth_year: 1990,
            sex: None,
            county,
            personal_number: "k1.a".into(),
            email: "k1.b".into(),
            phone_number: "k1.c".into(),
            mac_address: "k1.d".into(),
            ip_address: "k1.e".into(),
            iban: "k1.f".into(),
            person_name: None,
            user_name: None,
            address: None,
            birth_date: None,
        }
    }

    #[test]
    fn old_rows_get_tokens_milliseconds_and_listed_counties_and_new_rows_stay() {
        let batch =
            to_batch(&[old_row(1, Some("Cluj")), old_row(2, Some("Ioana Popescu, Strada X")), old_row(3, None)])
                .expect("a batch");
        let upgraded = upgrade(&batch, &personal(), &HashSet::new()).expect("upgraded");
        let ids: Vec<&str> = upgraded.column(0).as_string::<i32>().iter().flatten().collect();
        assert_eq!(ids[0], upgrade_id(&Uuid::from_u128(1).to_string(), &personal()));
        assert!(ids.iter().all(|id| id.starts_with("k1.")), "{ids:?}");
        let times = upgraded.column(1).as_primitive::<TimestampMicrosecondType>();
        assert!(times.iter().flatten().all(|micros| micros % 1_000 == 0 && micros % 1_000_000 == 999_000));
        let counties: Vec<Option<&str>> = upgraded.column(8).as_string::<i32>().iter().collect();
        assert_eq!(counties, [Some("Cluj"), None, None]);
        assert_eq!(upgrade(&upgraded, &personal(), &HashSet::new()).expect("again"), upgraded, "idempotent");
    }

    #[test]
    fn rows_the_partition_holds_under_their_token_are_dropped() {
        let batch = to_batch(&[old_row(1, None), old_row(2, None)]).expect("a batch");
        let held: HashSet<String> = [upgrade_id(&Uuid::from_u128(2).to_string(), &personal()).into_owned()].into();
        let upgraded = upgrade(&batch, &personal(), &held).expect("upgraded");
        assert_eq!(upgraded.num_rows(), 1);
        assert_eq!(
            upgraded.column(0).as_string::<i32>().value(0),
            upgrade_id(&Uuid::from_u128(1).to_string(), &personal())
        );
    }

    #[test]
    fn a_raw_lake_keeps_its_ids() {
        let id = Uuid::from_u128(9).to_string();
        assert_eq!(upgrade_id(&id, &PersonalData::Raw), id.as_str());
        assert_eq!(upgrade_id("k1.abc", &personal()), "k1.abc");
    }
}
