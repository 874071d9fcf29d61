"""The lake on this machine: each bucket copied to a folder of its own, read by DuckDB as the two Glue tables
(same columns and types, partitions on dt), and the template's Athena named queries run over them.

A table's partition dt is the folder its storage.location.template names for dt, in the folder of the bucket
that location names, as Athena's partition projection finds it. The landing table reads the consumer's NDJSON
objects there (the raw bucket). The curated table reads manifests there (SymlinkTextInputFormat, the curated
bucket): each line names a Parquet data file, and the table is those files and no other, so a data file no
manifest lists (a run that died before its commit, a merged file) is not in it.

`folders` is always {bucket name: the folder it was copied to}. `connect` gives the operators' view (every
table over the folders it is given); `analysts` gives the analysts' view: the curated table alone, over the
curated bucket's folder alone, in a DuckDB that may open no file outside it."""

import re
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


def default_encryption(s3, bucket):
    """(algorithm, KMS key or None) of the bucket's default encryption."""
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    default = rule["ApplyServerSideEncryptionByDefault"]
    return default["SSEAlgorithm"], default.get("KMSMasterKeyID")


def encryption(s3, bucket, keys):
    """{(algorithm, KMS key or None): objects}: how S3 says the objects `keys` of `bucket` are encrypted."""
    found = {}
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        kind = (head.get("ServerSideEncryption"), head.get("SSEKMSKeyId"))
        found[kind] = found.get(kind, 0) + 1
    return found


def table(template, logical_id):
    """A Glue table's name and its columns (without the partition key) as DuckDB types, in order."""
    table_input = template.properties(logical_id, "TableInput")
    columns = table_input["StorageDescriptor"]["Columns"]
    return table_input["Name"], {column["Name"]: DUCKDB_TYPES[column["Type"]] for column in columns}


def location(template, logical_id):
    """(bucket, key with ${dt}) of a Glue table's storage.location.template."""
    return _bucket_and_key(template.properties(logical_id, "TableInput", "Parameters", "storage.location.template"))


def bucket_of(template, logical_id):
    """The bucket a Glue table's partitions are in."""
    return location(template, logical_id)[0]


def _folder(folders, bucket, what):
    try:
        return Path(folders[bucket])
    except KeyError:
        raise LakeError(f"{what} is in the bucket {bucket}, which this view is not given") from None


def partitions(folders, template, logical_id):
    """{dt: [paths]}: the objects of each of the table's partitions in its bucket's copied folder, the
    partitions in order."""
    bucket, key = location(template, logical_id)
    folder = _folder(folders, bucket, f"the table {table(template, logical_id)[0]}")
    head, tail = key.split("${dt}")
    directory, _, prefix = head.rpartition("/")
    found = {}
    for named in sorted((folder / directory).glob(prefix + "*")):
        place = named / tail.strip("/")
        objects = sorted(path for path in place.iterdir() if path.is_file()) if place.is_dir() else []
        if objects:
            found[named.name[len(prefix) :]] = objects
    return found


def manifest_uris(folders, template):
    """[(manifest path, URI)]: every data-file URI the curated table's manifests list, in order."""
    return [
        (manifest, line.strip())
        for manifests in partitions(folders, template, CURATED_TABLE).values()
        for manifest in manifests
        for line in manifest.read_text().splitlines()
        if line.strip()
    ]


def curated_files(folders, template):
    """{dt: [paths]}: the data files the curated table reads in each partition, as its manifests list them
    (s3://bucket/key, a line each), found in the curated bucket's copied folder. A URI in any other bucket is
    refused: the analysts' role reads the curated bucket alone."""
    bucket = bucket_of(template, CURATED_TABLE)
    folder = _folder(folders, bucket, "the curated table")
    files = {}
    for dt, manifests in partitions(folders, template, CURATED_TABLE).items():
        for manifest in manifests:
            for line in manifest.read_text().splitlines():
                if not line.strip():
                    continue
                listed_bucket, key = _bucket_and_key(line.strip())
                if listed_bucket != bucket:
                    raise LakeError(f"{manifest} lists {line.strip()}, which is not in the bucket {bucket}")
                files.setdefault(dt, []).append(folder / key)
    return files


def _bucket_and_key(uri):
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _session(allowed=None):
    """An in-memory DuckDB in Athena's session; with `allowed` (folders), one that opens no file outside them
    and cannot be given more."""
    connection = duckdb.connect()
    for statement in ATHENA_SESSION:
        connection.execute(statement)
    if allowed is not None:
        folders = ", ".join(_literal(str(Path(folder).resolve()) + "/") for folder in allowed)
        connection.execute(f"SET allowed_directories = [{folders}]")
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
    return connection


def connect(folders, template):
    """The operators' view: an in-memory DuckDB with the landing and the curated table as views over the
    copied buckets `folders`, each with the Glue table's columns and types, then dt."""
    connection = _session()
    name, columns = table(template, LANDING_TABLE)
    landed = [path for paths in partitions(folders, template, LANDING_TABLE).values() for path in paths]
    if landed:
        connection.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_json({_list(landed)}, format = 'newline_delimited', "
            f"columns = {_struct(columns)}, hive_partitioning = true, hive_types = {{'dt': 'VARCHAR'}}, "
            "dateformat = '%Y-%m-%d', timestampformat = '%Y-%m-%d %H:%M:%S.%f')"
        )
    else:
        _empty(connection, name, columns)
    _curated_view(connection, folders, template)
    return connection


def analysts(folder, template):
    """The analysts' view: the curated table alone, over `folder`, the curated bucket's copy, with the
    manifests' URIs read as paths in it; DuckDB may open no file outside that folder. A manifest that named
    a file in any other bucket fails the view, as it would fail an analyst's query."""
    connection = _session(allowed=[folder])
    _curated_view(connection, {bucket_of(template, CURATED_TABLE): folder}, template)
    return connection


def _curated_view(connection, folders, template):
    name, columns = table(template, CURATED_TABLE)
    selects = [
        f"SELECT {', '.join(columns)}, {_literal(dt)} AS dt FROM read_parquet({_list(paths)})"
        for dt, paths in curated_files(folders, template).items()
    ]
    if selects:
        connection.execute(f"CREATE VIEW {name} AS " + " UNION ALL ".join(selects))
        _check_types(connection, name, columns)
    else:
        _empty(connection, name, columns)


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


def named_queries(connection, template, only=None):
    """Runs the named queries in template order (those whose names are in `only`, when given); yields (name,
    description, result table as text, rows)."""
    for name, description, sql in template.named_queries():
        if only is not None and name not in only:
            continue
        relation = connection.sql(sql)
        yield name, description, str(relation), relation.fetchall()


def analyst_queries(template):
    """The names of the named queries an analyst runs: those over the curated table and not the landing one."""
    curated, _ = table(template, CURATED_TABLE)
    landing, _ = table(template, LANDING_TABLE)
    return [
        name
        for name, _, sql in template.named_queries()
        if re.search(rf"\b{curated}\b", sql) and not re.search(rf"\b{landing}\b", sql)
    ]


def records(connection, template, logical_id):
    """(rows, distinct unique_ids) of a table."""
    name, _ = table(template, logical_id)
    return connection.sql(f"SELECT count(*), count(DISTINCT unique_id) FROM {name}").fetchall()[0]
