"""The hostile scenario's pure parts, without moto or the bootstraps: the messages the hostile sender builds from
the valid records of events/sqs-valid-batch.json, the gzip bomb, its batching, and the checks of where it all ended
(local_pipeline.reliability.hostile and hostile_checks), on runs made by hand."""

import dataclasses
import gzip
import json
import tempfile
import unittest
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

from local_pipeline import compaction, feed
from local_pipeline.reliability import hostile, hostile_checks
from local_pipeline.reliability.hostile import HostileSender, Message, Refusal
from local_pipeline.reliability.runner import run_scenario
from local_pipeline.reliability.scenarios import HOSTILE_INPUT_MIB, scenarios

NOW = datetime(2026, 12, 6, 10, 30, tzinfo=UTC)
WINDOW_DAYS = 30


def valid_lines(count):
    """`count` valid records as JSON lines: the sample batch's, each with a unique id of its own."""
    bodies = [record["body"] for record in json.loads((feed.EVENTS / "sqs-valid-batch.json").read_text())["Records"]]
    lines = []
    for number in range(count):
        record = json.loads(bodies[number % len(bodies)])
        record["unique_id"] = str(uuid.UUID(int=number + 1, version=4))
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    return lines


def accessed(text):
    return datetime.strptime(json.loads(text)["accessed_at"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)


class DatedRecordsTest(unittest.TestCase):
    def test_four_records_out_of_range_are_refused_and_two_days_ago_lands(self):
        lines = valid_lines(5)
        messages = hostile.dated_records(lines, NOW)
        stamps = [json.loads(message.body)["accessed_at"] for message in messages]
        self.assertEqual(
            stamps,
            [
                "+12345-01-01 00:00:00",
                "1900-01-01 00:00:00",
                "2025-11-01 10:30:00.000000",
                "2026-12-09 10:30:00.000000",
                "2026-12-04 10:30:00.000000",
            ],
        )
        for message in messages[:4]:
            self.assertEqual(message.refusals, [Refusal(message.body, "accessed_at", "out_of_range")])
            self.assertEqual(message.valid_ids, [])
        self.assertEqual((messages[4].refusals, messages[4].valid_ids), ([], [json.loads(lines[4])["unique_id"]]))

    def test_only_accessed_at_changes(self):
        line = valid_lines(5)[0]
        body = json.loads(hostile.dated_records(valid_lines(5), NOW)[0].body)
        self.assertEqual({**json.loads(line), "accessed_at": body["accessed_at"]}, body)
        self.assertEqual(list(body), list(json.loads(line)), "the fields in the producer's order")


class ManyDatesTest(unittest.TestCase):
    def setUp(self):
        self.lines = valid_lines(hostile.MANY_DATES)
        self.messages = hostile.many_dates(self.lines, NOW, WINDOW_DAYS, seed=13)

    def test_every_record_is_sent_once_in_messages_the_queue_takes(self):
        texts = [line for message in self.messages for line in message.body.split("\n")]
        self.assertEqual(len(texts), hostile.MANY_DATES)
        self.assertEqual(
            sorted(json.loads(text)["unique_id"] for text in texts),
            sorted(json.loads(line)["unique_id"] for line in self.lines),
        )
        self.assertTrue(all(message.size <= hostile.MESSAGE_BYTES for message in self.messages))
        self.assertGreater(len(self.messages), 10, "more messages than one SendMessageBatch carries")

    def test_each_record_is_on_a_day_of_its_own(self):
        days = [accessed(text).date() for message in self.messages for text in message.body.split("\n")]
        self.assertEqual(len(set(days)), hostile.MANY_DATES)

    def test_the_records_within_the_window_land_and_the_rest_are_refused(self):
        first, last = hostile_checks.window(NOW.date(), WINDOW_DAYS)
        refused = {refusal.text for message in self.messages for refusal in message.refusals}
        landing = [text for message in self.messages for text in message.body.split("\n") if text not in refused]
        self.assertEqual(len(landing), WINDOW_DAYS + 1)
        self.assertEqual(
            sorted(json.loads(text)["unique_id"] for text in landing),
            sorted(unique_id for message in self.messages for unique_id in message.valid_ids),
        )
        for text in landing:
            age = NOW - accessed(text)
            self.assertTrue(timedelta(days=-1, hours=12) <= age <= timedelta(days=WINDOW_DAYS, hours=-12), age)
            self.assertTrue(first <= accessed(text).date() <= last)
        for text in refused:
            age = NOW - accessed(text)
            self.assertTrue(age <= timedelta(days=-1, hours=-12) or age >= timedelta(days=WINDOW_DAYS, hours=12))
        self.assertTrue(all(refusal.field == "accessed_at" for m in self.messages for refusal in m.refusals))

    def test_every_message_has_a_record_to_refuse_and_valid_records_share_them(self):
        self.assertTrue(all(message.refusals for message in self.messages))
        self.assertGreater(sum(1 for message in self.messages if message.valid_ids), 1)


class JunkTest(unittest.TestCase):
    def test_21000_lines_of_an_empty_object_fit_a_message(self):
        message = hostile.junk()
        self.assertEqual(message.body.split("\n"), ["{}"] * 21_000)
        self.assertLess(message.size, 65_536)
        self.assertEqual(len(message.refusals), 21_000)
        self.assertEqual(set(message.refusals), {Refusal("{}", None, "missing_field")})


class GzipBombTest(unittest.TestCase):
    def test_it_inflates_to_blank_lines_a_thousand_times_its_size(self):
        body = hostile.gzip_bomb(8 << 20)
        self.assertEqual(gzip.decompress(body), b"\n" * (8 << 20))
        self.assertLess(len(body), (8 << 20) // 500)
        self.assertEqual(gzip.decompress(hostile.gzip_bomb(1000)), b"\n" * 1000)

    def test_it_inflates_past_the_compactors_memory_bound_and_input_budget(self):
        self.assertGreater(hostile.BOMB_INFLATED_BYTES, hostile_checks.PEAK_MEMORY_BYTES)
        self.assertGreater(hostile.BOMB_INFLATED_BYTES, HOSTILE_INPUT_MIB << 20)

    def test_it_lands_in_todays_partition_of_the_landing_zone(self):
        puts = []
        s3 = SimpleNamespace(put_object=lambda **request: puts.append(request))
        sender = HostileSender(Path("producer"), WINDOW_DAYS, seed=13, now=NOW)
        sender.put_bomb(s3, "raw", "user_sessions/", inflated_bytes=4096)
        self.assertEqual(sender.bomb_key, "user_sessions/dt=2026-12-06/bomb.ndjson.gz")
        self.assertEqual((puts[0]["Bucket"], puts[0]["Key"]), ("raw", sender.bomb_key))
        self.assertEqual(gzip.decompress(puts[0]["Body"]), b"\n" * 4096)


class FakeSqs:
    def __init__(self):
        self.batches = []

    def send_message_batch(self, **request):
        self.batches.append(request["Entries"])
        number = len(self.batches)
        return {
            "Successful": [{"Id": entry["Id"], "MessageId": f"b{number}-{entry['Id']}"} for entry in request["Entries"]]
        }


class SendBatchesTest(unittest.TestCase):
    def test_ten_at_most_and_at_most_256_kib_together_each_message_given_its_id(self):
        messages = [Message("small", "x" * 100) for _ in range(12)] + [Message("large", "y" * 60_000) for _ in range(6)]
        sqs = FakeSqs()
        hostile.send_batches(sqs, "https://queue", messages)
        self.assertEqual([len(batch) for batch in sqs.batches], [10, 6, 2])
        self.assertTrue(
            all(sum(len(entry["MessageBody"]) for entry in batch) <= hostile.BATCH_BYTES for batch in sqs.batches)
        )
        self.assertEqual([entry["MessageBody"] for batch in sqs.batches for entry in batch], [m.body for m in messages])
        self.assertEqual(len({message.message_id for message in messages}), len(messages))

    def test_a_refused_message_stops_the_run(self):
        sqs = SimpleNamespace(send_message_batch=lambda **_: {"Successful": [], "Failed": [{"Message": "too big"}]})
        with self.assertRaisesRegex(RuntimeError, "too big"):
            hostile.send_batches(sqs, "https://queue", [Message("small", "x")])


class SenderTest(unittest.TestCase):
    def test_it_sends_every_message_and_keeps_what_must_land_and_what_must_be_set_aside(self):
        sender = HostileSender(Path("producer"), WINDOW_DAYS, seed=13, now=NOW)
        sqs = FakeSqs()
        with mock.patch.object(feed, "generated_lines", return_value=valid_lines(5 + hostile.MANY_DATES)) as lines:
            sender.send(sqs, "https://queue")
        lines.assert_called_once_with(Path("producer"), 5 + hostile.MANY_DATES, 13)
        kinds = Counter(message.kind for message in sender.messages)
        self.assertEqual((kinds["dated"], kinds["junk"]), (5, 1))
        self.assertEqual(sum(len(batch) for batch in sqs.batches), len(sender.messages))
        self.assertTrue(all(message.message_id for message in sender.messages))
        self.assertEqual(len(sender.valid_ids), 1 + WINDOW_DAYS + 1)
        self.assertEqual(len(sender.set_aside), len(sender.messages) - 1)


class WindowTest(unittest.TestCase):
    def test_the_window_runs_from_the_age_limit_to_the_day_after(self):
        self.assertEqual(hostile_checks.window(date(2026, 12, 6), 30), (date(2026, 11, 6), date(2026, 12, 7)))

    def test_keys_outside_the_window_or_with_no_date_are_named(self):
        keys = [
            "user_sessions/dt=2026-11-06/a.ndjson",
            "user_sessions/dt=2026-12-07/b.ndjson.gz",
            "user_sessions/dt=2026-11-05/c.ndjson",
            "user_sessions/dt=2026-12-08/d.ndjson",
            "user_sessions/dt=+12345-01-01/e.ndjson",
            "user_sessions/dt=1900-01-01/f.ndjson",
            "curated/state/dt=2026-12-01.json",
            "curated/state/dt=2025-11-01.json",
            "curated/data/dt=2026-12-01/x.parquet",
            "curated/keys/ledger.json",
            "streaming_data.json",
        ]
        self.assertEqual(
            hostile_checks.outside(keys, date(2026, 11, 6), date(2026, 12, 7)),
            [
                "user_sessions/dt=2026-11-05/c.ndjson",
                "user_sessions/dt=2026-12-08/d.ndjson",
                "user_sessions/dt=+12345-01-01/e.ndjson",
                "user_sessions/dt=1900-01-01/f.ndjson",
                "curated/state/dt=2025-11-01.json",
            ],
        )


class LogTest(unittest.TestCase):
    def test_lines_are_counted_by_the_message_id_they_name(self):
        lines = [
            '{"level":"WARN","fields":{"message":"message rejected","message_id":"m1","problem":"missing_field"}}',
            '{"level":"WARN","fields":{"message":"more rejected","message_id":"m1","count":20995}}',
            '{"level":"WARN","message_id":"m2","message":"message rejected"}',
            '{"level":"INFO","fields":{"message":"batch done","messages":3}}',
            "START RequestId: m1, not the function's JSON",
            "[1, 2]",
        ]
        log = "\n".join(lines)
        self.assertEqual(dict(hostile_checks.log_lines_by_message(log)), {"m1": 2, "m2": 1})

    def test_an_error_line_naming_an_object_is_found(self):
        key = "user_sessions/dt=2026-12-06/bomb.ndjson.gz"
        log = "\n".join(
            [
                f'{{"level":"ERROR","fields":{{"message":"landed object too large","key":"{key}"}}}}',
                f'{{"level":"INFO","fields":{{"message":"read","key":"{key}"}}}}',
                f"not JSON {key}",
            ]
        )
        self.assertEqual(len(hostile_checks.error_lines_naming(log, key)), 1)
        self.assertEqual(hostile_checks.error_lines_naming(log, "other"), [])

    def test_the_compactors_totals_are_its_last_run_finished_line(self):
        lines = [
            '{"level":"INFO","fields":{"message":"run finished","objects_too_large":0}}',
            '{"level":"ERROR","fields":{"message":"landed object too large"}}',
            '{"level":"INFO","fields":{"message":"run finished","partitions":33,"objects_too_large":1}}',
        ]
        log = "\n".join(lines)
        self.assertEqual(compaction.logged_totals(log), {"partitions": 33, "objects_too_large": 1})
        self.assertEqual(compaction.logged_totals("no summary\n"), {})


def record(text, problem="out_of_range", field="accessed_at", message_id="m1"):
    return {
        "message_id": message_id,
        "sent_at": None,
        "field": field,
        "problem": problem,
        "detail": None,
        "record": text,
    }


class MatchesTest(unittest.TestCase):
    REFUSALS = (Refusal("a", "accessed_at", "out_of_range"), Refusal("{}", None, "missing_field"))

    def test_each_text_with_its_reason_as_often_as_sent_matches(self):
        refusals = [*self.REFUSALS, Refusal("{}", None, "missing_field")]
        records = [record("{}", "missing_field", "person_name"), record("a"), record("{}", "missing_field", "email")]
        self.assertTrue(hostile_checks.matches(refusals, records))

    def test_a_record_missing_extra_changed_or_with_another_reason_does_not(self):
        for records in (
            [record("a")],
            [record("a"), record("{}", "missing_field", "x"), record("b")],
            [record("a "), record("{}", "missing_field", "x")],
            [record("a", "invalid_format"), record("{}", "missing_field", "x")],
            [record("a", field="unique_id"), record("{}", "missing_field", "x")],
        ):
            with self.subTest(records):
                self.assertFalse(hostile_checks.matches(self.REFUSALS, records))


def error_object(message_id, records, layout="lines"):
    """An error output object in the consumer's format: the header, then a line a record."""
    reasons = {"a": {"field": "accessed_at", "problem": "out_of_range", "detail": None}}
    reasons["b"] = {"field": "person_name", "problem": "missing_field", "detail": None}
    header = {"message_id": message_id, "sent_at": None, "rejected": len(records), "layout": layout, "reasons": reasons}
    lines = [json.dumps(header)] + [f"{'b' if text == '{}' else 'a'}\t{text}" for text in records]
    return ("\n".join(lines) + "\n").encode()


def findings(**overrides):
    """A hostile run that held."""
    values = {
        "first": date(2026, 11, 6),
        "last": date(2026, 12, 7),
        "refused": 23_973,
        "set_aside": 30,
        "unmatched": [],
        "stray": [],
        "landing_outside": [],
        "curated_partitions": 32,
        "curated_outside": [],
        "oversized": [],
        "junk_output": (105_214, 62_999),
        "most_log_lines": 6,
        "junk_log_lines": 6,
        "objects_too_large": 1,
        "bomb_left": True,
        "bomb_named": True,
        "peak_memory_bytes": 60 << 20,
    }
    values.update(overrides)
    return hostile_checks.Findings(**values)


class ChecksTest(unittest.TestCase):
    def test_a_run_that_held_passes_every_check(self):
        checks = hostile_checks.checks(findings())
        self.assertEqual([what for what, holds in checks if not holds], [])
        self.assertEqual(len(checks), 7)
        self.assertIn("105,214 bytes from a 62,999-byte body", checks[3][0])
        self.assertIn("peak 60 MiB", checks[6][0])

    def test_each_broken_bound_fails_its_check(self):
        cases = {
            0: [{"unmatched": ["junk m9"]}, {"stray": ["m5"]}],
            1: [{"landing_outside": ["user_sessions/dt=+12345-01-01/a.ndjson"]}],
            2: [{"curated_outside": ["curated/state/dt=1900-01-01.json"]}, {"curated_partitions": 0}],
            3: [{"oversized": [("junk", 3_900_000, 62_999)]}, {"junk_output": (0, 0)}],
            4: [{"most_log_lines": 7}],
            5: [{"objects_too_large": 0}, {"bomb_left": False}, {"bomb_named": False}],
            6: [{"peak_memory_bytes": 600 << 20}],
        }
        for index, changes in cases.items():
            for change in changes:
                with self.subTest(change):
                    checks = hostile_checks.checks(findings(**change))
                    self.assertEqual([number for number, (_, holds) in enumerate(checks) if not holds], [index])

    def test_without_a_measured_peak_there_is_no_memory_check(self):
        self.assertEqual(len(hostile_checks.checks(findings(peak_memory_bytes=None))), 6)

    def test_the_note_says_what_held(self):
        self.assertEqual(
            hostile_checks.note(findings()),
            "23,973 hostile records refused with their reasons; partitions within 2026-11-06 to 2026-12-07; "
            "21,000 lines {}: 105,214 bytes of error output from 62,999, 6 log lines; gzip bomb refused and left, "
            "compactor peak 60 MiB",
        )
        self.assertNotIn("|", hostile_checks.note(findings()), "a cell of the report's table")


class FindTest(unittest.TestCase):
    """find over a run made by hand: a copied bucket's error output, keys and logs."""

    def run_of(self, folder, objects, partition_keys=(), curated_keys=("curated/state/dt=2026-12-06.json",)):
        for key, body in objects.items():
            (folder / key).parent.mkdir(parents=True, exist_ok=True)
            (folder / key).write_bytes(body)
        done = compaction.Compaction(True, {"objects_too_large": 1}, 900, {}, peak_memory_bytes=50 << 20)
        return SimpleNamespace(
            lake=folder,
            error_keys=list(objects),
            partition_keys=list(partition_keys),
            bucket_keys={"raw": [*partition_keys, "user_sessions/dt=2026-12-06/bomb.ndjson.gz"], "cur": curated_keys},
            curated_bucket="cur",
            curated_prefix="curated/",
            resources=SimpleNamespace(bucket="raw"),
            compaction=done,
        )

    def sender(self):
        sender = HostileSender(Path("producer"), WINDOW_DAYS, seed=13, now=NOW)
        sender.bomb_key = "user_sessions/dt=2026-12-06/bomb.ndjson.gz"
        junk = hostile.junk(lines=3)
        dated = Message("dated", "a", refusals=[Refusal("a", "accessed_at", "out_of_range")])
        valid = Message("dated", "v", valid_ids=["u1"])
        for message, message_id in ((junk, "mj"), (dated, "md"), (valid, "mv")):
            message.message_id = message_id
        sender.messages = [junk, dated, valid]
        return sender

    def test_a_run_that_held(self):
        compactor_log = (
            '{"level":"ERROR","fields":{"message":"too large","key":"user_sessions/dt=2026-12-06/bomb.ndjson.gz"}}'
        )
        consumer_log = '{"level":"WARN","fields":{"message":"message rejected","message_id":"mj"}}\n' * 2
        with tempfile.TemporaryDirectory() as folder:
            objects = {
                "errors/dt=2026-12-06/j.txt": error_object("mj", ["{}"] * 3),
                "errors/dt=2026-12-06/d.txt": error_object("md", ["a"], layout="document"),
            }
            run = self.run_of(Path(folder), objects, partition_keys=["user_sessions/dt=2026-12-04/x.ndjson"])
            found = hostile_checks.find(run, self.sender(), consumer_log, compactor_log)
        self.assertEqual(
            dataclasses.asdict(found),
            dataclasses.asdict(
                findings(
                    refused=4,
                    set_aside=2,
                    curated_partitions=1,
                    junk_output=(len(objects["errors/dt=2026-12-06/j.txt"]), 8),
                    most_log_lines=2,
                    junk_log_lines=2,
                    peak_memory_bytes=50 << 20,
                )
            ),
        )
        self.assertEqual([what for what, holds in hostile_checks.checks(found) if not holds], [])

    def test_a_run_that_did_not(self):
        compactor_log = '{"level":"INFO","fields":{"message":"run finished","objects_too_large":0}}'
        with tempfile.TemporaryDirectory() as folder:
            objects = {
                "errors/dt=2026-12-06/j.txt": error_object("mj", ["{}"] * 2),
                "errors/dt=2026-12-06/v.txt": error_object("mv", ["v"]),
            }
            run = self.run_of(Path(folder), objects, partition_keys=["user_sessions/dt=+12345-01-01/x.ndjson"])
            run.compaction = compaction.Compaction(False, {"errorType": "Oops"}, 900, {})
            found = hostile_checks.find(run, self.sender(), "", compactor_log)
        self.assertEqual(found.unmatched, ["junk mj", "dated md"])
        self.assertEqual(found.stray, ["mv"])
        self.assertEqual(found.landing_outside, ["user_sessions/dt=+12345-01-01/x.ndjson"])
        self.assertEqual((found.objects_too_large, found.bomb_named, found.peak_memory_bytes), (0, False, None))


class ScenarioTest(unittest.TestCase):
    def test_one_scenario_is_hostile_with_the_compactors_least_input_budget(self):
        hostile_scenarios = [scenario for scenario in scenarios() if scenario.hostile]
        self.assertEqual(len(hostile_scenarios), 1)
        self.assertEqual(hostile_scenarios[0].environment, {"COMPACT_INPUT_MIB": "1"})

    def test_a_hostile_scenario_needs_the_compactors_bootstrap(self):
        scenario = next(scenario for scenario in scenarios() if scenario.hostile)
        with tempfile.TemporaryDirectory() as output, self.assertRaisesRegex(ValueError, "compactor"):
            run_scenario(scenario, Path("producer"), Path("consumer"), Path(output))


if __name__ == "__main__":
    unittest.main()
