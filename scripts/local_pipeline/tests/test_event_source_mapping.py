"""The local event source mapping keeps Lambda's contract with the function and the queue."""

import hashlib
import json
import threading
import unittest

from local_pipeline.event_source_mapping import EventSourceMapping, MappingSettings
from local_pipeline.runtime import Invocation

from .support import client, create_queue, depth, require_loopback_endpoint, send, wait_for_visibility


class ScriptedFunction:
    """Answers each invocation with `answer(event)` and keeps the events it was given."""

    def __init__(self, answer):
        self.answer = answer
        self.events = []
        self.lock = threading.Lock()

    def invoke(self, payload):
        event = json.loads(payload)
        with self.lock:
            self.events.append(event)
        return self.answer(event)

    def ids(self, invocation=-1):
        return [record["messageId"] for record in self.events[invocation]["Records"]]


def succeed(_event):
    return Invocation(True, b'{"batchItemFailures": []}')


def reply(payload):
    return lambda _event: Invocation(True, payload)


def report_failed(*ids):
    body = json.dumps({"batchItemFailures": [{"itemIdentifier": identifier} for identifier in ids]}).encode()
    return reply(body)


class EventSourceMappingTest(unittest.TestCase):
    def setUp(self):
        require_loopback_endpoint(self)
        self.sqs = client()

    def mapping(self, function, dead_letter_after=None, visibility_seconds=1, **settings):
        url, arn, dead_letter_url = create_queue(self.sqs, visibility_seconds, dead_letter_after)
        self.dead_letter_url = dead_letter_url
        settings = MappingSettings(queue_url=url, queue_arn=arn, region="eu-central-1", **settings)
        return EventSourceMapping(settings, client, function.invoke), url

    def test_the_event_has_the_shape_lambda_sends(self):
        function = ScriptedFunction(succeed)
        mapping, url = self.mapping(function)
        attribute = {"DataType": "String", "StringValue": "ro"}
        [message_id] = send(self.sqs, url, ['{"a": 1}'], MessageAttributes={"locale": attribute})

        self.assertEqual(mapping.poll_once(self.sqs), [])

        [record] = function.events[0]["Records"]
        self.assertEqual(
            set(record),
            {
                "messageId",
                "receiptHandle",
                "body",
                "attributes",
                "messageAttributes",
                "md5OfBody",
                "md5OfMessageAttributes",
                "eventSource",
                "eventSourceARN",
                "awsRegion",
            },
        )
        self.assertEqual(record["messageId"], message_id)
        self.assertEqual(record["body"], '{"a": 1}')
        self.assertEqual(record["md5OfBody"], hashlib.md5(b'{"a": 1}').hexdigest())
        self.assertEqual(
            (record["eventSource"], record["eventSourceARN"], record["awsRegion"]),
            ("aws:sqs", mapping.settings.queue_arn, "eu-central-1"),
        )
        self.assertEqual(record["attributes"]["ApproximateReceiveCount"], "1")
        self.assertTrue({"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"]))
        self.assertEqual(
            record["messageAttributes"],
            {"locale": {"stringValue": "ro", "stringListValues": [], "binaryListValues": [], "dataType": "String"}},
        )
        self.assertEqual(depth(self.sqs, url), (0, 0))

    def test_only_messages_reported_as_failed_stay_and_come_back(self):
        failed = []
        function = ScriptedFunction(lambda event: report_failed(*failed)(event))
        mapping, url = self.mapping(function, batch_size=10)
        _first, second, _third = send(self.sqs, url, ["1", "2", "3"])
        failed.append(second)

        self.assertEqual(mapping.poll_once(self.sqs), [second])
        self.assertEqual(depth(self.sqs, url), (0, 1))

        wait_for_visibility()
        failed.clear()
        mapping.poll_once(self.sqs)
        [record] = function.events[1]["Records"]
        self.assertEqual(record["messageId"], second)
        self.assertEqual(record["attributes"]["ApproximateReceiveCount"], "2")
        self.assertEqual(depth(self.sqs, url), (0, 0))
        self.assertEqual((mapping.counts.deleted, mapping.counts.failed), (3, 1))

    def test_a_function_error_returns_the_whole_batch(self):
        function = ScriptedFunction(lambda _event: Invocation(False, b'{"errorType": "Panic"}'))
        mapping, url = self.mapping(function, batch_size=10)
        ids = send(self.sqs, url, ["1", "2", "3"])

        self.assertEqual(mapping.poll_once(self.sqs), sorted(ids))
        self.assertEqual(depth(self.sqs, url), (0, 3))
        wait_for_visibility()
        self.assertEqual(depth(self.sqs, url), (3, 0))
        self.assertEqual(mapping.counts.function_errors, 1)

    def test_an_invalid_response_fails_the_whole_batch(self):
        responses = {
            "not JSON": b"batch done",
            "not an object": b'"ok"',
            "failures not a list": b'{"batchItemFailures": "all"}',
            "an empty identifier": b'{"batchItemFailures": [{"itemIdentifier": ""}]}',
            "a null identifier": b'{"batchItemFailures": [{"itemIdentifier": null}]}',
            "a wrong key": b'{"batchItemFailures": [{"messageId": "x"}]}',
            "an identifier not in the batch": b'{"batchItemFailures": [{"itemIdentifier": "elsewhere"}]}',
        }
        for case, payload in responses.items():
            with self.subTest(case):
                mapping, url = self.mapping(ScriptedFunction(reply(payload)), batch_size=10)
                ids = send(self.sqs, url, ["1", "2"])
                self.assertEqual(mapping.poll_once(self.sqs), sorted(ids))
                self.assertEqual(depth(self.sqs, url), (0, 2))
                self.assertEqual(mapping.counts.invalid_responses, 1)

    def test_an_empty_response_means_every_message_succeeded(self):
        for payload in (b"", b"null", b"{}", b'{"batchItemFailures": null}', b'{"batchItemFailures": []}'):
            with self.subTest(payload):
                mapping, url = self.mapping(ScriptedFunction(reply(payload)), batch_size=10)
                send(self.sqs, url, ["1", "2"])
                self.assertEqual(mapping.poll_once(self.sqs), [])
                self.assertEqual(depth(self.sqs, url), (0, 0))

    def test_without_report_batch_item_failures_the_response_is_ignored(self):
        function = ScriptedFunction(lambda event: report_failed(event["Records"][0]["messageId"])(event))
        mapping, url = self.mapping(function, batch_size=10, report_batch_item_failures=False)
        send(self.sqs, url, ["1", "2"])

        self.assertEqual(mapping.poll_once(self.sqs), [])
        self.assertEqual(depth(self.sqs, url), (0, 0))

    def test_a_poison_message_moves_to_the_dead_letter_queue(self):
        poison = []
        function = ScriptedFunction(lambda event: report_failed(*poison)(event))
        mapping, url = self.mapping(function, dead_letter_after=2, batch_size=10)
        poison.extend(send(self.sqs, url, ["poison"]))
        fine = send(self.sqs, url, ["fine"])

        mapping.poll_once(self.sqs)
        wait_for_visibility()
        mapping.poll_once(self.sqs)
        wait_for_visibility()
        mapping.poll_once(self.sqs)

        self.assertEqual(depth(self.sqs, url), (0, 0))
        self.assertEqual(depth(self.sqs, self.dead_letter_url), (1, 0))
        self.assertEqual(sorted(function.ids(0)), sorted(poison + fine))
        self.assertEqual(function.ids(1), poison)
        self.assertEqual(len(function.events), 2, "the third receive moved the poison message instead")

    def test_a_batch_fills_up_to_its_size_within_the_window(self):
        function = ScriptedFunction(succeed)
        # As AWS advises, the visibility timeout is longer than the window.
        mapping, url = self.mapping(function, visibility_seconds=10, batch_size=25, batching_window_seconds=1)
        send(self.sqs, url, [str(number) for number in range(30)])

        mapping.poll_once(self.sqs)
        mapping.poll_once(self.sqs)

        self.assertEqual([len(event["Records"]) for event in function.events], [25, 5])

    def test_without_a_window_a_batch_is_what_one_receive_returns(self):
        function = ScriptedFunction(succeed)
        mapping, url = self.mapping(function, batch_size=100, batching_window_seconds=0)
        send(self.sqs, url, [str(number) for number in range(30)])

        mapping.poll_once(self.sqs)

        self.assertLessEqual(len(function.events[0]["Records"]), 10)

    def test_concurrent_pollers_deliver_every_message(self):
        function = ScriptedFunction(succeed)
        mapping, url = self.mapping(function, batch_size=20, batching_window_seconds=1, max_concurrency=4)
        ids = send(self.sqs, url, [str(number) for number in range(200)])

        mapping.start()
        try:
            for _ in range(100):
                if mapping.counts.deleted >= len(ids):
                    break
                threading.Event().wait(0.1)
        finally:
            mapping.stop()

        delivered = [identifier for index in range(len(function.events)) for identifier in function.ids(index)]
        self.assertEqual(set(delivered), set(ids))
        self.assertEqual(depth(self.sqs, url), (0, 0))
        self.assertEqual(mapping.errors, [])


if __name__ == "__main__":
    unittest.main()
