"""What goes into the queue: a burst from the producer's bootstrap, and optionally malformed messages from
the repository's corpus, alone or as a bad line among good records in a packed message, to show where
they end."""

import itertools
import json
import math
import os
import re
import subprocess
import time
from pathlib import Path

EVENTS = Path(__file__).resolve().parents[2] / "events"


def produce(producer, count, seed):
    """Invokes the producer once in burst mode, at its default concurrency and packing; returns its summary
    (the response body) and the invocation's billed milliseconds."""
    event = {"mode": "burst", "count": count, "seed": seed}
    started = time.monotonic()
    result = producer.invoke(json.dumps(event).encode())
    billed_ms = math.ceil((time.monotonic() - started) * 1000)
    if not result.ok:
        raise RuntimeError(f"the producer failed: {result.payload.decode(errors='replace')}")
    response = result.json()
    return json.loads(response["body"]), billed_ms


# The characters an SQS message body may hold; the corpus has a few bodies that SQS itself refuses.
SQS_BODY = re.compile("[\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]+")


def generated_lines(producer, count, seed):
    """The records, one JSON line each, that the producer's command line generates for this seed. It runs
    without AWS_LAMBDA_RUNTIME_API, which would make the binary wait for Lambda invocations instead."""
    env = {name: value for name, value in os.environ.items() if name != "AWS_LAMBDA_RUNTIME_API"}
    output = subprocess.run(
        [str(producer), "generate", "--count", str(count), "--seed", str(seed)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return output.splitlines()


def generated_ids(producer, count, seed):
    """The unique ids, in order, of the records a burst with this seed sends: the same binary's command
    line generates the same records for the same seed."""
    return [json.loads(line)["unique_id"] for line in generated_lines(producer, count, seed)]


def malformed_bodies():
    """The bodies of events/malformed-messages.json that SQS can carry."""
    cases = json.loads((EVENTS / "malformed-messages.json").read_text(encoding="utf-8"))
    return [case["body"] for case in cases if SQS_BODY.fullmatch(case["body"])]


def send_malformed(sqs, queue_url, count):
    """Sends `count` malformed messages, cycling through the samples; returns how many the queue took."""
    bodies = itertools.islice(itertools.cycle(malformed_bodies()), count)
    sent = 0
    for batch in iter(lambda: list(itertools.islice(bodies, 10)), []):
        entries = [{"Id": str(index), "MessageBody": body} for index, body in enumerate(batch)]
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        sent += len(response.get("Successful", []))
    return sent


# The good records around each bad line of a packed message.
GOOD_LINES_PER_PACKED_MESSAGE = 4


def send_packed_with_bad_lines(sqs, queue_url, producer, count, seed):
    """Sends `count` packed messages, each four valid records (the command line's, from `seed`) with a
    corpus body of one line as its third line; returns the valid records' unique ids."""
    good = generated_lines(producer, count * GOOD_LINES_PER_PACKED_MESSAGE, seed)
    bad = itertools.cycle(body for body in malformed_bodies() if body.strip() and "\n" not in body and "\r" not in body)
    ids, bodies = [], []
    for index in range(count):
        lines = good[index * GOOD_LINES_PER_PACKED_MESSAGE : (index + 1) * GOOD_LINES_PER_PACKED_MESSAGE]
        ids += [json.loads(line)["unique_id"] for line in lines]
        bodies.append("\n".join([*lines[:2], next(bad), *lines[2:]]))
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(index), "MessageBody": body} for index, body in enumerate(bodies[start : start + 10])]
        failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
        if failed:
            raise RuntimeError(f"{len(failed)} packed messages were refused: {failed[0].get('Message')}")
    return ids
