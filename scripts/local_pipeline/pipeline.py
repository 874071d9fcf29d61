"""One local run: resources from the template, the producer's burst (and malformed messages) into the queue,
the consumer behind the event source mapping until the queue is drained, the compactor once over what
landed, then each bucket copied to a local folder of its own (the raw bucket to raw/, the curated lake's to
curated/) and what landed in them. The functions and the mapping reach AWS through a proxy that counts every
request, so the run also says what it cost.

The array's history is its sealed segments, streaming_data/00000001.json, 00000002.json, ... (the consumer
seals the live array there once it reaches DATA_ROLLOVER_BYTES), then the live array streaming_data.json;
each is a JSON array of records, and a run's outcome reads them all in that order."""

import dataclasses
import gzip
import json
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import boto3

from . import compaction, error_output, feed, lake, resources
from .endpoint import local_endpoint
from .event_source_mapping import EventSourceMapping, MappingSettings
from .fault_proxy import FaultProxy
from .runtime import LocalFunction

# While nothing changes (failed messages waiting to become visible again), a progress line this often.
QUIET_REPORT_SECONDS = 10


@dataclass
class Options:
    producer: Path
    consumer: Path
    output: Path
    # Run once after the drain; None leaves the landing zone as the consumer wrote it (the reliability
    # scenarios, which are about landing).
    compactor: Path | None = None
    count: int = 3000
    seed: int = 1
    malformed_share: float = 0.0
    # Packed messages of four valid records (not the producer's) and one bad line, sent beside the burst.
    packed_with_bad_lines: int = 0
    # Called with an SQS client and the queue's URL beside the burst, after the malformed messages, to send more
    # straight to the queue (a hostile sender's); the drain waits for it. What it sent is its caller's to count.
    send_beside: Callable | None = None
    drain_timeout_seconds: float = 300
    # How long to wait for the compactor's answer; None waits as long as its Timeout (15 minutes).
    compact_timeout_seconds: float | None = None
    progress_seconds: float = 2.0
    # Set for the functions on top of the template's environment, e.g. AWS_ENDPOINT_URL of a fault proxy.
    function_environment: dict = field(default_factory=dict)
    # Called with the resources once they exist and before any function runs, e.g. to put an array there.
    before_start: Callable | None = None
    # Called with the running consumer function and mapping once both run, for scenarios that act
    # during a run; it must not block.
    on_start: Callable | None = None
    # Called once the queue is drained, before the compactor's run and the buckets' copies: waits for what a
    # scenario still has writing to them.
    after_drain: Callable | None = None
    # One invocation at a time whatever ConsumerMaxConcurrency says (which is at least 2), so no append
    # races another: what a trickle of records costs per invocation.
    serial: bool = False


@dataclass
class Outcome:
    """What a run did and what the buckets hold afterwards."""

    resources: resources.Resources
    # The raw bucket copied whole, keys as paths, and how many objects the buckets held together.
    lake: Path
    objects: int
    producer_summary: dict
    malformed_sent: int
    # The valid records of the packed messages with a bad line, and how many such messages went.
    mixed_ids: list
    mixed_messages: int
    queue_depth: int
    dead_letter_depth: int
    data_key: str
    # The array's whole history: the records of its sealed segments in order, then of the live array.
    array: list
    segments: int
    partition_keys: list
    partition_records: list
    # The error output's prefix (None when there is none), its objects (one per message with invalid
    # records) and the records they hold, each with its reason (error_output.records).
    error_prefix: str | None
    error_keys: list
    error_records: list
    mapping: dict
    mapping_errors: list
    elapsed_seconds: float
    landed_seconds: float
    drained: bool
    # What the producer, the consumer and the mapping asked of AWS: operation name -> usage.Operation.
    usage: dict
    producer_billed_ms: int
    logs: Path
    # The compactor's run (its requests apart from `usage`), None without a compactor.
    compaction: compaction.Compaction | None
    # Every bucket copied: name -> its folder, name -> its keys, name -> (its default encryption, how its
    # objects are encrypted: {(algorithm, KMS key): objects}).
    folders: dict = field(default_factory=dict)
    bucket_keys: dict = field(default_factory=dict)
    encryption: dict = field(default_factory=dict)
    # The curated lake's bucket (the curated table's location) and its copy; the raw bucket's when the
    # stack has one bucket.
    curated_bucket: str = ""
    curated: Path | None = None
    # The prefixes the checks tell raw from curated by: the template's CuratedPrefix, and the raw data's
    # (PARTITION_PREFIX, ERROR_PREFIX, DATA_KEY and its segments' folder).
    curated_prefix: str = ""
    raw_prefixes: tuple = ()


def run(template, options, say=print):
    local_endpoint()
    options.output.mkdir(parents=True, exist_ok=True)
    sqs, s3 = boto3.client("sqs"), boto3.client("s3")
    created = resources.create(template, sqs, s3, boto3.client("secretsmanager"), boto3.client("kms"))
    settings = mapping_settings(template, created)
    if options.serial:
        settings = dataclasses.replace(settings, max_concurrency=1)
    malformed = round(options.count * options.malformed_share)
    redrive = json.loads(created.queue.attributes["RedrivePolicy"])
    say(
        f"queue {created.queue.url} (visibility {created.queue.attributes['VisibilityTimeout']} s, "
        f"dead-letter queue after {redrive['maxReceiveCount']} receives)"
    )
    say(f"buckets {', '.join(f'{name} ({logical_id})' for logical_id, name in created.buckets.items())}")
    if options.before_start is not None:
        options.before_start(created)
    say(
        f"producer: a burst of {options.count} records (seed {options.seed})"
        + (f", and {malformed} malformed messages" if malformed else "")
    )
    say(
        f"consumer: {settings.max_concurrency} at once, batches of up to {settings.batch_size} messages, "
        f"batching window {settings.batching_window_seconds:g} s"
    )

    upstream = options.function_environment.get("AWS_ENDPOINT_URL") or local_endpoint()
    meter = FaultProxy(upstream)
    extra = {**options.function_environment, "AWS_ENDPOINT_URL": meter.url}
    producer = local_function(template, "ProducerFunction", options.producer, options.output / "producer.log", extra)
    consumer = local_function(
        template,
        "ConsumerFunction",
        options.consumer,
        options.output / "consumer.log",
        extra,
        instances=settings.max_concurrency,
    )
    mapping = EventSourceMapping(settings, lambda: boto3.client("sqs", endpoint_url=meter.url), consumer.invoke)
    started = time.monotonic()
    with meter, producer, consumer, ThreadPoolExecutor(max_workers=2) as feeders:
        mapping.start()
        if options.on_start is not None:
            options.on_start(consumer, mapping)
        try:
            produced = feeders.submit(feed.produce, producer, options.count, options.seed)
            mixed_in = feeders.submit(_mix_in, created.queue.url, malformed, options)
            drained = _drain(sqs, created, mapping, [produced, mixed_in], started, options, say)
        finally:
            mapping.stop()
        (summary, producer_billed_ms), (malformed_sent, mixed_ids) = produced.result(), mixed_in.result()
        elapsed = time.monotonic() - started
        landing_usage = meter.tally.snapshot()
        if options.after_drain is not None:
            options.after_drain()
        compacted = None
        if options.compactor is not None:
            say("compactor: one run over everything landed")
            compactor = local_function(
                template,
                "CompactorFunction",
                options.compactor,
                options.output / "compactor.log",
                {**extra, "COMPACT_GRACE_SECS": 0},
            )
            if options.compact_timeout_seconds is not None:
                compactor.timeout_seconds = min(compactor.timeout_seconds, options.compact_timeout_seconds)
            compacted = compaction.run(compactor, meter.tally)

    curated_bucket = lake.bucket_of(template, lake.CURATED_TABLE)
    folders, bucket_keys, encryption = {}, {}, {}
    # The copy of the one bucket an earlier version made.
    shutil.rmtree(options.output / "lake", ignore_errors=True)
    for logical_id, name in created.buckets.items():
        folder = options.output / _folder_name(logical_id, name, created.bucket, curated_bucket)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        folders[name] = folder
        bucket_keys[name] = lake.download(s3, name, "", folder)
        encryption[name] = (lake.default_encryption(s3, name), lake.encryption(s3, name, bucket_keys[name]))
    folder, keys = folders[created.bucket], bucket_keys[created.bucket]
    variables = {**template.properties("ConsumerFunction", "Environment", "Variables"), **options.function_environment}
    data_key, prefix = variables["DATA_KEY"], variables["PARTITION_PREFIX"]
    array, segments = history(folder, data_key, set(keys)) if data_key else ([], 0)
    partition_keys = [key for key in keys if key.startswith(prefix)]
    error_prefix = variables.get("ERROR_PREFIX") or None
    error_keys = [key for key in keys if error_prefix and key.startswith(error_prefix)]
    raw_prefixes = tuple(
        item
        for item in (prefix, error_prefix, data_key, data_key and f"{PurePosixPath(data_key).with_suffix('')}/")
        if item
    )
    counts = mapping.counts
    return Outcome(
        folders=folders,
        bucket_keys=bucket_keys,
        encryption=encryption,
        curated_bucket=curated_bucket,
        curated=folders.get(curated_bucket),
        curated_prefix=template.parameters["CuratedPrefix"],
        raw_prefixes=raw_prefixes,
        resources=created,
        lake=folder,
        objects=sum(map(len, bucket_keys.values())),
        producer_summary=summary,
        malformed_sent=malformed_sent,
        mixed_ids=mixed_ids,
        mixed_messages=options.packed_with_bad_lines,
        queue_depth=_depth(sqs, created.queue.url),
        dead_letter_depth=_depth(sqs, created.dead_letter_queue.url),
        data_key=data_key,
        array=array,
        segments=segments,
        partition_keys=partition_keys,
        partition_records=_partition_records(folder, partition_keys),
        error_prefix=error_prefix,
        error_keys=error_keys,
        error_records=error_output.read(folder, error_keys),
        mapping=counts.snapshot(),
        mapping_errors=[str(error) for error in mapping.errors],
        elapsed_seconds=elapsed,
        landed_seconds=counts.last_delete_at - started if counts.last_delete_at else elapsed,
        drained=drained,
        usage=landing_usage,
        producer_billed_ms=producer_billed_ms,
        logs=options.output,
        compaction=compacted,
    )


def _folder_name(logical_id, name, raw_bucket, curated_bucket):
    """The folder a bucket is copied to: raw/ for the raw bucket, curated/ for the curated lake's bucket when
    it has one of its own, else the logical id."""
    if name == raw_bucket:
        return "raw"
    return "curated" if name == curated_bucket else logical_id


def _mix_in(queue_url, malformed, options):
    """Sends what goes beside the burst (then whatever `send_beside` sends): (malformed messages sent, the valid
    ids of the packed messages with a bad line)."""
    sqs = boto3.client("sqs")
    sent = feed.send_malformed(sqs, queue_url, malformed)
    mixed = []
    if options.packed_with_bad_lines:
        mixed = feed.send_packed_with_bad_lines(
            sqs, queue_url, options.producer, options.packed_with_bad_lines, options.seed + 1
        )
    if options.send_beside is not None:
        options.send_beside(sqs, queue_url)
    return sent, mixed


def segment_key(data_key, number):
    """The key of the array's sealed segment `number` (from 1): streaming_data/00000001.json beside
    streaming_data.json."""
    return f"{PurePosixPath(data_key).with_suffix('')}/{number:08d}.json"


def segment_keys(data_key, exists):
    """The keys of the sealed segments in order, probing from 1 until `exists(key)` says no."""
    keys = []
    while exists(key := segment_key(data_key, len(keys) + 1)):
        keys.append(key)
    return keys


def history(folder, data_key, keys):
    """(the records of the segments in order then of the live array, how many segments) from the bucket
    copied to `folder`, whose keys are `keys`."""
    sealed = segment_keys(data_key, lambda key: key in keys)
    records = []
    for key in sealed + ([data_key] if data_key in keys else []):
        records.extend(json.loads((folder / key).read_bytes()))
    return records, len(sealed)


def mapping_settings(template, created):
    """The template's SQS event on the consumer, as the mapping's settings."""
    source = template.properties("ConsumerFunction", "Events", "Queue", "Properties")
    return MappingSettings(
        queue_url=created.queue.url,
        queue_arn=created.queue.arn,
        region=template.pseudo["AWS::Region"],
        batch_size=int(source["BatchSize"]),
        batching_window_seconds=float(source.get("MaximumBatchingWindowInSeconds", 0)),
        max_concurrency=int(source["ScalingConfig"]["MaximumConcurrency"]),
        report_batch_item_failures="ReportBatchItemFailures" in source.get("FunctionResponseTypes", []),
    )


def local_function(template, logical_id, bootstrap, log_path, extra_environment, instances=1):
    """The template's function with its environment, timeout and memory, running `bootstrap`."""
    environment = {**template.properties(logical_id, "Environment", "Variables"), **extra_environment}
    return LocalFunction(
        template.properties(logical_id, "FunctionName"),
        bootstrap,
        environment,
        log_path,
        instances=instances,
        timeout_seconds=int(template.properties(logical_id, "Timeout")),
        memory_mb=int(template.properties(logical_id, "MemorySize")),
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
            sent = counts.deleted + waiting + in_flight + dead
            say(
                f"[{now - started:6.1f} s] sent {sent:6d}{'' if fed else '+'}  in queue {waiting + in_flight:6d} "
                f"(in flight {in_flight:5d})  consumed {counts.deleted:6d}  failed {counts.failed:5d}  "
                f"dead-letter {dead:5d}"
            )
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


def _partition_records(folder, keys):
    records = []
    for key in keys:
        body = (folder / key).read_bytes()
        if key.endswith(".gz"):
            body = gzip.decompress(body)
        records.extend(json.loads(line) for line in body.splitlines() if line.strip())
    return records
