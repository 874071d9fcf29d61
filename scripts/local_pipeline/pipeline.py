"""One local run: resources from the template, the producer's burst (and malformed messages) into the queue,
the consumer behind the event source mapping until the queue is drained, then what landed in the bucket."""

import gzip
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from . import feed, resources
from .event_source_mapping import EventSourceMapping, MappingSettings
from .runtime import LocalFunction


# While nothing changes (failed messages waiting to become visible again), a progress line this often.
QUIET_REPORT_SECONDS = 10


@dataclass
class Options:
    producer: Path
    consumer: Path
    output: Path
    count: int = 3000
    seed: int = 1
    malformed_share: float = 0.0
    drain_timeout_seconds: float = 300
    progress_seconds: float = 2.0


@dataclass
class Outcome:
    """What a run did and what the bucket holds afterwards."""
    resources: resources.Resources
    producer_summary: dict
    malformed_sent: int
    queue_depth: int
    dead_letter_depth: int
    array: list
    partition_keys: list
    partition_records: list
    mapping: dict
    mapping_errors: list
    elapsed_seconds: float
    landed_seconds: float
    drained: bool
    settings: dict = field(default_factory=dict)


def run(template, options, say=print):
    options.output.mkdir(parents=True, exist_ok=True)
    sqs, s3 = boto3.client("sqs"), boto3.client("s3")
    created = resources.create(template, sqs, s3)
    consumer_properties = {key: template.properties("ConsumerFunction", key)
                           for key in ("Environment", "Timeout", "MemorySize")}
    source = template.properties("ConsumerFunction", "Events", "Queue", "Properties")
    settings = MappingSettings(
        queue_url=created.queue.url,
        queue_arn=created.queue.arn,
        region=template.pseudo["AWS::Region"],
        batch_size=int(source["BatchSize"]),
        batching_window_seconds=float(source.get("MaximumBatchingWindowInSeconds", 0)),
        max_concurrency=int(source["ScalingConfig"]["MaximumConcurrency"]),
        report_batch_item_failures="ReportBatchItemFailures" in source.get("FunctionResponseTypes", []),
    )
    malformed = round(options.count * options.malformed_share)
    say(f"queue {created.queue.url} (visibility {created.queue.attributes['VisibilityTimeout']} s, "
        f"dead-letter queue after {json.loads(created.queue.attributes['RedrivePolicy'])['maxReceiveCount']} receives)")
    say(f"bucket {created.bucket}")
    say(f"producer: a burst of {options.count} records (seed {options.seed})"
        + (f", and {malformed} malformed messages" if malformed else ""))
    say(f"consumer: {settings.max_concurrency} at once, batches of up to {settings.batch_size} messages, "
        f"batching window {settings.batching_window_seconds:g} s")

    producer = LocalFunction(
        "producer", options.producer, template.properties("ProducerFunction", "Environment", "Variables"),
        options.output / "producer.log", timeout_seconds=int(template.properties("ProducerFunction", "Timeout")),
        memory_mb=int(template.properties("ProducerFunction", "MemorySize")))
    consumer = LocalFunction(
        "consumer", options.consumer, consumer_properties["Environment"]["Variables"], options.output / "consumer.log",
        instances=settings.max_concurrency, timeout_seconds=int(consumer_properties["Timeout"]),
        memory_mb=int(consumer_properties["MemorySize"]))
    mapping = EventSourceMapping(settings, lambda: boto3.client("sqs"), consumer.invoke)
    started = time.monotonic()
    with producer, consumer, ThreadPoolExecutor(max_workers=2) as feeders:
        mapping.start()
        try:
            produced = feeders.submit(feed.produce, producer, options.count, options.seed)
            mixed_in = feeders.submit(feed.send_malformed, boto3.client("sqs"), created.queue.url, malformed)
            drained = _drain(sqs, created, mapping, [produced, mixed_in], started, options, say)
        finally:
            mapping.stop()
        summary, malformed_sent = produced.result(), mixed_in.result()
    elapsed = time.monotonic() - started
    landed = mapping.counts.last_delete_at - started if mapping.counts.last_delete_at else elapsed

    data_key = consumer_properties["Environment"]["Variables"]["DATA_KEY"]
    prefix = consumer_properties["Environment"]["Variables"]["PARTITION_PREFIX"]
    array = json.loads(s3.get_object(Bucket=created.bucket, Key=data_key)["Body"].read()) if summary["sent"] else []
    keys = [item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=created.bucket, Prefix=prefix)
            for item in page.get("Contents", [])]
    return Outcome(
        resources=created,
        producer_summary=summary,
        malformed_sent=malformed_sent,
        queue_depth=_depth(sqs, created.queue.url),
        dead_letter_depth=_depth(sqs, created.dead_letter_queue.url),
        array=array,
        partition_keys=keys,
        partition_records=_partition_records(s3, created.bucket, keys),
        mapping={name: value for name, value in vars(mapping.counts).items() if name != "lock"},
        mapping_errors=[str(error) for error in mapping.errors],
        elapsed_seconds=elapsed,
        landed_seconds=landed,
        drained=drained,
        settings={"data_key": data_key, "prefix": prefix},
    )


def _drain(sqs, created, mapping, feeders, started, options, say):
    """Waits until the feeders are done and the queue is empty, reporting progress; False on timeout.
    Asks for the queue's depth only once per report: moto counts a queue's messages one by one."""
    deadline = time.monotonic() + options.drain_timeout_seconds
    last_state, last_said = None, 0.0
    while time.monotonic() < deadline:
        for feeder in feeders:
            if feeder.done() and feeder.exception() is not None:
                raise feeder.exception()
        fed = all(feeder.done() for feeder in feeders)
        waiting, in_flight = _counts(sqs, created.queue.url)
        dead = _depth(sqs, created.dead_letter_queue.url)
        counts = mapping.counts
        state = (waiting, in_flight, counts.deleted, counts.failed, dead, fed)
        now = time.monotonic()
        if state != last_state or now - last_said >= QUIET_REPORT_SECONDS:
            say(f"[{now - started:6.1f} s] in queue {waiting + in_flight:6d} (in flight {in_flight:5d})  "
                f"consumed {counts.deleted:6d}  failed {counts.failed:5d}  dead-letter {dead:5d}"
                + ("" if fed else "  producing..."))
            last_state, last_said = state, now
        if fed and waiting + in_flight == 0 and counts.in_flight == 0:
            return True
        threading.Event().wait(options.progress_seconds)
    say(f"the queue was not drained within {options.drain_timeout_seconds:g} s")
    return False


def _counts(sqs, url):
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _depth(sqs, url):
    return sum(_counts(sqs, url))


def _partition_records(s3, bucket, keys):
    records = []
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if key.endswith(".gz"):
            body = gzip.decompress(body)
        records.extend(json.loads(line) for line in body.splitlines() if line.strip())
    return records
