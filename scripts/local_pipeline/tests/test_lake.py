"""The lake as DuckDB reads it, on buckets copied by hand, each to a folder of its own: the landing table is the
consumer's NDJSON objects in each partition of the raw bucket, the curated table is the files its manifests
list in the curated bucket and no other, both in the Glue table's types; the analysts' view reads the curated
bucket's folder and nothing else; the template's named queries run over them in Athena's session; and what a
named query reads of the curated table is counted by column and partition. No endpoint needed."""

import json
import tempfile
import unittest
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import duckdb

from local_pipeline import lake, privacy, report, scan
from local_pipeline.pipeline import Outcome
from local_pipeline.resources import Resources
from local_pipeline.template import Template

RAW = "raw-bucket"
CURATED = "curated-bucket"
# Values of each DuckDB type for row i.
VALUES = {
    "VARCHAR": "'v' || i",
    "INTEGER": "i::INTEGER",
    "DATE": "DATE '1990-01-01' + i::INTEGER",
    "TIMESTAMP": "TIMESTAMP '2026-11-29' + i * INTERVAL 1 SECOND",
}


def template():
    """The template with its buckets bound: the raw DataBucket, and the curated lake's CuratedBucket (which a
    one-bucket template does not name)."""
    bound = Template()
    bound.bind("DataBucket", RAW)
    bound.bind("CuratedBucket", CURATED)
    return bound


class BucketsTest(unittest.TestCase):
    """The stack's buckets copied to folders of the test's own: self.raw (the landing table's bucket) and
    self.curated (the curated table's; the same folder when the template has one bucket)."""

    folder_name = "lake-"

    def setUp(self):
        folder = tempfile.TemporaryDirectory(prefix=self.folder_name)
        self.addCleanup(folder.cleanup)
        self.template = template()
        self.raw_bucket = lake.bucket_of(self.template, lake.LANDING_TABLE)
        self.curated_bucket = lake.bucket_of(self.template, lake.CURATED_TABLE)
        self.folders = {self.raw_bucket: Path(folder.name) / "raw"}
        self.folders.setdefault(self.curated_bucket, Path(folder.name) / "curated")
        self.raw, self.curated = self.folders[self.raw_bucket], self.folders[self.curated_bucket]
        for path in self.folders.values():
            path.mkdir()

    def landed(self, dt, name, records):
        """A landed NDJSON object in partition `dt`, a record a line."""
        path = self.raw / f"{self.template.parameters['PartitionPrefix']}dt={dt}" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(record) + "\n" for record in records))
        return path


def write_parquet(path, columns, rows, first=0, overrides=None):
    """A zstd Parquet file of `rows` rows with `columns` ({name: DuckDB type}), ids from `first`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    selected = ", ".join((overrides or {}).get(name, f"{VALUES[kind]} AS {name}") for name, kind in columns.items())
    duckdb.sql(
        f"COPY (SELECT {selected} FROM range({first}, {first + rows}) AS t(i)) TO '{path}' "
        "(FORMAT parquet, COMPRESSION zstd)"
    )


class CuratedTableTest(BucketsTest):
    def setUp(self):
        super().setUp()
        self.name, self.columns = lake.table(self.template, lake.CURATED_TABLE)
        self.prefix = self.template.parameters["CuratedPrefix"]

    def data_file(self, dt, name, rows, first=0, **overrides):
        key = f"{self.prefix}data/dt={dt}/{name}.parquet"
        write_parquet(self.curated / key, self.columns, rows, first, overrides)
        return f"s3://{self.curated_bucket}/{key}"

    def manifest(self, dt, *uris):
        path = self.curated / f"{self.prefix}tables/user_sessions/dt={dt}/manifest"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{uri}\n" for uri in uris))

    def test_the_table_is_the_files_the_manifests_list_with_the_manifests_partition(self):
        self.manifest("2026-11-28", self.data_file("2026-11-28", "a", 3))
        self.manifest(
            "2026-11-29", self.data_file("2026-11-29", "b", 4, first=3), self.data_file("2026-11-29", "c", 5, first=7)
        )
        self.data_file("2026-11-29", "orphan", 100, first=1000)

        for view in (lake.connect(self.folders, self.template), lake.analysts(self.curated, self.template)):
            per_day = view.sql(f"SELECT dt, count(*) FROM {self.name} GROUP BY dt ORDER BY dt").fetchall()
            self.assertEqual(per_day, [("2026-11-28", 3), ("2026-11-29", 9)])
            self.assertEqual(lake.records(view, self.template, lake.CURATED_TABLE), (12, 12))
            described = view.sql(f"DESCRIBE {self.name}").fetchall()
            self.assertEqual([row[0] for row in described], [*self.columns, "dt"])

    def test_a_data_file_of_another_type_than_the_glue_tables_is_refused(self):
        wider = self.data_file("2026-11-29", "a", 3, session_duration="i::BIGINT AS session_duration")
        self.manifest("2026-11-29", wider)
        with self.assertRaisesRegex(lake.LakeError, "session_duration BIGINT"):
            lake.connect(self.folders, self.template)

    def test_a_manifest_naming_another_bucket_is_refused_in_either_view(self):
        self.manifest("2026-11-29", "s3://elsewhere/curated/data/dt=2026-11-29/a.parquet")
        with self.assertRaisesRegex(lake.LakeError, "not in the bucket"):
            lake.connect(self.folders, self.template)
        with self.assertRaisesRegex(lake.LakeError, "not in the bucket"):
            lake.analysts(self.curated, self.template)
        self.assertEqual(
            [uri for _, uri in lake.manifest_uris(self.folders, self.template)],
            ["s3://elsewhere/curated/data/dt=2026-11-29/a.parquet"],
        )

    def test_the_analysts_view_opens_no_file_outside_the_curated_bucket(self):
        self.manifest("2026-11-29", self.data_file("2026-11-29", "a", 3))
        outside = Path(self.curated).parent / "outside.parquet"
        write_parquet(outside, self.columns, 1)
        view = lake.analysts(self.curated, self.template)
        self.assertEqual(lake.records(view, self.template, lake.CURATED_TABLE), (3, 3))
        for sql in (
            f"SELECT count(*) FROM read_parquet('{outside}')",
            f"SELECT count(*) FROM read_parquet('{self.curated}/../outside.parquet')",
            "SET enable_external_access = true",
            "SET allowed_directories = ['/']",
        ):
            with self.subTest(sql), self.assertRaises(duckdb.Error):
                view.execute(sql)
        with self.assertRaises(duckdb.CatalogException):
            view.sql("SELECT count(*) FROM user_sessions_landing")

    def test_the_landing_table_is_not_in_the_analysts_view_given_the_raw_bucket_alone(self):
        if self.raw == self.curated:
            self.skipTest("the template keeps the curated lake in the raw bucket")
        with self.assertRaisesRegex(lake.LakeError, f"the curated table is in the bucket {self.curated_bucket}"):
            lake.curated_files({self.raw_bucket: self.raw}, self.template)

    def test_no_manifest_is_an_empty_table_of_the_glue_columns(self):
        connection = lake.connect(self.folders, self.template)
        self.assertEqual(lake.records(connection, self.template, lake.CURATED_TABLE), (0, 0))
        self.assertEqual(
            lake.records(lake.analysts(self.curated, self.template), self.template, lake.CURATED_TABLE), (0, 0)
        )
        self.assertEqual(lake.manifest_uris(self.folders, self.template), [])


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


class LandingTableTest(BucketsTest):
    def test_the_table_is_every_landed_object_with_its_partition_in_the_glue_types(self):
        at = datetime(2026, 11, 29, 6, 47, 16, 810786)
        self.landed("2026-11-28", "a", [landing_record("r1", at - timedelta(days=1))])
        self.landed("2026-11-29", "b", [landing_record("r2", at), landing_record("r3", at)])
        self.landed("2026-11-29", "c", [landing_record("r4", at)])
        name, columns = lake.table(self.template, lake.LANDING_TABLE)

        connection = lake.connect(self.folders, self.template)

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
        connection = lake.connect(self.folders, self.template)
        self.assertEqual(lake.records(connection, self.template, lake.LANDING_TABLE), (3, 2))

    def test_no_landed_object_is_an_empty_table_of_the_glue_columns(self):
        name, columns = lake.table(self.template, lake.LANDING_TABLE)
        connection = lake.connect(self.folders, self.template)
        self.assertEqual(lake.records(connection, self.template, lake.LANDING_TABLE), (0, 0))
        described = [row[0] for row in connection.sql(f"DESCRIBE {name}").fetchall()]
        self.assertEqual(described, [*columns, "dt"])


class LakeFolderWithAQuoteTest(LandingTableTest):
    """The same, in a folder whose name has a quote, which the SQL's string literals must escape."""

    folder_name = "lake-o'brien-"


class PartitionsTest(BucketsTest):
    def test_each_partitions_objects_in_order_and_only_partitions_with_objects(self):
        at = datetime(2026, 11, 29, 12)
        b = self.landed("2026-11-29", "b", [landing_record("r1", at)])
        a = self.landed("2026-11-29", "a", [landing_record("r2", at)])
        c = self.landed("2026-11-27", "c", [landing_record("r3", at)])
        (self.raw / "user_sessions/dt=2026-11-28").mkdir(parents=True)
        (self.raw / "user_sessions/streaming_data.json").write_text("[]")
        (self.raw / "user_sessions/dt=2026-11-29/folder").mkdir()
        self.assertEqual(
            lake.partitions(self.folders, self.template, lake.LANDING_TABLE),
            {"2026-11-27": [c], "2026-11-29": [a, b]},
        )

    def test_no_folder_for_the_table_is_no_partition(self):
        self.assertEqual(lake.partitions(self.folders, self.template, lake.CURATED_TABLE), {})

    def test_a_table_whose_bucket_the_view_is_not_given_is_refused(self):
        with self.assertRaisesRegex(lake.LakeError, f"user_sessions_landing is in the bucket {self.raw_bucket}"):
            lake.partitions({}, self.template, lake.LANDING_TABLE)

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


class NamedQueriesTest(BucketsTest):
    """The template's named queries in DuckDB with Athena's session: UTC, and Presto's date_format."""

    def curated_file(self, dt, name, rows, **overrides):
        """A curated data file in partition `dt` and a manifest that lists it alone."""
        prefix = self.template.parameters["CuratedPrefix"]
        _, columns = lake.table(self.template, lake.CURATED_TABLE)
        key = f"{prefix}data/dt={dt}/{name}.parquet"
        write_parquet(self.curated / key, columns, rows, overrides=overrides)
        manifest = self.curated / f"{prefix}tables/user_sessions/dt={dt}/manifest"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(f"s3://{self.curated_bucket}/{key}\n")

    def results(self):
        connection = lake.connect(self.folders, self.template)
        return {name.split(" ", 1)[1]: rows for name, _, _, rows in lake.named_queries(connection, self.template)}

    def test_every_named_query_runs_on_an_empty_lake_in_template_order(self):
        connection = lake.connect(self.folders, self.template)
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
        self.curated_file(today, "a", 3, accessed_at=now)
        self.curated_file("2020-01-01", "old", 2, accessed_at=now, unique_id="'twice' AS unique_id")
        results = self.results()
        self.assertEqual(results["records per day"], [(today, 3, 3)])
        self.assertEqual(results["duplicates by unique_id"], [("twice", 2)])
        self.assertEqual(sum(sessions for _, sessions, *_ in results["traffic by hour"]), 3)

    def test_analysts_run_the_queries_over_the_curated_table_and_their_view_answers_them(self):
        names = lake.analyst_queries(self.template)
        self.assertEqual(
            sorted(name.split(" ", 1)[1] for name in names),
            ["duplicates by unique_id", "records per day", "traffic by hour"],
        )
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        self.curated_file(today, "a", 3, accessed_at="CURRENT_TIMESTAMP::TIMESTAMP - INTERVAL 1 MINUTE AS accessed_at")
        view = lake.analysts(self.curated, self.template)
        answers = {name: rows for name, _, _, rows in lake.named_queries(view, self.template, names)}
        operators = lake.connect(self.folders, self.template)
        self.assertEqual(
            answers, {name: rows for name, _, _, rows in lake.named_queries(operators, self.template, names)}
        )

    def test_landing_last_hour_counts_only_records_of_the_last_hour(self):
        now = datetime.now(UTC).replace(tzinfo=None)
        recent, old = now - timedelta(minutes=10), now - timedelta(hours=2)
        for name, at, unique_id in (("a", recent, "r1"), ("b", recent, "r1"), ("c", recent, "r2"), ("d", old, "r3")):
            self.landed(at.strftime("%Y-%m-%d"), name, [landing_record(unique_id, at)])
        ((records, unique_records, oldest, newest),) = self.results()["landing last hour"]
        self.assertEqual((records, unique_records), (3, 2))
        self.assertEqual((oldest, newest), (recent, recent))


class LakeChecksTest(BucketsTest):
    """report.lake_checks on a curated lake made by hand: pseudonymised rows in the curated bucket, listed by
    its manifest."""

    ROWS = 50

    def setUp(self):
        super().setUp()
        if self.raw == self.curated:
            self.skipTest("the template keeps the curated lake in the raw bucket")
        self.prefix = self.template.parameters["CuratedPrefix"]
        _, self.columns = lake.table(self.template, lake.CURATED_TABLE)
        key = f"{self.prefix}data/dt=2026-11-29/a.parquet"
        tokens = {
            name: f"'k1.' || substr(md5(i::VARCHAR || '{name}'), 1, 16) AS {name}"
            for name in privacy.TOKEN_COLUMNS
            if name in self.columns
        }
        nulls = {name: f"NULL::{self.columns[name]} AS {name}" for name in (*privacy.DROPPED_COLUMNS, "birth_date")}
        write_parquet(
            self.curated / key,
            self.columns,
            self.ROWS,
            overrides={**tokens, **nulls, "county": "'Cluj' AS county", "sex": "'F' AS sex"},
        )
        self.uri = f"s3://{self.curated_bucket}/{key}"
        self.write_manifest(self.uri)
        self.records = [
            landing_record(f"00000000-0000-4000-8000-{number:012d}", datetime(2026, 11, 29, 12))
            for number in range(self.ROWS)
        ]

    def write_manifest(self, *uris):
        manifest = self.curated / f"{self.prefix}tables/user_sessions/dt=2026-11-29/manifest"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text("".join(f"{uri}\n" for uri in uris))

    def outcome(self):
        return Outcome(
            resources=Resources(queue=None, dead_letter_queue=None, bucket=self.raw_bucket, secret=""),
            lake=self.raw,
            objects=0,
            producer_summary={"sent": self.ROWS},
            malformed_sent=0,
            mixed_ids=[],
            mixed_messages=0,
            queue_depth=0,
            dead_letter_depth=0,
            data_key="streaming_data.json",
            array=[],
            segments=0,
            partition_keys=[],
            partition_records=self.records,
            error_prefix=None,
            error_keys=[],
            error_records=[],
            mapping={},
            mapping_errors=[],
            elapsed_seconds=1.0,
            landed_seconds=1.0,
            drained=True,
            usage={},
            producer_billed_ms=0,
            logs=self.raw,
            compaction=None,
            folders=self.folders,
            curated_bucket=self.curated_bucket,
            curated=self.curated,
            curated_prefix=self.prefix,
        )

    def test_a_pseudonymised_lake_in_its_bucket_passes_every_check(self):
        checks = report.lake_checks(self.outcome(), self.template, lake.connect(self.folders, self.template))
        self.assertEqual([what for what, holds in checks if not holds], [])
        self.assertEqual(len(checks), 3 + 8)
        self.assertTrue(
            checks[2][0].startswith(
                f"the analysts' view (DuckDB given only the curated bucket's folder) counts the {self.ROWS} records"
            ),
            checks[2][0],
        )

    def test_a_manifest_naming_the_raw_bucket_fails_the_manifests_and_the_analysts_view(self):
        raw_uri = f"s3://{self.raw_bucket}/{self.prefix}data/dt=2026-11-29/a.parquet"
        self.write_manifest(self.uri, raw_uri)
        with self.assertRaisesRegex(lake.LakeError, "not in the bucket"):
            lake.connect(self.folders, self.template)
        checks = report.lake_checks(self.outcome(), self.template, None)
        failing = [what for what, holds in checks if not holds]
        self.assertEqual(len(failing), 2, checks)
        self.assertIn(f"1 elsewhere, e.g. {raw_uri}", failing[0])
        self.assertIn("the operators' view failed", failing[1])


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


class DownloadTest(BucketsTest):
    def test_every_object_of_every_page_lands_at_its_key_as_a_path(self):
        s3 = FakeS3([["user_sessions/dt=2026-11-29/a.json", "errors/b"], [], ["streaming_data.json"]])
        keys = lake.download(s3, RAW, "", self.raw)
        self.assertEqual(keys, ["user_sessions/dt=2026-11-29/a.json", "errors/b", "streaming_data.json"])
        self.assertEqual(s3.asked, [("list_objects_v2", RAW, "")])
        for key in keys:
            self.assertEqual((self.raw / key).read_bytes(), f"{RAW}/{key}".encode())


if __name__ == "__main__":
    unittest.main()
