"""The lake as DuckDB reads it, on a bucket copied by hand: the landing table is the consumer's NDJSON objects
in each partition, the curated table is the files its manifests list and no other, both in the Glue table's
types; the template's named queries run over them in Athena's session; and what a named query reads of the
curated table is counted by column and partition. No endpoint needed."""

import json
import tempfile
import unittest
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import duckdb

from local_pipeline import lake, scan
from local_pipeline.template import Template

BUCKET = "lake-bucket"
# Values of each DuckDB type for row i.
VALUES = {
    "VARCHAR": "'v' || i",
    "INTEGER": "i::INTEGER",
    "DATE": "DATE '1990-01-01' + i::INTEGER",
    "TIMESTAMP": "TIMESTAMP '2026-11-29' + i * INTERVAL 1 SECOND",
}


def template():
    bound = Template({"BucketName": BUCKET})
    bound.bind("DataBucket", BUCKET)
    return bound


def write_parquet(path, columns, rows, first=0, overrides=None):
    """A zstd Parquet file of `rows` rows with `columns` ({name: DuckDB type}), ids from `first`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    selected = ", ".join((overrides or {}).get(name, f"{VALUES[kind]} AS {name}") for name, kind in columns.items())
    duckdb.sql(
        f"COPY (SELECT {selected} FROM range({first}, {first + rows}) AS t(i)) TO '{path}' "
        "(FORMAT parquet, COMPRESSION zstd)"
    )


class CuratedTableTest(unittest.TestCase):
    def setUp(self):
        self.folder = Path(tempfile.mkdtemp(prefix="lake-"))
        self.template = template()
        self.name, self.columns = lake.table(self.template, lake.CURATED_TABLE)
        self.prefix = self.template.parameters["CuratedPrefix"]

    def data_file(self, dt, name, rows, first=0, **overrides):
        key = f"{self.prefix}data/dt={dt}/{name}.parquet"
        write_parquet(self.folder / key, self.columns, rows, first, overrides)
        return f"s3://{BUCKET}/{key}"

    def manifest(self, dt, *uris):
        path = self.folder / f"{self.prefix}tables/user_sessions/dt={dt}/manifest"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{uri}\n" for uri in uris))

    def test_the_table_is_the_files_the_manifests_list_with_the_manifests_partition(self):
        self.manifest("2026-11-28", self.data_file("2026-11-28", "a", 3))
        self.manifest(
            "2026-11-29", self.data_file("2026-11-29", "b", 4, first=3), self.data_file("2026-11-29", "c", 5, first=7)
        )
        self.data_file("2026-11-29", "orphan", 100, first=1000)

        connection = lake.connect(self.folder, self.template)

        per_day = connection.sql(f"SELECT dt, count(*) FROM {self.name} GROUP BY dt ORDER BY dt").fetchall()
        self.assertEqual(per_day, [("2026-11-28", 3), ("2026-11-29", 9)])
        self.assertEqual(lake.records(connection, self.template, lake.CURATED_TABLE), (12, 12))
        described = connection.sql(f"DESCRIBE {self.name}").fetchall()
        self.assertEqual([row[0] for row in described], [*self.columns, "dt"])

    def test_a_data_file_of_another_type_than_the_glue_tables_is_refused(self):
        wider = self.data_file("2026-11-29", "a", 3, session_duration="i::BIGINT AS session_duration")
        self.manifest("2026-11-29", wider)
        with self.assertRaisesRegex(lake.LakeError, "session_duration BIGINT"):
            lake.connect(self.folder, self.template)

    def test_a_manifest_naming_another_bucket_is_refused(self):
        self.manifest("2026-11-29", "s3://elsewhere/curated/data/dt=2026-11-29/a.parquet")
        with self.assertRaisesRegex(lake.LakeError, "not in the bucket"):
            lake.connect(self.folder, self.template)

    def test_no_manifest_is_an_empty_table_of_the_glue_columns(self):
        connection = lake.connect(self.folder, self.template)
        self.assertEqual(lake.records(connection, self.template, lake.CURATED_TABLE), (0, 0))


class ParquetBytesTest(unittest.TestCase):
    """scan.parquet_bytes: the compressed column chunks of the columns a query names, in the partitions
    it reads."""

    COLUMNS: ClassVar[dict] = {
        "unique_id": "VARCHAR",
        "accessed_at": "TIMESTAMP",
        "consumed_traffic": "INTEGER",
        "email": "VARCHAR",
    }

    @classmethod
    def setUpClass(cls):
        cls.folder = Path(tempfile.mkdtemp(prefix="scan-"))
        cls.files = {
            "2026-11-28": [cls.folder / "a.parquet"],
            "2026-11-29": [cls.folder / "b.parquet", cls.folder / "c.parquet"],
        }
        for first, path in enumerate(path for paths in cls.files.values() for path in paths):
            write_parquet(path, cls.COLUMNS, 2000, first * 2000)
        cls.connection = duckdb.connect()
        cls.connection.execute("CREATE MACRO date_format(value, format) AS strftime(value, format)")

    def chunks(self, columns, dts):
        """The sum of the column chunks' compressed sizes, computed apart."""
        total = 0
        for dt in dts:
            for path in self.files[dt]:
                for name, size in duckdb.sql(
                    f"SELECT path_in_schema, total_compressed_size FROM parquet_metadata('{path}')"
                ).fetchall():
                    total += size if name in columns else 0
        return total

    def bytes(self, sql):
        return scan.parquet_bytes(self.connection, sql, self.files, list(self.COLUMNS))

    def test_a_query_reads_the_columns_it_names_in_the_partitions_it_filters_to(self):
        sql = (
            "SELECT date_trunc('hour', accessed_at) AS hour, sum(consumed_traffic) AS traffic FROM user_sessions "
            "WHERE dt = date_format(DATE '2026-11-29', '%Y-%m-%d') GROUP BY 1 ORDER BY 1"
        )
        self.assertEqual(
            self.bytes(sql),
            (
                ["2026-11-29"],
                ["accessed_at", "consumed_traffic"],
                self.chunks({"accessed_at", "consumed_traffic"}, ["2026-11-29"]),
            ),
        )

    def test_a_range_on_dt_and_another_condition_keep_the_partitions_in_range(self):
        sql = (
            "SELECT count(*) FROM user_sessions WHERE dt >= '2026-11-29' AND consumed_traffic > 0 "
            "AND dt < date_format(DATE '2026-11-30', '%Y-%m-%d')"
        )
        self.assertEqual(
            self.bytes(sql), (["2026-11-29"], ["consumed_traffic"], self.chunks({"consumed_traffic"}, ["2026-11-29"]))
        )

    def test_count_star_reads_no_column_and_a_star_reads_them_all(self):
        every = list(self.files)
        self.assertEqual(self.bytes("SELECT dt, count(*) AS records FROM user_sessions GROUP BY dt"), (every, [], 0))
        self.assertEqual(
            self.bytes("SELECT * FROM user_sessions LIMIT 10"),
            (every, list(self.COLUMNS), self.chunks(set(self.COLUMNS), every)),
        )

    def test_the_partitions_read_leave_no_result_unfinished_on_the_connection(self):
        sql = "SELECT count(*) FROM user_sessions_landing WHERE dt >= '2026-11-29'"
        self.assertEqual(scan.partitions_read(self.connection, sql, list(self.files)), ["2026-11-29"])
        self.assertEqual(self.connection.sql("SELECT 1").fetchall(), [(1,)])

    def test_an_or_reads_every_partition(self):
        sql = "SELECT unique_id FROM user_sessions WHERE dt = '2026-11-29' OR email = 'x'"
        self.assertEqual(
            self.bytes(sql),
            (list(self.files), ["unique_id", "email"], self.chunks({"unique_id", "email"}, list(self.files))),
        )


def landing_record(unique_id, accessed_at):
    """A record as the consumer lands it (the producer's fields and formats)."""
    return {
        "person_name": "Diana Stoica",
        "user_name": "dianastoica",
        "email": "dianastoica@outlook.com",
        "personal_number": "2641111318492",
        "birth_date": "1964-11-11",
        "address": "Aleea Garoafelor nr. 68, 454474 Zalău, jud. Sălaj",
        "phone_number": "+40 767 649 681",
        "mac_address": "60:ae:6b:c5:c3:fa",
        "ip_address": "64.197.195.213",
        "iban": "RO94LIBRDYZV7ONQLEKW7GNZ",
        "accessed_at": accessed_at.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "session_duration": 1071,
        "download_speed": 560,
        "upload_speed": 329,
        "consumed_traffic": 588015,
        "unique_id": unique_id,
    }


class LakeFolderTest(unittest.TestCase):
    """A copied bucket in a temporary folder of the test's own."""

    folder_name = "lake-"

    def setUp(self):
        folder = tempfile.TemporaryDirectory(prefix=self.folder_name)
        self.addCleanup(folder.cleanup)
        self.folder = Path(folder.name)
        self.template = template()

    def landed(self, dt, name, records):
        """A landed NDJSON object in partition `dt`, a record a line."""
        path = self.folder / f"{self.template.parameters['PartitionPrefix']}dt={dt}" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(record) + "\n" for record in records))
        return path


class LandingTableTest(LakeFolderTest):
    def test_the_table_is_every_landed_object_with_its_partition_in_the_glue_types(self):
        at = datetime(2026, 11, 29, 6, 47, 16, 810786)
        self.landed("2026-11-28", "a", [landing_record("r1", at - timedelta(days=1))])
        self.landed("2026-11-29", "b", [landing_record("r2", at), landing_record("r3", at)])
        self.landed("2026-11-29", "c", [landing_record("r4", at)])
        name, columns = lake.table(self.template, lake.LANDING_TABLE)

        connection = lake.connect(self.folder, self.template)

        per_day = connection.sql(f"SELECT dt, count(*) FROM {name} GROUP BY dt ORDER BY dt").fetchall()
        self.assertEqual(per_day, [("2026-11-28", 1), ("2026-11-29", 3)])
        described = [(row[0], row[1]) for row in connection.sql(f"DESCRIBE {name}").fetchall()]
        self.assertEqual(described, [*columns.items(), ("dt", "VARCHAR")])
        first = connection.sql(f"SELECT accessed_at, birth_date FROM {name} WHERE unique_id = 'r2'").fetchall()
        self.assertEqual(first, [(at, datetime(1964, 11, 11).date())])

    def test_a_record_landed_twice_counts_twice_and_once_distinct(self):
        at = datetime(2026, 11, 29, 12)
        self.landed("2026-11-29", "a", [landing_record("r1", at), landing_record("r2", at)])
        self.landed("2026-11-29", "b", [landing_record("r2", at)])
        connection = lake.connect(self.folder, self.template)
        self.assertEqual(lake.records(connection, self.template, lake.LANDING_TABLE), (3, 2))

    def test_no_landed_object_is_an_empty_table_of_the_glue_columns(self):
        name, columns = lake.table(self.template, lake.LANDING_TABLE)
        connection = lake.connect(self.folder, self.template)
        self.assertEqual(lake.records(connection, self.template, lake.LANDING_TABLE), (0, 0))
        described = [row[0] for row in connection.sql(f"DESCRIBE {name}").fetchall()]
        self.assertEqual(described, [*columns, "dt"])


class LakeFolderWithAQuoteTest(LandingTableTest):
    """The same, in a folder whose name has a quote, which the SQL's string literals must escape."""

    folder_name = "lake-o'brien-"


class PartitionsTest(LakeFolderTest):
    def test_each_partitions_objects_in_order_and_only_partitions_with_objects(self):
        at = datetime(2026, 11, 29, 12)
        b = self.landed("2026-11-29", "b", [landing_record("r1", at)])
        a = self.landed("2026-11-29", "a", [landing_record("r2", at)])
        c = self.landed("2026-11-27", "c", [landing_record("r3", at)])
        (self.folder / "user_sessions/dt=2026-11-28").mkdir(parents=True)
        (self.folder / "user_sessions/streaming_data.json").write_text("[]")
        (self.folder / "user_sessions/dt=2026-11-29/folder").mkdir()
        self.assertEqual(
            lake.partitions(self.folder, self.template, lake.LANDING_TABLE),
            {"2026-11-27": [c], "2026-11-29": [a, b]},
        )

    def test_no_folder_for_the_table_is_no_partition(self):
        self.assertEqual(lake.partitions(self.folder, self.template, lake.CURATED_TABLE), {})

    def test_a_glue_table_is_its_name_and_its_columns_as_duckdb_types_in_order(self):
        name, columns = lake.table(self.template, lake.LANDING_TABLE)
        self.assertEqual(name, "user_sessions_landing")
        self.assertEqual(list(columns)[:2], ["person_name", "user_name"])
        self.assertEqual(list(columns)[-1], "unique_id")
        self.assertEqual(
            {column: columns[column] for column in ("birth_date", "accessed_at", "session_duration", "email")},
            {"birth_date": "DATE", "accessed_at": "TIMESTAMP", "session_duration": "INTEGER", "email": "VARCHAR"},
        )
        self.assertNotIn("dt", columns)


class NamedQueriesTest(LakeFolderTest):
    """The template's named queries in DuckDB with Athena's session: UTC, and Presto's date_format."""

    def curated(self, dt, name, rows, **overrides):
        """A curated data file in partition `dt` and a manifest that lists it alone."""
        prefix = self.template.parameters["CuratedPrefix"]
        _, columns = lake.table(self.template, lake.CURATED_TABLE)
        key = f"{prefix}data/dt={dt}/{name}.parquet"
        write_parquet(self.folder / key, columns, rows, overrides=overrides)
        manifest = self.folder / f"{prefix}tables/user_sessions/dt={dt}/manifest"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(f"s3://{BUCKET}/{key}\n")

    def results(self):
        connection = lake.connect(self.folder, self.template)
        return {name.split(" ", 1)[1]: rows for name, _, _, rows in lake.named_queries(connection, self.template)}

    def test_every_named_query_runs_on_an_empty_lake_in_template_order(self):
        connection = lake.connect(self.folder, self.template)
        answers = list(lake.named_queries(connection, self.template))
        self.assertEqual([name for name, _, _, _ in answers], [name for name, _, _ in self.template.named_queries()])
        results = {name.split(" ", 1)[1]: rows for name, _, _, rows in answers}
        self.assertEqual(results["records per day"], [])
        self.assertEqual(results["duplicates by unique_id"], [])
        self.assertEqual(results["landing last hour"], [(0, 0, None, None)])
        self.assertTrue(all(description and table for _, description, table, _ in answers))

    def test_records_per_day_and_duplicates_read_todays_curated_partition(self):
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        now = "CURRENT_TIMESTAMP::TIMESTAMP - INTERVAL 1 MINUTE AS accessed_at"
        self.curated(today, "a", 3, accessed_at=now)
        self.curated("2020-01-01", "old", 2, accessed_at=now, unique_id="'twice' AS unique_id")
        results = self.results()
        self.assertEqual(results["records per day"], [(today, 3, 3)])
        self.assertEqual(results["duplicates by unique_id"], [("twice", 2)])
        self.assertEqual(sum(sessions for _, sessions, *_ in results["traffic by hour"]), 3)

    def test_landing_last_hour_counts_only_records_of_the_last_hour(self):
        now = datetime.now(UTC).replace(tzinfo=None)
        recent, old = now - timedelta(minutes=10), now - timedelta(hours=2)
        for name, at, unique_id in (("a", recent, "r1"), ("b", recent, "r1"), ("c", recent, "r2"), ("d", old, "r3")):
            self.landed(at.strftime("%Y-%m-%d"), name, [landing_record(unique_id, at)])
        ((records, unique_records, oldest, newest),) = self.results()["landing last hour"]
        self.assertEqual((records, unique_records), (3, 2))
        self.assertEqual((oldest, newest), (recent, recent))


class FakeS3:
    """list_objects_v2 pages and download_file, as boto3's client has them, over {key: bytes}."""

    def __init__(self, pages):
        self.pages = pages
        self.asked = []

    def get_paginator(self, operation):
        fake = self

        class Paginator:
            def paginate(self, Bucket, Prefix):
                fake.asked.append((operation, Bucket, Prefix))
                for page in fake.pages:
                    yield {"Contents": [{"Key": key} for key in page]} if page else {}

        return Paginator()

    def download_file(self, bucket, key, path):
        Path(path).write_bytes(f"{bucket}/{key}".encode())


class DownloadTest(LakeFolderTest):
    def test_every_object_of_every_page_lands_at_its_key_as_a_path(self):
        s3 = FakeS3([["user_sessions/dt=2026-11-29/a.json", "errors/b"], [], ["streaming_data.json"]])
        keys = lake.download(s3, BUCKET, "", self.folder)
        self.assertEqual(keys, ["user_sessions/dt=2026-11-29/a.json", "errors/b", "streaming_data.json"])
        self.assertEqual(s3.asked, [("list_objects_v2", BUCKET, "")])
        for key in keys:
            self.assertEqual((self.folder / key).read_bytes(), f"{BUCKET}/{key}".encode())


if __name__ == "__main__":
    unittest.main()
