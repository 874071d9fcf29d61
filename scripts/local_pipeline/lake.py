"""The lake on this machine: the bucket's partitions copied to a folder, read by DuckDB as the Glue table
(same columns and types, Hive partitions on dt), and the template's Athena named queries run over it."""

from pathlib import Path

import duckdb

# Glue column types as DuckDB types.
DUCKDB_TYPES = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "date": "DATE",
                "timestamp": "TIMESTAMP", "double": "DOUBLE", "boolean": "BOOLEAN"}
# Athena (Presto) functions the named queries use that DuckDB spells differently. Presto's date_format and
# DuckDB's strftime agree on the %Y, %m and %d the queries use.
ATHENA_FUNCTIONS = ["CREATE MACRO date_format(value, format) AS strftime(value, format)"]


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


def connect(folder, template):
    """An in-memory DuckDB with the view user_sessions over the copied partitions."""
    table = template.properties("UserSessionsTable", "TableInput")
    columns = {column["Name"]: DUCKDB_TYPES[column["Type"]] for column in table["StorageDescriptor"]["Columns"]}
    prefix = template.parameters["PartitionPrefix"]
    connection = duckdb.connect()
    for statement in ATHENA_FUNCTIONS:
        connection.execute(statement)
    files = sorted(str(path) for path in (Path(folder) / prefix).glob("dt=*/*.ndjson*"))
    if files:
        connection.execute(
            f"CREATE VIEW {table['Name']} AS SELECT * FROM read_json($files, format = 'newline_delimited', "
            f"columns = {_struct(columns)}, hive_partitioning = true, hive_types = {{'dt': 'VARCHAR'}}, "
            "dateformat = '%Y-%m-%d', timestampformat = '%Y-%m-%d %H:%M:%S.%f')".replace("$files", _list(files))
        )
    else:
        definition = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        connection.execute(f"CREATE TABLE {table['Name']} ({definition}, dt VARCHAR)")
    return connection


def _struct(columns):
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items()) + "}"


def _list(items):
    return "[" + ", ".join("'" + item.replace("'", "''") + "'" for item in items) + "]"


def named_queries(connection, template):
    """Runs the named queries in template order; yields (name, description, result table as text, rows)."""
    for name, description, sql in template.named_queries():
        if sql.lstrip().upper().startswith("CREATE"):
            connection.execute(sql)
            yield name, description, "(created)", []
        else:
            relation = connection.sql(sql)
            yield name, description, str(relation), relation.fetchall()


def count_unique(connection):
    """Records in the deduplicated view the named queries create (one per unique_id)."""
    return connection.sql("SELECT count(*) FROM user_sessions_unique").fetchall()[0][0]
