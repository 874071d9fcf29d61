"""What goes into the queue: a burst from the producer's bootstrap, and optionally malformed messages taken
from the repository's mixed sample batch, to show them reaching the dead-letter queue."""

import itertools
import json
from pathlib import Path

EVENTS = Path(__file__).resolve().parents[2] / "events"


def produce(producer, count, seed, concurrency=8):
    """Invokes the producer once in burst mode and returns its summary (the response body)."""
    event = {"mode": "burst", "count": count, "seed": seed, "concurrency": concurrency}
    result = producer.invoke(json.dumps(event).encode())
    if not result.ok:
        raise RuntimeError(f"the producer failed: {result.payload.decode(errors='replace')}")
    response = result.json()
    return json.loads(response["body"])


def malformed_bodies():
    """The bodies of the malformed messages in events/sqs-mixed-batch.json (their ids start with "bad")."""
    records = json.loads((EVENTS / "sqs-mixed-batch.json").read_text())["Records"]
    return [record["body"] for record in records if record["messageId"].startswith("bad")]


def send_malformed(sqs, queue_url, count):
    """Sends `count` malformed messages, cycling through the samples; returns how many the queue took."""
    bodies = itertools.islice(itertools.cycle(malformed_bodies()), count)
    sent = 0
    for batch in iter(lambda: list(itertools.islice(bodies, 10)), []):
        entries = [{"Id": str(index), "MessageBody": body} for index, body in enumerate(batch)]
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        sent += len(response.get("Successful", []))
    return sent
