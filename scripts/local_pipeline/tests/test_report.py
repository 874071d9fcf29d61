"""The end of a run as report.py tells it, on outcomes made by hand: the summary's lines, the compactor's line,
and the checks that say whether the pipeline kept its promise, raw and curated data in buckets of their own
and each bucket's objects under its own encryption among them."""

import unittest
from pathlib import Path

from local_pipeline import report
from local_pipeline.compaction import Compaction
from local_pipeline.pipeline import Outcome
from local_pipeline.resources import Resources

IDS = [f"r{number}" for number in range(10)]
ACCOUNT = {
    "partitions": 2,
    "landed_objects": 4,
    "landed_bytes": 123456,
    "records_read": 10,
    "duplicates": 0,
    "records_written": 10,
    "files_written": 2,
    "bytes_written": 4096,
    "commits": 2,
    "objects_left": 0,
    "failed_partitions": [],
}


def records(ids):
    return [{"unique_id": unique_id} for unique_id in ids]


def outcome(**overrides):
    """A clean run of ten records in two messages, all landed once in two partitions, nothing malformed."""
    values = {
        "resources": None,
        "lake": Path("lake"),
        "objects": 3,
        "producer_summary": {"sent": 10, "messages": 2, "sqs_calls": 1, "elapsed_ms": 1500, "failed": 0, "unsent": 0},
        "malformed_sent": 0,
        "mixed_ids": [],
        "mixed_messages": 0,
        "queue_depth": 0,
        "dead_letter_depth": 0,
        "data_key": "streaming_data.json",
        "array": records(IDS),
        "segments": 0,
        "partition_keys": [
            "user_sessions/dt=2026-11-29/b.json",
            "user_sessions/dt=2026-11-28/a.json",
            "user_sessions/dt=2026-11-29/c.json",
        ],
        "partition_records": records(IDS),
        "error_prefix": "errors/",
        "error_keys": [],
        "error_records": [],
        "mapping": {
            "invocations": 2,
            "received": 2,
            "deleted": 2,
            "failed": 0,
            "function_errors": 0,
            "slowest_invocation_seconds": 0.5,
        },
        "mapping_errors": [],
        "elapsed_seconds": 6.0,
        "landed_seconds": 4.0,
        "drained": True,
        "usage": {},
        "producer_billed_ms": 1500,
        "logs": Path("logs"),
        "compaction": None,
    }
    values.update(overrides)
    return Outcome(**values)


def failing(checks):
    return [what for what, holds in checks if not holds]


class ChecksTest(unittest.TestCase):
    def test_a_clean_run_passes_every_check_in_the_order_a_reader_asks(self):
        checks = report.checks(outcome())
        self.assertEqual(
            [what for what, _ in checks],
            [
                "the queue was drained",
                "streaming_data.json holds the 10 valid records sent",
                "no record is in streaming_data.json twice",
                "every record in streaming_data.json is in the partitions",
                "the 0 malformed messages are in the error output with their reasons",
                "the event source mapping's calls all succeeded",
            ],
        )
        self.assertEqual(failing(checks), [])

    def test_a_record_twice_in_the_array_fails_only_the_doubles_check(self):
        checks = report.checks(outcome(array=records([*IDS, "r3"])))
        self.assertEqual(failing(checks), ["no record is in streaming_data.json twice"])

    def test_a_record_missing_from_the_array_fails_the_count(self):
        checks = report.checks(outcome(array=records(IDS[1:])))
        self.assertEqual(failing(checks), ["streaming_data.json holds the 10 valid records sent"])

    def test_a_record_in_the_array_but_not_in_the_partitions_fails(self):
        checks = report.checks(outcome(partition_records=records(IDS[:-1])))
        self.assertEqual(failing(checks), ["every record in streaming_data.json is in the partitions"])

    def test_without_the_array_the_partitions_are_counted(self):
        self.assertEqual(
            report.checks(outcome(data_key="", array=[]))[1],
            ("the partitions hold the 10 valid records sent (streaming_data.json is off)", True),
        )
        self.assertEqual(
            failing(report.checks(outcome(data_key="", array=[], partition_records=records(IDS[:9])))),
            ["the partitions hold the 10 valid records sent (streaming_data.json is off)"],
        )

    def test_a_queue_not_drained_or_with_messages_left_fails(self):
        self.assertEqual(failing(report.checks(outcome(drained=False))), ["the queue was drained"])
        self.assertEqual(failing(report.checks(outcome(queue_depth=1))), ["the queue was drained"])

    def test_a_failed_mapping_call_fails(self):
        self.assertEqual(
            failing(report.checks(outcome(mapping_errors=["DeleteMessageBatch: boom"]))),
            ["the event source mapping's calls all succeeded"],
        )

    def test_the_compactor_is_checked_when_it_ran(self):
        done = Compaction(ok=True, response=ACCOUNT, billed_ms=800, usage={})
        checks = report.checks(outcome(compaction=done))
        self.assertEqual(checks[-1], ("the compactor compacted every landed object, every partition committed", True))
        for compaction in (
            Compaction(ok=False, response=ACCOUNT, billed_ms=800, usage={}),
            Compaction(ok=True, response={**ACCOUNT, "objects_left": 1}, billed_ms=800, usage={}),
            Compaction(ok=True, response={**ACCOUNT, "failed_partitions": ["2026-11-29"]}, billed_ms=800, usage={}),
        ):
            with self.subTest(compaction):
                self.assertFalse(report.checks(outcome(compaction=compaction))[-1][1])

    def test_valid_records_sent_include_those_packed_beside_a_bad_line(self):
        self.assertEqual(report.valid_sent(outcome(mixed_ids=["m1", "m2", "m3", "m4"])), 14)


class SetAsideTest(unittest.TestCase):
    def test_each_malformed_message_in_the_error_output_with_its_reasons_holds(self):
        run = outcome(
            malformed_sent=2,
            mixed_messages=1,
            error_keys=["errors/a", "errors/b", "errors/c"],
            error_records=[{"problem": "not JSON", "record": "x"}] * 3,
        )
        self.assertEqual(
            report.set_aside(run),
            (
                "the 2 malformed messages and the 1 packed messages with a bad line are in the error output "
                "with their reasons",
                True,
            ),
        )

    def test_an_error_record_without_its_reason_or_record_fails(self):
        for record in ({"record": "x"}, {"problem": "", "record": "x"}, {"problem": "not JSON"}):
            with self.subTest(record):
                run = outcome(malformed_sent=1, error_keys=["errors/a"], error_records=[record])
                self.assertFalse(report.set_aside(run)[1])

    def test_a_dead_lettered_message_fails_when_there_is_an_error_output(self):
        run = outcome(
            malformed_sent=1,
            error_keys=["errors/a"],
            error_records=[{"problem": "not JSON", "record": "x"}],
            dead_letter_depth=1,
        )
        self.assertFalse(report.set_aside(run)[1])

    def test_without_an_error_output_the_malformed_messages_are_dead_lettered_whole(self):
        run = outcome(error_prefix=None, malformed_sent=3, dead_letter_depth=3)
        self.assertEqual(report.set_aside(run), ("the 3 malformed messages are in the dead-letter queue", True))
        self.assertFalse(report.set_aside(outcome(error_prefix=None, malformed_sent=3, dead_letter_depth=2))[1])


RAW_PREFIXES = ("user_sessions/", "errors/", "streaming_data.json", "streaming_data/")
KEY_A = "arn:aws:kms:eu-central-1:123456789012:key/aaaaaaaa-0000-4000-8000-000000000001"
KEY_B = "arn:aws:kms:eu-central-1:123456789012:key/bbbbbbbb-0000-4000-8000-000000000002"


def two_buckets(raw_keys, curated_keys, curated="curated-b", encryption=None):
    """A run whose raw bucket raw-b and curated bucket `curated` held these keys."""
    resources = Resources(queue=None, dead_letter_queue=None, bucket="raw-b", secret="arn:secret")
    keys = {"raw-b": raw_keys} | ({curated: curated_keys} if curated != "raw-b" else {})
    return outcome(
        resources=resources,
        folders={name: Path(name) for name in keys},
        bucket_keys=keys,
        encryption=encryption or {},
        curated_bucket=curated,
        curated=Path(curated),
        curated_prefix="curated/",
        raw_prefixes=RAW_PREFIXES,
    )


class BucketsApartTest(unittest.TestCase):
    RAW_KEYS = (
        "streaming_data.json",
        "streaming_data/00000001.json",
        "user_sessions/dt=2026-11-29/a.ndjson",
        "errors/b",
    )
    CURATED_KEYS = ("curated/data/dt=2026-11-29/a.parquet", "curated/state/dt=2026-11-29.json")

    def test_raw_and_curated_keys_each_in_their_bucket_hold(self):
        checks = report.buckets_apart(two_buckets(list(self.RAW_KEYS), list(self.CURATED_KEYS)))
        self.assertEqual(
            checks,
            [
                ("the raw bucket raw-b holds no curated key (4 objects, 0 under curated/)", True),
                (
                    "the curated bucket curated-b holds curated/ keys only, no array, landing zone or error output "
                    "(2 objects)",
                    True,
                ),
            ],
        )

    def test_a_curated_key_in_the_raw_bucket_or_raw_data_in_the_curated_bucket_fails(self):
        checks = report.buckets_apart(two_buckets([*self.RAW_KEYS, "curated/x"], list(self.CURATED_KEYS)))
        self.assertEqual([holds for _, holds in checks], [False, True])
        for stray in ("errors/b", "streaming_data.json", "user_sessions/dt=2026-11-29/a.ndjson", "athena/x"):
            with self.subTest(stray):
                checks = report.buckets_apart(two_buckets(list(self.RAW_KEYS), [*self.CURATED_KEYS, stray]))
                self.assertEqual([holds for _, holds in checks], [True, False])
                self.assertIn(f"1 others, e.g. {stray}", checks[1][0])

    def test_an_empty_curated_bucket_fails(self):
        self.assertFalse(report.buckets_apart(two_buckets(list(self.RAW_KEYS), []))[1][1])

    def test_one_bucket_for_both_fails(self):
        checks = report.buckets_apart(two_buckets([*self.RAW_KEYS, *self.CURATED_KEYS], [], curated="raw-b"))
        self.assertEqual(
            checks, [("the curated lake is in a bucket of its own (it is in the raw bucket raw-b)", False)]
        )

    def test_the_checks_are_among_the_runs_and_the_buckets_in_its_summary(self):
        run = two_buckets(list(self.RAW_KEYS), list(self.CURATED_KEYS))
        self.assertEqual(report.checks(run)[-2:], report.buckets_apart(run))
        self.assertEqual(
            report.summary_lines(run)[-1],
            "buckets       raw raw-b: 4 objects in raw-b/; curated curated-b: 2 objects in curated-b/",
        )


class EncryptedTest(unittest.TestCase):
    def run_with(self, raw, curated):
        return two_buckets(["a"], ["curated/b"], encryption={"raw-b": raw, "curated-b": curated})

    def test_each_bucket_under_its_own_kms_key_holds(self):
        checks = report.encrypted(
            self.run_with(
                (("aws:kms", KEY_A), {("aws:kms", KEY_A): 3}), (("aws:kms", KEY_B[-36:]), {("aws:kms", KEY_B): 2})
            )
        )
        self.assertEqual(
            checks,
            [
                (
                    "every object is under its bucket's default encryption (raw-b: 3 objects, aws:kms key aaaaaaaa; "
                    "curated-b: 2 objects, aws:kms key bbbbbbbb)",
                    True,
                ),
                ("each bucket has a KMS key of its own (2 keys, 2 buckets)", True),
            ],
        )

    def test_an_object_under_another_key_or_one_key_for_both_fails(self):
        checks = report.encrypted(
            self.run_with(
                (("aws:kms", KEY_A), {("aws:kms", KEY_A): 3}),
                (("aws:kms", KEY_A), {("aws:kms", KEY_A): 1, ("AES256", None): 1}),
            )
        )
        self.assertEqual([holds for _, holds in checks], [False, False])
        self.assertIn("curated-b: 2 objects, aws:kms key aaaaaaaa, 1 otherwise", checks[0][0])

    def test_s3_managed_keys_are_one_check(self):
        checks = report.encrypted(self.run_with((("AES256", None), {("AES256", None): 3}), (("AES256", None), {})))
        self.assertEqual(
            checks,
            [
                (
                    "every object is under its bucket's default encryption (raw-b: 3 objects, AES256; "
                    "curated-b: 0 objects, AES256)",
                    True,
                )
            ],
        )


class SummaryTest(unittest.TestCase):
    def test_the_summary_says_what_each_part_did(self):
        lines = report.summary_lines(outcome())
        self.assertEqual(
            lines,
            [
                "producer      sent 10 records in 2 messages, 1 SendMessageBatch calls (1.5 s), failed 0, unsent 0",
                "malformed     0 messages mixed in",
                "queue         0 messages left; dead-letter queue 0",
                "error output  0 records in 0 objects",
                "consumer      2 invocations, 2 messages received, 2 consumed, 0 reported failed, "
                "0 function errors; slowest invocation 0.5 s",
                "streaming_data.json 10 records, 10 distinct",
                "partitions    2 (dt=2026-11-28, dt=2026-11-29), 3 objects, 10 records",
                "elapsed       6.0 s; the last record landed after 4.0 s, 2 records/s end to end",
            ],
        )

    def test_packed_messages_segments_and_an_array_that_is_off_are_told(self):
        lines = report.summary_lines(outcome(mixed_messages=2, mixed_ids=IDS[:8], segments=3, data_key=""))
        self.assertEqual(
            lines[1], "malformed     0 messages mixed in, and 2 packed messages with a bad line among 8 valid records"
        )
        self.assertEqual(lines[5], "array (off)   10 records, 10 distinct (with its 3 sealed segments)")

    def test_a_run_that_landed_nothing_has_no_rate(self):
        self.assertTrue(report.summary_lines(outcome(landed_seconds=0))[7].endswith(", 0 records/s end to end"))

    def test_the_compactors_line_comes_last_when_it_ran(self):
        done = Compaction(ok=True, response=ACCOUNT, billed_ms=800, usage={})
        lines = report.summary_lines(outcome(compaction=done))
        self.assertEqual(lines[-1], report.compactor_line(done))
        self.assertEqual(len(lines), 9)


class CompactorLineTest(unittest.TestCase):
    def test_a_run_is_its_account_with_bytes_grouped_by_thousands(self):
        line = report.compactor_line(Compaction(ok=True, response=ACCOUNT, billed_ms=800, usage={}))
        self.assertEqual(
            line,
            "compactor     2 partitions, 4 landed objects (123,456 bytes), 10 records read, 0 duplicates dropped, "
            "10 written in 2 files (4,096 bytes), 2 commits, 0 objects left; 800 ms",
        )

    def test_a_failed_run_is_its_error(self):
        failed = Compaction(
            ok=False, response={"errorType": "Timeout", "errorMessage": "took too long"}, billed_ms=900, usage={}
        )
        self.assertEqual(report.compactor_line(failed), "compactor     failed after 900 ms: Timeout: took too long")


if __name__ == "__main__":
    unittest.main()
