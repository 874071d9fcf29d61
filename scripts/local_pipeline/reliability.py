"""Reliability scenarios: the pipeline end to end with faults injected between the functions and the local
endpoint (fault_proxy), a consumer killed after its write, many consumers on one object (above 5 MiB too,
where the consumer composes with UploadPartCopy), rollovers of the array into sealed segments, an S3
outage, and malformed input. The producer packs five records to a message, so every scenario carries packed
messages. Each gives a row of the report: records sent, landed, duplicated, lost, malformed messages set
aside (in the error output, or the dead-letter queue without one), counted over the array's whole history
(its sealed segments, then the live array).

python -m local_pipeline.reliability [--write docs/reliability.md] runs them all (scripts/reliability)."""

import argparse
import json
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import boto3

from . import feed, pipeline, report
from .endpoint import local_endpoint
from .fault_proxy import FaultProxy, Rule
from .template import ROOT, Template

# Small and fast, and as the template relates them: visibility above the timeout plus the window.
BASE_PARAMETERS = {
    "ConsumerBatchSize": 10,
    "ConsumerBatchingWindowSeconds": 1,
    "ConsumerMaxConcurrency": 4,
    "ConsumerTimeoutSeconds": 10,
    "QueueVisibilityTimeoutSeconds": 12,
    "MaxReceiveCount": 10,
}
SEED = 11
# The consumer searches only the array's last 16 KiB (about 28 records) for a first delivery, so any
# record that comes back must be found by the search a redelivery gets.
CONSUMER_ENVIRONMENT = {"DEDUP_WINDOW_BYTES": "16384"}
# Five records a message: packed messages in every scenario, and still many messages to contend over.
PRODUCER_ENVIRONMENT = {"PACK_RECORDS": "5"}
# Above the 5 MiB an UploadPartCopy part needs, so every append composes.
ABOVE_ONE_PART = 6 * 1024 * 1024
# Small enough that a run of a thousand records seals several segments.
ROLLOVER_BYTES = 131072


def s3_slower(seconds):
    """Every S3 request delayed by `seconds`, as a slower store or a longer way to it."""
    return {"s3:*": Rule(delay=1.0, delay_seconds=seconds)}


def s3_faults(share):
    """`share` of S3 requests faulted, spread over the kinds a cloud store shows."""
    return {"s3:*": Rule(error=share * 0.3, throttle=share * 0.3, reset=share * 0.15, reset_after=share * 0.15,
                         delay=share * 0.1, delay_seconds=0.3)}


@dataclass
class Scenario:
    name: str
    rules: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    count: int = 600
    malformed_share: float = 0.0
    # Packed messages of four valid records around a bad line, sent beside the burst.
    packed_with_bad_lines: int = 0
    # For the consumer (and producer), over CONSUMER_ENVIRONMENT, e.g. DATA_ROLLOVER_BYTES.
    environment: dict = field(default_factory=dict)
    # When set, the array already holds about this many bytes of filler records before the run.
    initial_array_bytes: int = 0
    # No append may give up: contention alone must never cost a batch.
    no_append_fails: bool = False
    # Given a Running once the run starts; returns a callable that gives the report's notes when the
    # run is over (and raises if what it watched went wrong).
    during: Callable | None = None


@dataclass
class Running:
    proxy: FaultProxy
    consumer: object
    mapping: object
    bucket: str
    data_key: str


def kill_after_writes(kills):
    """Kills every consumer right after S3 took one of its writes to the array, `kills` times."""
    def start(running):
        proxy, consumer = running.proxy, running.consumer
        done = []

        def after_forward(name, path, status):
            written = name in ("s3:PutObject", "s3:CompleteMultipartUpload") and path.endswith("/streaming_data.json")
            if written and status == 200 and len(done) < kills:
                done.append(path)
                consumer.kill_instances()

        proxy.after_forward = after_forward
        return lambda: f"{len(done)} kills, {running.mapping.counts.function_errors} invocations unanswered"
    return start


def s3_outage(after_seconds, for_seconds):
    """Every S3 request fails from `after_seconds` into the run for `for_seconds`."""
    def start(running):
        proxy = running.proxy

        def outage():
            time.sleep(after_seconds)
            proxy.rules = {"s3:*": Rule(error=0.5, throttle=0.5)}
            time.sleep(for_seconds)
            proxy.rules = {}

        threading.Thread(target=outage, daemon=True).start()
        return lambda: f"S3 down {for_seconds} s"
    return start


def _is_json_array(body):
    try:
        return isinstance(json.loads(body), list)
    except ValueError:
        return False


def watch_the_array():
    """Reads the live array and every sealed segment over and over while the run goes on; every read must
    be a JSON array."""
    def start(running):
        s3, reads, invalid = boto3.client("s3"), [], []
        stop = threading.Event()

        def read(key):
            try:
                return s3.get_object(Bucket=running.bucket, Key=key)["Body"].read()
            except s3.exceptions.NoSuchKey:
                return None

        def read_all():
            """The segments from 1 until one is missing, then the live array; checks each read."""
            number = 1
            while (body := read(pipeline.segment_key(running.data_key, number))) is not None:
                reads.append(len(body))
                if not _is_json_array(body):
                    invalid.append(pipeline.segment_key(running.data_key, number))
                number += 1
            body = read(running.data_key)
            if body is not None:
                reads.append(len(body))
                if not _is_json_array(body):
                    invalid.append(running.data_key)

        def watch():
            while not stop.is_set():
                read_all()
                stop.wait(0.05)

        threading.Thread(target=watch, daemon=True).start()

        def notes():
            stop.set()
            if invalid:
                raise AssertionError(f"{len(invalid)} of {len(reads)} reads of the array or its segments were not "
                                     f"a JSON array: {sorted(set(invalid))}")
            return f"{len(reads)} reads, all valid JSON"
        return notes
    return start


def filler_array(size, seed=SEED):
    """A JSON array of about `size` bytes of filler records laid out as the consumer writes (`[`, one record
    a line, `,` between them, `]`), and the filler's unique ids in order."""
    dice = random.Random(seed)
    padding = "f" * 480
    ids, lines, length = [], [], 2
    while length < size:
        unique_id = str(uuid.UUID(int=dice.getrandbits(128), version=4))
        line = json.dumps({"unique_id": unique_id, "filler": padding}).encode()
        ids.append(unique_id)
        lines.append(line)
        length += len(line) + 2
    return b"[\n" + b",\n".join(lines) + b"\n]\n", ids


def filler_damage(history_ids, filler_ids):
    """How many filler records are not where they were, once each, before every record of the run."""
    head = history_ids[:len(filler_ids)]
    misplaced = sum(1 for found, placed in zip(head, filler_ids) if found != placed)
    missing = len(filler_ids) - len(head)
    fillers = set(filler_ids)
    again = sum(1 for unique_id in history_ids[len(filler_ids):] if unique_id in fillers)
    return misplaced + missing + again


def scenarios():
    return [
        Scenario("no faults"),
        Scenario("S3: 10% of requests fail", rules=s3_faults(0.10), count=1000),
        Scenario("S3: 30% of requests fail", rules=s3_faults(0.30), count=1000),
        Scenario("SQS: 30% of sends throttled, 5% fail",
                 rules={"sqs:SendMessageBatch": Rule(throttle=0.30, error=0.05)}),
        Scenario("consumer killed after its write, 3 times", during=kill_after_writes(3)),
        Scenario("8 consumers on one object, 400 batches", count=2000,
                 parameters={"ConsumerMaxConcurrency": 8, "ConsumerBatchSize": 1}, during=watch_the_array()),
        Scenario("5 consumers on an array above 5 MiB, S3 50 ms slower", count=600, rules=s3_slower(0.05),
                 parameters={"ConsumerMaxConcurrency": 5}, initial_array_bytes=ABOVE_ONE_PART,
                 no_append_fails=True, during=watch_the_array()),
        Scenario("8 consumers on an array above 5 MiB, S3 50 ms slower", count=600, rules=s3_slower(0.05),
                 parameters={"ConsumerMaxConcurrency": 8}, initial_array_bytes=ABOVE_ONE_PART,
                 no_append_fails=True, during=watch_the_array()),
        Scenario("rollover under 10% S3 faults and 8 consumers", count=1500, rules=s3_faults(0.10),
                 parameters={"ConsumerMaxConcurrency": 8}, environment={"DATA_ROLLOVER_BYTES": str(ROLLOVER_BYTES)},
                 during=watch_the_array()),
        Scenario("S3 down for 10 s, then back", during=s3_outage(1, 10)),
        Scenario("5% malformed messages, S3 10% faults", rules=s3_faults(0.10), malformed_share=0.05),
        Scenario("30 packed messages with a bad line among 4 records, S3 10% faults", rules=s3_faults(0.10),
                 packed_with_bad_lines=30),
        # Without an error output malformed messages reach the dead-letter queue after MaxReceiveCount
        # receives, so both are small.
        Scenario("5% malformed messages, no error output", malformed_share=0.05,
                 parameters={"QueueVisibilityTimeoutSeconds": 6, "MaxReceiveCount": 3},
                 environment={"ERROR_PREFIX": ""}),
    ]


@dataclass
class Row:
    scenario: str
    sent: int
    landed: int
    duplicates: int
    lost: int
    # Malformed messages in the error output or the dead-letter queue.
    set_aside: int
    malformed: int
    redeliveries: int
    faults: int
    seconds: float
    notes: str
    # Sealed segments before the live array at the end.
    segments: int = 0
    # Filler records (an initial array's) lost, doubled or moved.
    filler_damaged: int = 0

    @property
    def holds(self):
        """Nothing lost or doubled, the producer's count true, exactly the malformed set aside, and an
        initial array's records all still there once, first."""
        return (self.lost == 0 and self.duplicates == 0 and self.landed == self.sent
                and self.set_aside == self.malformed and self.filler_damaged == 0)


def run_scenario(scenario, producer, consumer, output, say=lambda _line: None):
    template = Template({"Company": "rel" + uuid.uuid4().hex[:12], **BASE_PARAMETERS, **scenario.parameters})
    bucket = template.properties("DataBucket", "BucketName")
    data_key = template.properties("ConsumerFunction", "Environment", "Variables", "DATA_KEY")
    filler, filler_ids = filler_array(scenario.initial_array_bytes) if scenario.initial_array_bytes else (b"", [])
    environment = {**CONSUMER_ENVIRONMENT, **PRODUCER_ENVIRONMENT, **scenario.environment}
    with FaultProxy(local_endpoint(), scenario.rules, seed=SEED) as proxy:
        notes = []

        def before_start(created):
            if filler:
                boto3.client("s3").put_object(Bucket=created.bucket, Key=data_key, Body=filler,
                                              ContentType="application/json")

        def on_start(consumer_function, mapping):
            if scenario.during is not None:
                notes.append(scenario.during(Running(proxy, consumer_function, mapping, bucket, data_key)))

        options = pipeline.Options(
            producer=producer, consumer=consumer, output=output, count=scenario.count, seed=SEED,
            malformed_share=scenario.malformed_share, packed_with_bad_lines=scenario.packed_with_bad_lines,
            drain_timeout_seconds=600, progress_seconds=1,
            function_environment={**environment, "AWS_ENDPOINT_URL": proxy.url},
            before_start=before_start, on_start=on_start,
        )
        outcome = pipeline.run(template, options, say=say)
        faults = proxy.injected.total()
    history_ids = [record["unique_id"] for record in outcome.array]
    fillers = set(filler_ids)
    copies = Counter(unique_id for unique_id in history_ids if unique_id not in fillers)
    strangers = set(copies) - set(feed.generated_ids(producer, scenario.count, SEED)) - set(outcome.mixed_ids)
    if strangers:
        raise AssertionError(f"{scenario.name}: {len(strangers)} records in the array were never produced")
    if not outcome.drained:
        raise AssertionError(f"{scenario.name}: the queue still holds {outcome.queue_depth} messages")
    sent = report.valid_sent(outcome)
    damaged = filler_damage(history_ids, filler_ids)
    notes = [note() for note in notes]
    if filler_ids:
        notes.append(f"{len(filler_ids)} filler records ({len(filler) / 2**20:.1f} MiB) before the run, "
                     + ("all there once" if damaged == 0 else f"{damaged} lost, doubled or moved"))
    if scenario.no_append_fails:
        failures = appends_failed(output / "consumer.log")
        if failures:
            raise AssertionError(f"{scenario.name}: {failures} appends failed")
        notes.append("no append failed")
    if "DATA_ROLLOVER_BYTES" in scenario.environment:
        if outcome.segments == 0:
            raise AssertionError(f"{scenario.name}: the array was never sealed")
        notes.append(f"{outcome.segments} segments sealed")
    return Row(
        scenario=scenario.name, sent=sent, landed=len(copies), duplicates=sum(copies.values()) - len(copies),
        lost=max(0, sent - len(copies)), set_aside=len(outcome.error_keys) + outcome.dead_letter_depth,
        malformed=outcome.malformed_sent + outcome.mixed_messages,
        redeliveries=(outcome.mapping["received"] - outcome.producer_summary["messages"] - outcome.malformed_sent
                      - outcome.mixed_messages),
        faults=faults,
        seconds=outcome.elapsed_seconds, notes=", ".join(notes), segments=outcome.segments,
        filler_damaged=damaged,
    )


def appends_failed(log):
    """The consumer's log lines that report an append that failed or was cut off at the deadline."""
    if not log.exists():
        return 0
    return sum('"append failed' in line or '"writes cut off' in line
               for line in log.read_text(errors="replace").splitlines())


COLUMNS = ("scenario", "records sent", "landed", "duplicates", "lost", "malformed sent", "set aside",
           "deliveries again", "faults injected", "seconds", "notes")


def table(rows):
    """The report as a Markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = (row.scenario, row.sent, row.landed, row.duplicates, row.lost, row.malformed, row.set_aside,
                 row.redeliveries, row.faults, f"{row.seconds:.0f}", row.notes)
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


REPORT_HEAD = """# Reliability report

Written by `scripts/reliability`; `scripts/test` runs the same scenarios and fails if any row loses or
doubles a record. Each scenario runs the real bootstraps end to end on moto, with faults injected between
the functions and moto by `scripts/local_pipeline/fault_proxy.py`. The event source mapping reaches moto
through the counting proxy only, and the checks talk to moto directly. The producer packs five records to a message. The consumer searches only the array's last 16 KiB for a record delivered
the first time, so a record that comes back is found only by the wider search a redelivery gets. `landed`
counts distinct records in the array's whole history: its sealed segments (`streaming_data/00000001.json`,
`00000002.json`, ..., once the consumer rolls the array over at `DATA_ROLLOVER_BYTES`) in order, then the live
`streaming_data.json`; `duplicates` counts extra copies there; `lost` counts records the producer reported
sent that did not land; `malformed sent` counts malformed messages and packed messages with a bad line (whose valid records
count as sent); `set aside` counts those in the error output (`errors/`, one object a message, each bad
record with its reason) or, in the scenario without one, in the dead-letter queue;
`deliveries again` counts messages the consumer was given more than once (after a
failure it reported, a function error, or SQS's own at-least-once delivery). A scenario on an array above 5 MiB starts with
filler records already in it (so every append composes with UploadPartCopy); they are not counted above,
but each must still be there exactly once, before every record of the run. Every row must show 0 lost and
0 duplicates, and exactly the malformed messages set aside. The partitions are at least once: a record
whose message came back in another batch can be in two partition objects; the compactor keeps it once in
the curated table, and its own scenarios (faults, killed runs, runs at once, late and repeated records) are
in `compactor/tests/lake.rs`, described in docs/curated-lake.md.

"""


def main(argv=None):
    parser = argparse.ArgumentParser(prog="scripts/reliability", description=__doc__)
    parser.add_argument("--write", type=Path, help="write the report here (e.g. docs/reliability.md)")
    parser.add_argument("--producer", type=Path, default=ROOT / "target/release/producer")
    parser.add_argument("--consumer", type=Path, default=ROOT / "target/release/consumer")
    options = parser.parse_args(argv)
    rows = []
    for scenario in scenarios():
        with tempfile.TemporaryDirectory(prefix="reliability-") as output:
            row = run_scenario(scenario, options.producer, options.consumer, Path(output))
        print(f"{'ok  ' if row.holds else 'FAIL'} {row.scenario}: sent {row.sent}, landed {row.landed}, "
              f"duplicates {row.duplicates}, lost {row.lost}, set aside {row.set_aside}, "
              f"{row.faults} faults, {row.seconds:.0f} s", flush=True)
        rows.append(row)
    report = REPORT_HEAD + table(rows)
    if options.write:
        options.write.parent.mkdir(parents=True, exist_ok=True)
        options.write.write_text(report)
    else:
        print(report)
    return 0 if all(row.holds for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
