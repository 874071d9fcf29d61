"""A local stand-in for Lambda's SQS event source mapping: pollers gather batches, invoke the function with
the SqsEvent Lambda would send, and delete only what the partial-batch response reports as succeeded. Failed
messages are left to become visible again, so the queue's redrive policy moves poison messages on."""

import base64
import json
import math
import threading
import time
from dataclasses import dataclass, field

# Lambda's synchronous invocation payload limit, less room for the event's fields and one more message.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024 - 64 * 1024 - 256 * 1024
EMPTY_POLL_PAUSE_SECONDS = 0.2
FAILED_POLL_PAUSE_SECONDS = 1


@dataclass(frozen=True)
class MappingSettings:
    queue_url: str
    queue_arn: str
    region: str
    batch_size: int = 10
    batching_window_seconds: float = 0
    max_concurrency: int = 2
    report_batch_item_failures: bool = True


@dataclass
class MappingCounts:
    """What the mapping did; updated by every poller under one lock."""

    invocations: int = 0
    received: int = 0
    deleted: int = 0
    failed: int = 0
    function_errors: int = 0
    invalid_responses: int = 0
    in_flight: int = 0
    slowest_invocation_seconds: float = 0.0
    # Lambda bills each invocation's duration rounded up to the millisecond.
    billed_ms: int = 0
    last_delete_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **deltas):
        with self.lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def snapshot(self):
        with self.lock:
            return {name: value for name, value in vars(self).items() if name != "lock"}

    def settled(self, seconds, deleted, failed):
        with self.lock:
            self.slowest_invocation_seconds = max(self.slowest_invocation_seconds, seconds)
            self.billed_ms += math.ceil(seconds * 1000)
            self.deleted += deleted
            self.failed += failed
            if deleted:
                self.last_delete_at = time.monotonic()


class EventSourceMapping:
    """`invoke(payload: bytes) -> Invocation`; `sqs_client()` makes one SQS client per poller thread."""

    def __init__(self, settings, sqs_client, invoke):
        self.settings = settings
        self.sqs_client = sqs_client
        self.invoke = invoke
        self.counts = MappingCounts()
        self._stopping = threading.Event()
        self._pollers = []
        self.errors = []

    def start(self):
        for index in range(self.settings.max_concurrency):
            poller = threading.Thread(target=self._poll, name=f"poller-{index}", daemon=True)
            poller.start()
            self._pollers.append(poller)

    def stop(self):
        """Stops gathering; invocations under way finish first."""
        self._stopping.set()
        for poller in self._pollers:
            poller.join()

    def _poll(self):
        sqs = self.sqs_client()
        while not self._stopping.is_set():
            try:
                self.poll_once(sqs)
            except Exception as error:  # noqa: BLE001 - a poller survives a failed call, as Lambda's does
                self.errors.append(error)
                self._stopping.wait(FAILED_POLL_PAUSE_SECONDS)

    def poll_once(self, sqs):
        """Gathers one batch, invokes the function with it and settles it; returns the ids reported failed."""
        messages = self.gather(sqs)
        if not messages:
            return []
        self.counts.add(received=len(messages), in_flight=len(messages), invocations=1)
        try:
            started = time.monotonic()
            result = self.invoke(sqs_event(messages, self.settings))
            seconds = time.monotonic() - started
            failed = self.failed_ids(result, messages)
            succeeded = [message for message in messages if message["MessageId"] not in failed]
            _delete(sqs, self.settings.queue_url, succeeded)
            self.counts.settled(seconds, len(succeeded), len(failed))
            return sorted(failed)
        finally:
            self.counts.add(in_flight=-len(messages))

    def gather(self, sqs):
        """Receives until the batch is full, the batching window has passed or the payload limit is near.
        Short polls with a pause after an empty one stand in for Lambda's long polling."""
        settings = self.settings
        batch, size = [], 0
        window_ends = None
        while len(batch) < settings.batch_size and not self._stopping.is_set():
            received = sqs.receive_message(
                QueueUrl=settings.queue_url,
                MaxNumberOfMessages=min(10, settings.batch_size - len(batch)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if received and window_ends is None:
                window_ends = time.monotonic() + settings.batching_window_seconds
            batch.extend(received)
            size += sum(len(message["Body"].encode()) for message in received)
            if window_ends is None:
                self._stopping.wait(EMPTY_POLL_PAUSE_SECONDS)
                return batch
            if size >= MAX_PAYLOAD_BYTES or time.monotonic() >= window_ends:
                break
            if not received:
                self._stopping.wait(min(EMPTY_POLL_PAUSE_SECONDS, max(0.0, window_ends - time.monotonic())))
        return batch

    def failed_ids(self, result, messages):
        """The message ids to leave on the queue, by Lambda's rules for a partial-batch response."""
        every_id = {message["MessageId"] for message in messages}
        if not result.ok:
            self.counts.add(function_errors=1)
            return every_id
        if not self.settings.report_batch_item_failures:
            return set()
        reported = reported_failures(result.payload, every_id)
        if reported is None:
            self.counts.add(invalid_responses=1)
            return every_id
        return reported


def reported_failures(payload, batch_ids):
    """The ids a response reports as failed, or None when Lambda would fail the whole batch: unparsable
    JSON, an item without a non-empty string `itemIdentifier`, or an identifier not in the batch."""
    try:
        response = json.loads(payload) if payload.strip() else None
    except ValueError:
        return None
    if response is None:
        return set()
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    reported = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in batch_ids:
            return None
        reported.add(identifier)
    return reported


def sqs_event(messages, settings):
    """The SqsEvent JSON Lambda sends for these received messages."""
    records = []
    for message in messages:
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": settings.queue_arn,
            "awsRegion": settings.region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        records.append(record)
    return json.dumps({"Records": records}).encode()


def _message_attribute(value):
    attribute = {"dataType": value["DataType"], "stringListValues": [], "binaryListValues": []}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


def _delete(sqs, queue_url, messages):
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        entries = [{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(chunk)]
        failed = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
        if failed:
            raise RuntimeError(f"DeleteMessageBatch failed for {len(failed)} messages: {failed[0].get('Message')}")
