"""The reliability suite's erasure on request (issue 25), while the consumers append to the live array: before the
run the array and the landing zone hold records of earlier persons (the producer's command line's, for a seed of
their own), which a compactor run puts into the curated lake. As the consumers start, an operator's request names
one of those persons by their four identifiers, as typed from a letter, and the compactor is invoked at once, and
again until the request has its receipt: its pass over the live array meets the consumers' appends. The compactor
reaches S3 through a fault proxy of its own with the scenario's rules, which also tells when its writes land. The
earlier records never pass through the queue, so no delivery brings the person back after the erasure.
eraser_checks.py reads the buckets once it is over."""

import json
import threading
from collections import defaultdict
from contextlib import ExitStack

import boto3

from local_pipeline import compaction, erasure, feed, pipeline
from local_pipeline.endpoint import local_endpoint
from local_pipeline.fault_proxy import FaultProxy

# Records of earlier persons the array and the landing zone hold before the run; one person's is erased.
EARLIER_RECORDS = 20
# The landing object of a day's earlier records, beside the consumers' in that day's partition.
EARLIER_OBJECT = "earlier.ndjson"
# The operator's request, named by a ticket, never by the person: erasure/requests/<REQUEST>.json.
REQUEST = "ticket-4711"
# Compactor invocations at most, the one before the run over the earlier records included. A run that loses a write
# to a fault, or the array to the consumers' appends too often, fails; the next goes on from where its pass stopped.
MAX_RUNS = 8
COMPACTOR_TIMEOUT_SECONDS = 120


def array_of(lines):
    """The JSON array of the records `lines` (a JSON object each) laid out as the consumer writes it."""
    return ("[\n" + ",\n".join(lines) + "\n]\n").encode()


def chosen_person(earlier, others):
    """The first record of `earlier` that holds all four identifiers, none of which another record (of `earlier` or
    `others`, the run's) holds: the request names that record alone, whatever arrives during the run."""
    for record in earlier:
        held = erasure.identifiers(record)
        if len({field for field, value in held if value}) < len(erasure.FIELDS):
            continue
        rest = [other for other in [*earlier, *others] if other is not record]
        if not any(held & erasure.identifiers(other) for other in rest):
            return record
    raise ValueError("no earlier record holds four identifiers of its own; choose another seed")


def request_for(record):
    """The request's body: the record's four identifiers, each as an operator might type it."""
    return {key: [erasure.typed(field, record[field])] for key, field in erasure.FIELDS.items()}


class Eraser:
    """One scenario's erasure: `producer` generates the earlier records for `seed`, and the run's (`count` for
    `run_seed`) so the person chosen shares no identifier with them; the compactor's bootstrap `compactor` runs as
    the `template` has it, its log in `output`, its requests meeting the fault proxy `rules`. put_earlier before the
    run, start as it starts, finish once the queue is drained; close stops the compactor and its proxy whatever
    happened. The compactor runs in a thread of its own from put_earlier on."""

    def __init__(self, template, producer, compactor, output, seed, count, run_seed, rules):
        self.template = template
        self.compactor = compactor
        self.output = output
        self.proxy = FaultProxy(local_endpoint(), rules, seed=seed)
        self.lines = feed.generated_lines(producer, EARLIER_RECORDS, seed)
        self.earlier = [json.loads(line) for line in self.lines]
        run_records = [json.loads(line) for line in feed.generated_lines(producer, count, run_seed)]
        self.person = chosen_person(self.earlier, run_records)
        self.request = request_for(self.person)
        self.bucket = None
        self.data_key = None
        # The earlier records' landing objects, and the one that holds the person's.
        self.landing_keys = []
        self.person_landing_key = None
        # The compactor's invocations in order (compaction.Compaction each), the one before the run first.
        self.runs = []
        # Messages the consumers had finished when the request went in, when S3 took the compactor's first write of
        # the live array (the pass's, or the sweep's when a run stopped the pass first) and when it took the receipt.
        self.consumed_at_request = None
        self.consumed_at_array = None
        self.consumed_at_receipt = None
        # The compactor's writes of the live array S3 refused because a consumer's append came between its read
        # and its write (412): races the erasure lost to the appends and went on from.
        self.array_races_lost = 0
        self._function = None
        self._stack = ExitStack()
        self._thread = None
        self._failure = None
        # The run, once started (a during.Running), or None when it never starts.
        self._running = None
        self._started = threading.Event()

    @property
    def kept_ids(self):
        """The unique ids of the earlier records the erasure must keep, in the array's order."""
        return [record["unique_id"] for record in self.earlier if record is not self.person]

    def put_earlier(self, s3, bucket, data_key, partition_prefix, environment):
        """Puts the earlier records into the array and into their days' partitions of the landing zone, and starts
        the compactor's thread (`environment` is the functions'): while the functions start, it runs the compactor
        until it succeeds, so the curated lake holds the person's row too; then it waits for the run to start."""
        self.bucket, self.data_key = bucket, data_key
        s3.put_object(Bucket=bucket, Key=data_key, Body=array_of(self.lines), ContentType="application/json")
        days = defaultdict(list)
        for line, record in zip(self.lines, self.earlier, strict=True):
            days[record["accessed_at"][:10]].append(line)
            if record is self.person:
                self.person_landing_key = f"{partition_prefix}dt={record['accessed_at'][:10]}/{EARLIER_OBJECT}"
        for day, lines in sorted(days.items()):
            key = f"{partition_prefix}dt={day}/{EARLIER_OBJECT}"
            s3.put_object(Bucket=bucket, Key=key, Body="".join(f"{line}\n" for line in lines).encode())
            self.landing_keys.append(key)
        self._thread = threading.Thread(target=self._compact_then_erase, args=(environment,), daemon=True)
        self._thread.start()

    def start(self, running):
        """Lets the compactor's thread put the request and run the compactor until the request has its receipt,
        beside the run `running` (a during.Running)."""
        array, receipt = f"/{self.data_key}", f"/{erasure.RECEIPTS}{REQUEST}.json"

        def after_forward(name, path, status):
            if name not in ("s3:PutObject", "s3:CompleteMultipartUpload"):
                return
            if path.endswith(array) and status == 412:
                self.array_races_lost += 1
            if path.endswith(array) and status == 200 and self.consumed_at_array is None:
                self.consumed_at_array = running.mapping.counts.deleted
            if path.endswith(receipt) and status == 200 and self.consumed_at_receipt is None:
                self.consumed_at_receipt = running.mapping.counts.deleted

        self.proxy.after_forward = after_forward
        self._running = running
        self._started.set()

    def finish(self, timeout_seconds=MAX_RUNS * COMPACTOR_TIMEOUT_SECONDS):
        """Waits for the compactor's runs to end and stops it; raises what stopped them."""
        self._thread.join(timeout_seconds)
        if self._thread.is_alive():
            raise AssertionError(f"the erasure's compactor runs did not end within {timeout_seconds} s")
        self.close()
        if self._failure is not None:
            raise self._failure

    def close(self):
        self._started.set()
        self._stack.close()

    def _compact_then_erase(self, environment):
        try:
            function = pipeline.local_function(
                self.template,
                "CompactorFunction",
                self.compactor,
                self.output / "compactor.log",
                {**environment, "AWS_ENDPOINT_URL": self.proxy.url, "COMPACT_GRACE_SECS": 0},
            )
            function.timeout_seconds = COMPACTOR_TIMEOUT_SECONDS
            self._stack.enter_context(self.proxy)
            self._function = self._stack.enter_context(function)
            while not self._invoke().ok:
                pass
            self._started.wait()
            if self._running is None:
                return
            s3 = boto3.client("s3")
            s3.put_object(
                Bucket=self.bucket, Key=f"{erasure.REQUESTS}{REQUEST}.json", Body=json.dumps(self.request).encode()
            )
            self.consumed_at_request = self._running.mapping.counts.deleted
            while not self._receipt_written(s3):
                self._invoke()
        except Exception as error:  # noqa: BLE001 - raised again by finish(), in the runner's thread
            self._failure = error

    def _invoke(self):
        if len(self.runs) == MAX_RUNS:
            last = self.runs[-1].response
            raise AssertionError(
                f"the compactor did not finish the erasure in {MAX_RUNS} runs; the last answered "
                f"{json.dumps(last)[:300]}"
            )
        self.runs.append(compaction.invoke(self._function))
        return self.runs[-1]

    def _receipt_written(self, s3):
        """Whether the request's receipt is there: the run that wrote it may still have failed afterwards (a
        partition its compaction lost to a fault), so its answer does not say."""
        try:
            s3.head_object(Bucket=self.bucket, Key=f"{erasure.RECEIPTS}{REQUEST}.json")
        except s3.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True
