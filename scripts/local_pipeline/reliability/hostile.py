"""The hostile sender of the reliability suite, straight to the queue beside the producer's burst: records valid but
for their dates (+12345, 1900, 400 days ago, 3 days ahead, and 2 days ago, which lands), thousands of records each
of a day of its own, and a message of 21,000 lines `{}`; and, straight into the landing zone, a gzip object that
inflates far past the compactor's input budget. It keeps each message with the refusals it must cause, for the
checks (hostile_checks.py)."""

import json
import random
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from local_pipeline import feed

# The consumer takes a record up to this many days ahead of the time SQS took its message.
DAYS_AHEAD = 1
# Records each of a day of its own: thousands of dates, of which the window lets about 31 land.
MANY_DATES = 3000
# Issue 23's measurement: 21,000 lines `{}` made 21,002 log lines and 3.9 MB of error output from a 63 KB body.
JUNK_LINES = 21_000
# A packed message's body at most, below the queue's MaximumMessageSize (65536 bytes).
MESSAGE_BYTES = 64_000
# SendMessageBatch: ten messages, and at most this many bytes of them together.
BATCH_MESSAGES = 10
BATCH_BYTES = 262_144
# What the bomb inflates to: twice the 512 MiB the compactor must stay under, so a compactor that inflates it
# whole is seen; blank lines compress to about a thousandth (1 MB), in about 2 s.
BOMB_INFLATED_BYTES = 1 << 30
BOMB_NAME = "bomb.ndjson.gz"
OUT_OF_RANGE = ("accessed_at", "out_of_range")


@dataclass(frozen=True)
class Refusal:
    """A record the consumer must refuse: its text as sent, and the reason; `field` None is any field."""

    text: str
    field: str | None
    problem: str


@dataclass
class Message:
    """A message the sender sends: its body, the refusals it must cause, the unique ids of its valid records, and
    the id SQS gave it once sent."""

    kind: str
    body: str
    refusals: list = field(default_factory=list)
    valid_ids: list = field(default_factory=list)
    message_id: str | None = None

    @property
    def size(self):
        return len(self.body.encode())


def accessed_at(moment):
    """A UTC time as the producer writes accessed_at."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def stamped(line, when):
    """The record of the JSON line `line` with accessed_at `when`, compact as the producer writes it."""
    record = json.loads(line)
    record["accessed_at"] = when
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def dated_records(lines, now):
    """A message a record, each the body alone: five of `lines` stamped +12345-01-01, 1900-01-01, 400 days ago and 3
    days ahead, all refused, and 2 days ago, which lands."""
    stamps = (
        ("+12345-01-01 00:00:00", False),
        ("1900-01-01 00:00:00", False),
        (accessed_at(now - timedelta(days=400)), False),
        (accessed_at(now + timedelta(days=3)), False),
        (accessed_at(now - timedelta(days=2)), True),
    )
    messages = []
    for line, (when, valid) in zip(lines, stamps, strict=True):
        body = stamped(line, when)
        if valid:
            messages.append(Message("dated", body, valid_ids=[json.loads(body)["unique_id"]]))
        else:
            messages.append(Message("dated", body, refusals=[Refusal(body, *OUT_OF_RANGE)]))
    return messages


def many_dates(lines, now, window_days, seed):
    """`lines` each stamped a day of its own, from 5 days ahead back one day at a time, shuffled (so valid records
    share messages with refused ones) and packed into messages of at most MESSAGE_BYTES. The `window_days` + 1 from
    half a day ahead to `window_days` less half a day back land, each on a day of its own; the rest are refused."""
    records = []
    for days_back, line in enumerate(lines, start=-5):
        # Half a day off the whole days, so no record sits on the window's edge whenever SQS takes it.
        age = timedelta(days=days_back, hours=12)
        text = stamped(line, accessed_at(now - age))
        valid = timedelta(days=-DAYS_AHEAD) <= age <= timedelta(days=window_days)
        records.append((text, valid))
    random.Random(seed).shuffle(records)
    messages, current, size = [], [], 0
    for text, valid in records:
        length = len(text.encode()) + 1
        if current and size + length > MESSAGE_BYTES:
            messages.append(_packed(current))
            current, size = [], 0
        current.append((text, valid))
        size += length
    if current:
        messages.append(_packed(current))
    return messages


def _packed(records):
    return Message(
        "many dates",
        "\n".join(text for text, _ in records),
        refusals=[Refusal(text, *OUT_OF_RANGE) for text, valid in records if not valid],
        valid_ids=[json.loads(text)["unique_id"] for text, valid in records if valid],
    )


def junk(lines=JUNK_LINES):
    """A packed message of `lines` lines `{}`: JSON objects, but not records."""
    return Message("junk", "\n".join(["{}"] * lines), refusals=[Refusal("{}", None, "missing_field")] * lines)


def gzip_bomb(inflated_bytes=BOMB_INFLATED_BYTES):
    """A gzip member of `inflated_bytes` blank lines. Run-length encoding is all blank lines need, and is several
    times faster than deflate's search."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS, 9, zlib.Z_RLE)
    chunk = b"\n" * min(inflated_bytes, 1 << 20)
    parts, left = [], inflated_bytes
    while left:
        piece = chunk[: min(left, len(chunk))]
        parts.append(compressor.compress(piece))
        left -= len(piece)
    parts.append(compressor.flush())
    return b"".join(parts)


def send_batches(sqs, queue_url, messages):
    """Sends `messages` ten at a time (fewer when their bodies pass BATCH_BYTES together) and keeps the id SQS
    gives each."""
    batch, size = [], 0
    for message in [*messages, None]:
        full = message is None or len(batch) == BATCH_MESSAGES or (batch and size + message.size > BATCH_BYTES)
        if batch and full:
            entries = [{"Id": str(index), "MessageBody": sent.body} for index, sent in enumerate(batch)]
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            if response.get("Failed"):
                failed = response["Failed"]
                raise RuntimeError(f"{len(failed)} hostile messages were refused: {failed[0].get('Message')}")
            for entry in response["Successful"]:
                batch[int(entry["Id"])].message_id = entry["MessageId"]
            batch, size = [], 0
        if message is not None:
            batch.append(message)
            size += message.size


class HostileSender:
    """One run's hostile sender: the records it starts from are the producer's command line's for `seed` (not the
    burst's), `now` dates them, and `window_days` is the consumer's MAX_RECORD_AGE_DAYS."""

    def __init__(self, producer, window_days, seed, now=None):
        self.producer = producer
        self.window_days = window_days
        self.seed = seed
        self.now = now or datetime.now(UTC)
        self.messages = []
        self.bomb_key = None

    @property
    def valid_ids(self):
        return [unique_id for message in self.messages for unique_id in message.valid_ids]

    @property
    def set_aside(self):
        """The messages that must reach the error output: those with a record to refuse."""
        return [message for message in self.messages if message.refusals]

    def put_bomb(self, s3, bucket, partition_prefix, inflated_bytes=BOMB_INFLATED_BYTES):
        """Puts the gzip bomb into today's partition of the landing zone, where the compactor finds it."""
        self.bomb_key = f"{partition_prefix}dt={self.now:%Y-%m-%d}/{BOMB_NAME}"
        body = gzip_bomb(inflated_bytes)
        s3.put_object(Bucket=bucket, Key=self.bomb_key, Body=body, ContentType="application/x-ndjson")

    def send(self, sqs, queue_url):
        """Builds the messages and sends them; called beside the burst (pipeline.Options.send_beside)."""
        lines = feed.generated_lines(self.producer, 5 + MANY_DATES, self.seed)
        self.messages = [
            *dated_records(lines[:5], self.now),
            *many_dates(lines[5:], self.now, self.window_days, self.seed),
            junk(),
        ]
        send_batches(sqs, queue_url, self.messages)
