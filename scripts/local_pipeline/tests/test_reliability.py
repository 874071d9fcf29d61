"""The reliability scenarios (local_pipeline.reliability) with the real bootstraps: no record lost or
doubled under each fault. Writes the report to target/reliability.md."""

import json
import sys
import tempfile
import time
import unittest
from pathlib import Path
from typing import ClassVar

import boto3

from local_pipeline import pipeline
from local_pipeline.fault_proxy import KINDS
from local_pipeline.reliability.during import Running, watch_the_array
from local_pipeline.reliability.filler import filler_array, filler_damage
from local_pipeline.reliability.runner import appends_failed, run_scenario
from local_pipeline.reliability.scenarios import BASE_PARAMETERS, s3_faults, s3_slower, scenarios
from local_pipeline.reliability.table import document, progress_line
from local_pipeline.template import ROOT, Template

from .support import bootstrap, require_loopback_endpoint, unique_name


class ReliabilityTest(unittest.TestCase):
    rows: ClassVar[list] = []

    def setUp(self):
        require_loopback_endpoint(self)
        self.producer = bootstrap("PRODUCER_BOOTSTRAP", "producer")
        self.consumer = bootstrap("CONSUMER_BOOTSTRAP", "consumer")
        self.compactor = bootstrap("COMPACTOR_BOOTSTRAP", "compactor")

    @classmethod
    def tearDownClass(cls):
        if cls.rows:
            report = ROOT / "target" / "reliability.md"
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(document(cls.rows))

    def test_every_scenario_loses_and_doubles_nothing(self):
        planned = scenarios()
        for number, scenario in enumerate(planned, 1):
            with self.subTest(scenario.name), tempfile.TemporaryDirectory(prefix="reliability-") as output:
                # A line as each scenario starts and ends: together they take minutes.
                print(f"\n    scenario {number}/{len(planned)}: {scenario.name}", file=sys.stderr, flush=True)
                row = run_scenario(scenario, self.producer, self.consumer, Path(output), compactor=self.compactor)
                print(f"    {progress_line(row)}", file=sys.stderr, flush=True)
                self.rows.append(row)
                self.assertTrue(row.holds, row)


def array(*ids):
    return json.dumps([{"unique_id": unique_id} for unique_id in ids]).encode()


class HistoryTest(unittest.TestCase):
    """What the scenarios read back: the array's sealed segments in order, then the live array, and the
    filler an initial array starts with."""

    def test_segments_sit_beside_the_key_under_its_stem(self):
        self.assertEqual(pipeline.segment_key("streaming_data.json", 1), "streaming_data/00000001.json")
        self.assertEqual(pipeline.segment_key("data/streaming_data.json", 12), "data/streaming_data/00000012.json")

    def test_the_history_is_the_segments_in_order_then_the_live_array(self):
        with tempfile.TemporaryDirectory() as folder:
            objects = {
                "streaming_data/00000002.json": array("c"),
                "streaming_data/00000001.json": array("a", "b"),
                "streaming_data/00000004.json": array("after a gap"),
                "streaming_data.json": array("d"),
            }
            for key, body in objects.items():
                (Path(folder) / key).parent.mkdir(parents=True, exist_ok=True)
                (Path(folder) / key).write_bytes(body)
            records, segments = pipeline.history(Path(folder), "streaming_data.json", set(objects))
        self.assertEqual([record["unique_id"] for record in records], ["a", "b", "c", "d"])
        self.assertEqual(segments, 2)

    def test_the_filler_is_an_array_in_the_consumers_layout(self):
        body, ids = filler_array(64 * 1024)
        self.assertTrue(60 * 1024 <= len(body) <= 66 * 1024, len(body))
        self.assertEqual([record["unique_id"] for record in json.loads(body)], ids)
        self.assertEqual(len(set(ids)), len(ids))
        lines = body.split(b"\n")
        self.assertEqual((lines[0], lines[-2], lines[-1]), (b"[", b"]", b""))
        self.assertTrue(all(line.endswith(b"},") for line in lines[1:-3]))

    def test_filler_lost_doubled_or_moved_is_damage(self):
        filler = ["f1", "f2", "f3"]
        self.assertEqual(filler_damage([*filler, "r1", "r2"], filler), 0)
        self.assertEqual(filler_damage(["f1", "f3", "r1"], filler), 2)
        self.assertEqual(filler_damage([*filler, "r1", "f2"], filler), 1)
        self.assertEqual(filler_damage(["r1", *filler], filler), 4)

    def test_the_watcher_reads_every_segment_and_the_live_array(self):
        require_loopback_endpoint(self)
        s3, bucket = boto3.client("s3"), unique_name("watch")
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name})
        for key, body in {"streaming_data/00000001.json": array("a"), "streaming_data.json": array("b")}.items():
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        notes = watch_the_array()(Running(None, None, None, bucket, "streaming_data.json"))
        time.sleep(0.3)
        self.assertRegex(notes(), r"^\d+ reads, all valid JSON$")

        s3.put_object(Bucket=bucket, Key="streaming_data/00000002.json", Body=b'[{"unique_id": "c"}')
        notes = watch_the_array()(Running(None, None, None, bucket, "streaming_data.json"))
        time.sleep(0.3)
        with self.assertRaisesRegex(AssertionError, "streaming_data/00000002.json"):
            notes()


class ScenariosTest(unittest.TestCase):
    """The scenarios as the report lists them, before any runs."""

    def test_every_scenario_has_a_name_of_its_own(self):
        names = [scenario.name for scenario in scenarios()]
        self.assertEqual(len(set(names)), len(names))

    def test_every_scenarios_parameters_are_the_templates_within_their_constraints(self):
        for scenario in scenarios():
            with self.subTest(scenario.name):
                Template({**BASE_PARAMETERS, **scenario.parameters})

    def test_s3_faults_spread_the_share_over_every_kind(self):
        rule = s3_faults(0.10)["s3:*"]
        self.assertAlmostEqual(sum(getattr(rule, kind) for kind in KINDS), 0.10)
        self.assertTrue(all(getattr(rule, kind) > 0 for kind in KINDS))

    def test_a_slower_s3_delays_every_request_and_faults_none(self):
        rule = s3_slower(0.05)["s3:*"]
        self.assertEqual((rule.delay, rule.delay_seconds, rule.error, rule.throttle), (1.0, 0.05, 0.0, 0.0))


class AppendsFailedTest(unittest.TestCase):
    def test_failed_and_cut_off_appends_in_the_consumers_log_are_counted(self):
        with tempfile.TemporaryDirectory() as folder:
            log = Path(folder) / "consumer.log"
            log.write_text(
                '{"level":"WARN","message":"append failed; the records are reported failed"}\n'
                '{"level":"INFO","message":"appended 10 records"}\n'
                '{"level":"WARN","message":"writes cut off before the deadline"}\n'
                "append failed, in a line that is not the consumer's JSON\n"
            )
            self.assertEqual(appends_failed(log), 2)

    def test_no_log_is_no_failed_append(self):
        self.assertEqual(appends_failed(Path(tempfile.gettempdir()) / "no-such-consumer.log"), 0)


if __name__ == "__main__":
    unittest.main()
