"""The lake on this machine: the bucket copied to a folder, read by DuckDB as the two Glue tables (same
columns and types, partitions on dt), and the template's Athena named queries run over them.

A table's partition dt is the folder its storage.location.template names for dt, as Athena's partition
projection finds it. The landing table reads the consumer's NDJSON objects there. The curated table reads
manifests there (SymlinkTextInputFormat): each line names a Parquet data file, and the table is those files
and no other, so a data file no manifest lists (a run that died before its commit, a merged file) is not
in it."""

from pathlib import Path

import duckdb

LANDING_TABLE = "LandingSessionsTable"
CURATED_TABLE = "UserSessionsTable"
# Glue column types as DuckDB types.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
}
# Athena's session in DuckDB: its time zone, UTC, as dt and accessed_at are, which the queries compare with
# current_date and current_timestamp; and the Athena (Presto) functions the named queries use that DuckDB
# spells differently. Presto's date_format and DuckDB's strftime agree on the %Y, %m and %d the queries use.
ATHENA_SESSION = ["SET TimeZone = 'UTC'", "CREATE MACRO date_format(value, format) AS strftime(value, format)"]


class LakeError(ValueError):
    pass


def download(s3, bucket, prefix, folder):
    """Copies every object under `prefix` into `folder`, keeping the keys as paths; returns the keys."""
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            path = Path(folder) / item["Key"]
            path.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(path))
            keys.append(item["Key"])
    return keys


def table(template, logical_id):
    """A Glue table's name and its columns (without the partition key) as DuckDB types, in order."""
    table_input = template.properties(logical_id, "TableInput")
    columns = table_input["StorageDescriptor"]["Columns"]
    return table_input["Name"], {column["Name"]: DUCKDB_TYPES[column["Type"]] for column in columns}


def partitions(folder, template, logical_id):
    """{dt: [paths]}: the objects of each of the table's partitions in the copied bucket `folder`, the
    partitions in order."""
    location = template.properties(logical_id, "TableInput", "Parameters", "storage.location.template")
    head, tail = _bucket_and_key(location)[1].split("${dt}")
    directory, _, prefix = head.rpartition("/")
    found = {}
    for named in sorted((Path(folder) / directory).glob(prefix + "*")):
        place = named / tail.strip("/")
        objects = sorted(path for path in place.iterdir() if path.is_file()) if place.is_dir() else []
        if objects:
            found[named.name[len(prefix) :]] = objects
    return found


def curated_files(folder, template):
    """{dt: [paths]}: the data files the curated table reads in each partition, as its manifests list them
    (s3://bucket/key, a line each), found in the copied bucket `folder`."""
    bucket = template.properties("DataBucket", "BucketName")
    files = {}
    for dt, manifests in partitions(folder, template, CURATED_TABLE).items():
        for manifest in manifests:
            for line in manifest.read_text().splitlines():
                if not line.strip():
                    continue
                listed_bucket, key = _bucket_and_key(line.strip())
                if listed_bucket != bucket:
                    raise LakeError(f"{manifest} lists {line.strip()}, which is not in the bucket {bucket}")
                files.setdefault(dt, []).append(Path(folder) / key)
    return files


def _bucket_and_key(uri):
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def connect(folder, template):
    """An in-memory DuckDB with the landing and the curated table as views over the copied bucket `folder`,
    each with the Glue table's columns and types, then dt."""
    connection = duckdb.connect()
    for statement in ATHENA_SESSION:
        connection.execute(statement)
    name, columns = table(template, LANDING_TABLE)
    landed = [path for paths in partitions(folder, template, LANDING_TABLE).values() for path in paths]
    if landed:
        connection.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_json({_list(landed)}, format = 'newline_delimited', "
            f"columns = {_struct(columns)}, hive_partitioning = true, hive_types = {{'dt': 'VARCHAR'}}, "
            "dateformat = '%Y-%m-%d', timestampformat = '%Y-%m-%d %H:%M:%S.%f')"
        )
    else:
        _empty(connection, name, columns)
    name, columns = table(template, CURATED_TABLE)
    selects = [
        f"SELECT {', '.join(columns)}, {_literal(dt)} AS dt FROM read_parquet({_list(paths)})"
        for dt, paths in curated_files(folder, template).items()
    ]
    if selects:
        connection.execute(f"CREATE VIEW {name} AS " + " UNION ALL ".join(selects))
        _check_types(connection, name, columns)
    else:
        _empty(connection, name, columns)
    return connection


def _empty(connection, name, columns):
    definition = ", ".join(f"{column} {kind}" for column, kind in columns.items())
    connection.execute(f"CREATE TABLE {name} ({definition}, dt VARCHAR)")


def _check_types(connection, name, columns):
    """Athena reads Parquet columns by name and refuses a type other than the table's, so the data files'
    types must be the Glue table's."""
    found = [(row[0], row[1]) for row in connection.sql(f"DESCRIBE {name}").fetchall()]
    expected = [*columns.items(), ("dt", "VARCHAR")]
    if found != expected:
        wrong = [f"{column} {kind}" for column, kind in found if (column, kind) not in expected]
        raise LakeError(f"the data files of {name} do not have the Glue table's types: {', '.join(wrong)}")


def _struct(columns):
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items()) + "}"


def _literal(text):
    return "'" + str(text).replace("'", "''") + "'"


def _list(items):
    return "[" + ", ".join(_literal(item) for item in items) + "]"


def named_queries(connection, template):
    """Runs the named queries in template order; yields (name, description, result table as text, rows)."""
    for name, description, sql in template.named_queries():
        relation = connection.sql(sql)
        yield name, description, str(relation), relation.fetchall()


def records(connection, template, logical_id):
    """(rows, distinct unique_ids) of a table."""
    name, _ = table(template, logical_id)
    return connection.sql(f"SELECT count(*), count(DISTINCT unique_id) FROM {name}").fetchall()[0]
