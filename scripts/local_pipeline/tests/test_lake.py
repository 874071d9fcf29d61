"""The lake as DuckDB reads it, on a bucket copied by hand: the curated table is the files its manifests list
and no other, in the Glue table's types, and what a named query reads of it is counted by column and
partition. No endpoint needed."""

import tempfile
import unittest
from pathlib import Path

import duckdb

from local_pipeline import lake, scan
from local_pipeline.template import Template

BUCKET = "lake-bucket"
# Values of each DuckDB type for row i.
VALUES = {"VARCHAR": "'v' || i", "INTEGER": "i::INTEGER", "DATE": "DATE '1990-01-01' + i::INTEGER",
          "TIMESTAMP": "TIMESTAMP '2026-11-29' + i * INTERVAL 1 SECOND"}


def template():
    bound = Template({"BucketName": BUCKET})
    bound.bind("DataBucket", BUCKET)
    return bound


def write_parquet(path, columns, rows, first=0, overrides=None):
    """A zstd Parquet file of `rows` rows with `columns` ({name: DuckDB type}), ids from `first`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    selected = ", ".join((overrides or {}).get(name, f"{VALUES[kind]} AS {name}") for name, kind in columns.items())
    duckdb.sql(f"COPY (SELECT {selected} FROM range({first}, {first + rows}) AS t(i)) TO '{path}' "
               "(FORMAT parquet, COMPRESSION zstd)")


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
        self.manifest("2026-11-29", self.data_file("2026-11-29", "b", 4, first=3),
                      self.data_file("2026-11-29", "c", 5, first=7))
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

    COLUMNS = {"unique_id": "VARCHAR", "accessed_at": "TIMESTAMP", "consumed_traffic": "INTEGER",
               "email": "VARCHAR"}

    @classmethod
    def setUpClass(cls):
        cls.folder = Path(tempfile.mkdtemp(prefix="scan-"))
        cls.files = {"2026-11-28": [cls.folder / "a.parquet"], "2026-11-29": [cls.folder / "b.parquet",
                                                                              cls.folder / "c.parquet"]}
        for first, path in enumerate(path for paths in cls.files.values() for path in paths):
            write_parquet(path, cls.COLUMNS, 2000, first * 2000)
        cls.connection = duckdb.connect()
        cls.connection.execute("CREATE MACRO date_format(value, format) AS strftime(value, format)")

    def chunks(self, columns, dts):
        """The sum of the column chunks' compressed sizes, computed apart."""
        total = 0
        for dt in dts:
            for path in self.files[dt]:
                for name, size in duckdb.sql(f"SELECT path_in_schema, total_compressed_size "
                                             f"FROM parquet_metadata('{path}')").fetchall():
                    total += size if name in columns else 0
        return total

    def bytes(self, sql):
        return scan.parquet_bytes(self.connection, sql, self.files, list(self.COLUMNS))

    def test_a_query_reads_the_columns_it_names_in_the_partitions_it_filters_to(self):
        sql = ("SELECT date_trunc('hour', accessed_at) AS hour, sum(consumed_traffic) AS traffic FROM user_sessions "
               "WHERE dt = date_format(DATE '2026-11-29', '%Y-%m-%d') GROUP BY 1 ORDER BY 1")
        self.assertEqual(self.bytes(sql), (["2026-11-29"], ["accessed_at", "consumed_traffic"],
                                           self.chunks({"accessed_at", "consumed_traffic"}, ["2026-11-29"])))

    def test_a_range_on_dt_and_another_condition_keep_the_partitions_in_range(self):
        sql = ("SELECT count(*) FROM user_sessions WHERE dt >= '2026-11-29' AND consumed_traffic > 0 "
               "AND dt < date_format(DATE '2026-11-30', '%Y-%m-%d')")
        self.assertEqual(self.bytes(sql), (["2026-11-29"], ["consumed_traffic"],
                                           self.chunks({"consumed_traffic"}, ["2026-11-29"])))

    def test_count_star_reads_no_column_and_a_star_reads_them_all(self):
        every = list(self.files)
        self.assertEqual(self.bytes("SELECT dt, count(*) AS records FROM user_sessions GROUP BY dt"),
                         (every, [], 0))
        self.assertEqual(self.bytes("SELECT * FROM user_sessions LIMIT 10"),
                         (every, list(self.COLUMNS), self.chunks(set(self.COLUMNS), every)))

    def test_the_partitions_read_leave_no_result_unfinished_on_the_connection(self):
        sql = "SELECT count(*) FROM user_sessions_landing WHERE dt >= '2026-11-29'"
        self.assertEqual(scan.partitions_read(self.connection, sql, list(self.files)), ["2026-11-29"])
        self.assertEqual(self.connection.sql("SELECT 1").fetchall(), [(1,)])

    def test_an_or_reads_every_partition(self):
        sql = "SELECT unique_id FROM user_sessions WHERE dt = '2026-11-29' OR email = 'x'"
        self.assertEqual(self.bytes(sql), (list(self.files), ["unique_id", "email"],
                                           self.chunks({"unique_id", "email"}, list(self.files))))


if __name__ == "__main__":
    unittest.main()
