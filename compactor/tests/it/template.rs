//! `template.yaml` agrees with the compactor: the environment it sets is what the compactor reads, and
//! the curated Glue table has the data files' columns.

use compactor::settings::{
    ARRAY_KEY_ENV, BUCKET_ENV, CURATED_BUCKET_ENV, CURATED_PREFIX_ENV, ERROR_PREFIX_ENV, FILE_MIB_ENV, GRACE_ENV,
    INPUT_MIB_ENV, PARTITION_PREFIX_ENV, PERSONAL_DATA_ENV, RETENTION_ENV, SECRET_ENV,
};
use shared::testing::{environment_names, template, text};

#[test]
fn compactor_environment_names_only_variables_the_compactor_reads() {
    let known = [
        BUCKET_ENV,
        CURATED_BUCKET_ENV,
        RETENTION_ENV,
        PARTITION_PREFIX_ENV,
        CURATED_PREFIX_ENV,
        GRACE_ENV,
        FILE_MIB_ENV,
        INPUT_MIB_ENV,
        PERSONAL_DATA_ENV,
        SECRET_ENV,
        ARRAY_KEY_ENV,
        ERROR_PREFIX_ENV,
    ];
    let names = environment_names(&template(), "CompactorFunction", &known);
    // Without ERROR_PREFIX the compactor would erase from errors/ whatever ErrorPrefix the consumer writes to.
    for required in [BUCKET_ENV, PARTITION_PREFIX_ENV, SECRET_ENV, ERROR_PREFIX_ENV] {
        assert!(names.iter().any(|name| name == required), "the template does not set {required}");
    }
}

/// The Glue type Athena reads an Arrow type of the curated schema as.
fn glue_type(data_type: &arrow_schema::DataType) -> &'static str {
    use arrow_schema::{DataType, TimeUnit};
    match data_type {
        DataType::Utf8 => "string",
        DataType::Int32 => "int",
        DataType::Date32 => "date",
        DataType::Timestamp(TimeUnit::Microsecond, None) => "timestamp",
        other => panic!("no Glue type for {other}"),
    }
}

#[test]
fn the_glue_table_has_the_data_files_columns_in_order_with_their_types() {
    let template = template();
    let columns =
        &template["Resources"]["UserSessionsTable"]["Properties"]["TableInput"]["StorageDescriptor"]["Columns"];
    let glue: Vec<(String, String)> = columns
        .as_sequence()
        .expect("columns")
        .iter()
        .map(|column| (text(&column["Name"]), text(&column["Type"])))
        .collect();
    let arrow: Vec<(String, String)> = compactor::table::schema::schema()
        .fields()
        .iter()
        .map(|field| (field.name().clone(), glue_type(field.data_type()).to_owned()))
        .collect();
    assert_eq!(glue, arrow);
}

#[test]
fn athena_reads_the_data_files_by_column_name_so_a_file_of_an_earlier_schema_reads_an_added_column_as_null() {
    let template = template();
    let descriptor = &template["Resources"]["UserSessionsTable"]["Properties"]["TableInput"]["StorageDescriptor"];
    let serde = &descriptor["SerdeInfo"];
    assert_eq!(text(&serde["SerializationLibrary"]), "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe");
    // By index, a file without a column added since would shift every later column into the wrong one.
    let by_index = serde["Parameters"]["parquet.column.index.access"].as_str().unwrap_or("false");
    assert_eq!(by_index, "false", "columns must be read by name");
    // Each column a later version adds is nullable, as `table::evolution` needs; the first version's were
    // these, and every later one must be nullable.
    let first_version = [
        "unique_id",
        "accessed_at",
        "session_duration",
        "download_speed",
        "upload_speed",
        "consumed_traffic",
        "birth_year",
        "sex",
        "county",
        "personal_number",
        "email",
        "phone_number",
        "mac_address",
        "ip_address",
        "iban",
        "person_name",
        "user_name",
        "address",
        "birth_date",
    ];
    for field in compactor::table::schema::schema().fields() {
        assert!(
            first_version.contains(&field.name().as_str()) || field.is_nullable(),
            "{} was added after the first version and must be nullable",
            field.name()
        );
    }
}
