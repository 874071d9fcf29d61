"""What goes into the queue, with stand-ins for the producer's bootstrap and for SQS: the burst's invocation,
the records a seed generates, the malformed corpus as SQS can carry it, and the packed messages with a bad
line among valid records."""

import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from local_pipeline import feed
from local_pipeline.runtime import Invocation

# A stand-in for the producer's command line: `generate --count N --seed S` prints N records a line, their
# unique ids made of the seed and the position, marked with a `!` when it sees the Runtime API's variable
# (the real one would then wait for invocations instead).
GENERATE = """#!{python}
import json, os, sys
arguments = sys.argv[1:]
assert arguments[0] == "generate", arguments
count = int(arguments[arguments.index("--count") + 1])
seed = int(arguments[arguments.index("--seed") + 1])
mark = "!" if "AWS_LAMBDA_RUNTIME_API" in os.environ else ""
for number in range(count):
    print(json.dumps({{"unique_id": f"{{seed}}-{{number}}{{mark}}", "email": "a@b.c"}}))
"""


class FakeProducer:
    """A running producer function that answers every invocation with `result`."""

    def __init__(self, result):
        self.result = result
        self.events = []

    def invoke(self, payload):
        self.events.append(json.loads(payload))
        return self.result


class FakeSqs:
    """send_message_batch that takes every entry but those whose body `refuse` is true for."""

    def __init__(self, refuse=lambda _body: False):
        self.refuse = refuse
        self.batches = []

    def send_message_batch(self, QueueUrl, Entries):
        self.batches.append((QueueUrl, Entries))
        taken = [{"Id": entry["Id"]} for entry in Entries if not self.refuse(entry["MessageBody"])]
        failed = [{"Id": entry["Id"], "Message": "too big"} for entry in Entries if self.refuse(entry["MessageBody"])]
        return {"Successful": taken, **({"Failed": failed} if failed else {})}

    def bodies(self):
        return [entry["MessageBody"] for _, entries in self.batches for entry in entries]


class GeneratingTest(unittest.TestCase):
    """Tests that run a stand-in producer command line from a temporary folder."""

    def setUp(self):
        folder = tempfile.TemporaryDirectory(prefix="feed-")
        self.addCleanup(folder.cleanup)
        self.producer = Path(folder.name) / "producer"
        self.producer.write_text(GENERATE.format(python=sys.executable))
        self.producer.chmod(self.producer.stat().st_mode | stat.S_IXUSR)


class ProduceTest(unittest.TestCase):
    def test_a_burst_is_one_invocation_with_the_count_and_seed_and_its_summary_is_the_body(self):
        summary = {"sent": 10, "messages": 2}
        producer = FakeProducer(Invocation(True, json.dumps({"statusCode": 200, "body": json.dumps(summary)}).encode()))
        answer, billed_ms = feed.produce(producer, 10, 7)
        self.assertEqual(producer.events, [{"mode": "burst", "count": 10, "seed": 7}])
        self.assertEqual(answer, summary)
        self.assertIsInstance(billed_ms, int)
        self.assertGreaterEqual(billed_ms, 0)

    def test_a_failed_invocation_raises_with_what_the_producer_said(self):
        producer = FakeProducer(Invocation(False, b'{"errorType": "Panic"}'))
        with self.assertRaisesRegex(RuntimeError, 'the producer failed: {"errorType": "Panic"}'):
            feed.produce(producer, 10, 7)


class GeneratedIdsTest(GeneratingTest):
    def test_the_ids_are_the_command_lines_records_in_order(self):
        self.assertEqual(feed.generated_ids(self.producer, 3, 11), ["11-0", "11-1", "11-2"])

    def test_the_command_line_runs_without_the_runtime_apis_variable(self):
        with mock.patch.dict(os.environ, {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9"}):
            seen = subprocess.run(
                [self.producer, "generate", "--count", "1", "--seed", "1"], capture_output=True, check=True, text=True
            ).stdout
            self.assertEqual(json.loads(seen)["unique_id"], "1-0!")
            self.assertEqual(feed.generated_ids(self.producer, 1, 1), ["1-0"])
            self.assertEqual(
                feed.send_packed_with_bad_lines(FakeSqs(), "queue", self.producer, 1, 1),
                ["1-0", "1-1", "1-2", "1-3"],
            )


class MalformedBodiesTest(unittest.TestCase):
    def test_the_bodies_are_the_corpus_in_order_less_those_sqs_refuses(self):
        corpus = [case["body"] for case in json.loads((feed.EVENTS / "malformed-messages.json").read_text())]
        bodies = feed.malformed_bodies()
        self.assertEqual(bodies, [body for body in corpus if body in bodies])
        self.assertTrue(all(feed.SQS_BODY.fullmatch(body) for body in bodies))
        self.assertGreater(len(bodies), 10)

    def test_sqs_carries_text_tabs_and_line_breaks_and_characters_beyond_the_basic_plane(self):
        for body in ("this is not JSON", "  \n\t ", "\r\n", "Zalău 🚀", "\ue000\ufffd"):
            with self.subTest(body=body):
                self.assertTrue(feed.SQS_BODY.fullmatch(body))

    def test_sqs_refuses_an_empty_body_control_characters_and_noncharacters(self):
        for body in ("", "a\x00b", "\x1b[0m", "\ufffe", "\ud800"):
            with self.subTest(body=body):
                self.assertIsNone(feed.SQS_BODY.fullmatch(body))


class SendMalformedTest(unittest.TestCase):
    def test_the_corpus_is_cycled_in_batches_of_ten_and_what_the_queue_took_is_counted(self):
        corpus = feed.malformed_bodies()
        sqs = FakeSqs(refuse=lambda body: body == corpus[0])
        count = len(corpus) + 3
        taken = feed.send_malformed(sqs, "queue", count)
        self.assertEqual([len(entries) for _, entries in sqs.batches], [10] * (count // 10) + [count % 10])
        self.assertEqual({url for url, _ in sqs.batches}, {"queue"})
        self.assertEqual(sqs.bodies(), corpus + corpus[:3])
        self.assertEqual(taken, count - 2)

    def test_each_batchs_ids_are_its_positions(self):
        sqs = FakeSqs()
        feed.send_malformed(sqs, "queue", 12)
        self.assertEqual(
            [[entry["Id"] for entry in entries] for _, entries in sqs.batches],
            [
                [str(index) for index in range(10)],
                ["0", "1"],
            ],
        )


class PackedWithBadLinesTest(GeneratingTest):
    def test_each_message_is_four_valid_records_around_a_bad_third_line(self):
        sqs = FakeSqs()
        ids = feed.send_packed_with_bad_lines(sqs, "queue", self.producer, 12, 5)
        self.assertEqual(ids, [f"5-{number}" for number in range(48)])
        bodies = sqs.bodies()
        self.assertEqual([len(entries) for _, entries in sqs.batches], [10, 2])
        self.assertEqual(len(bodies), 12)
        for index, body in enumerate(bodies):
            lines = body.split("\n")
            self.assertEqual(len(lines), 5)
            good = [json.loads(line)["unique_id"] for line in lines[:2] + lines[3:]]
            self.assertEqual(good, ids[index * 4 : index * 4 + 4])
            self.assertIn(lines[2], feed.malformed_bodies())
            self.assertTrue(lines[2].strip())

    def test_a_refused_message_stops_the_sending(self):
        sqs = FakeSqs(refuse=lambda body: "1-5" in body)
        with self.assertRaisesRegex(RuntimeError, "1 packed messages were refused: too big"):
            feed.send_packed_with_bad_lines(sqs, "queue", self.producer, 13, 1)
        self.assertEqual([len(entries) for _, entries in sqs.batches], [10])


if __name__ == "__main__":
    unittest.main()
