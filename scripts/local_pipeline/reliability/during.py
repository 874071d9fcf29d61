"""What a scenario does while its run goes on: kill consumers after their writes, take S3 down for a while,
or read the array over and over. Each is given a Running once the run starts and returns a callable that
gives the report's notes when the run is over (and raises if what it watched went wrong)."""

import json
import threading
import time
from dataclasses import dataclass

import boto3

from local_pipeline import pipeline
from local_pipeline.fault_proxy import FaultProxy, Rule


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
                raise AssertionError(
                    f"{len(invalid)} of {len(reads)} reads of the array or its segments were not "
                    f"a JSON array: {sorted(set(invalid))}"
                )
            return f"{len(reads)} reads, all valid JSON"

        return notes

    return start
