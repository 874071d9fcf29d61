"""The reliability scenarios: the settings every run shares, the fault rules, and the list of scenarios the
report has a row for, in its order."""

from collections.abc import Callable
from dataclasses import dataclass, field

from local_pipeline.fault_proxy import Rule

from .during import kill_after_writes, s3_outage, watch_the_array

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
# The compactor's input budget in the hostile scenario, in MiB: the least it takes.
HOSTILE_INPUT_MIB = 1


def s3_slower(seconds):
    """Every S3 request delayed by `seconds`, as a slower store or a longer way to it."""
    return {"s3:*": Rule(delay=1.0, delay_seconds=seconds)}


def s3_faults(share):
    """`share` of S3 requests faulted, spread over the kinds a cloud store shows."""
    return {
        "s3:*": Rule(
            error=share * 0.3,
            throttle=share * 0.3,
            reset=share * 0.15,
            reset_after=share * 0.15,
            delay=share * 0.1,
            delay_seconds=0.3,
        )
    }


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
    # A hostile sender beside the burst (hostile.py), and the compactor run once after the drain over what
    # landed and the gzip bomb the sender put in the landing zone; its checks are hostile_checks.py's.
    hostile: bool = False
    # Records of earlier persons in the array and the landing zone before the run, one of them erased on request
    # during it by the compactor run through the fault proxy (eraser.py); its checks are eraser_checks.py's.
    erasure: bool = False


def scenarios():
    return [
        Scenario("no faults"),
        Scenario("S3: 10% of requests fail", rules=s3_faults(0.10), count=1000),
        Scenario("S3: 30% of requests fail", rules=s3_faults(0.30), count=1000),
        Scenario(
            "SQS: 30% of sends throttled, 5% fail", rules={"sqs:SendMessageBatch": Rule(throttle=0.30, error=0.05)}
        ),
        Scenario("consumer killed after its write, 3 times", during=kill_after_writes(3)),
        Scenario(
            "8 consumers on one object, 400 batches",
            count=2000,
            parameters={"ConsumerMaxConcurrency": 8, "ConsumerBatchSize": 1},
            during=watch_the_array(),
        ),
        Scenario(
            "5 consumers on an array above 5 MiB, S3 50 ms slower",
            count=600,
            rules=s3_slower(0.05),
            parameters={"ConsumerMaxConcurrency": 5},
            initial_array_bytes=ABOVE_ONE_PART,
            no_append_fails=True,
            during=watch_the_array(),
        ),
        Scenario(
            "8 consumers on an array above 5 MiB, S3 50 ms slower",
            count=600,
            rules=s3_slower(0.05),
            parameters={"ConsumerMaxConcurrency": 8},
            initial_array_bytes=ABOVE_ONE_PART,
            no_append_fails=True,
            during=watch_the_array(),
        ),
        Scenario(
            "rollover under 10% S3 faults and 8 consumers",
            count=1500,
            rules=s3_faults(0.10),
            parameters={"ConsumerMaxConcurrency": 8},
            environment={"DATA_ROLLOVER_BYTES": str(ROLLOVER_BYTES)},
            during=watch_the_array(),
        ),
        Scenario("S3 down for 10 s, then back", during=s3_outage(1, 10)),
        Scenario("5% malformed messages, S3 10% faults", rules=s3_faults(0.10), malformed_share=0.05),
        Scenario(
            "30 packed messages with a bad line among 4 records, S3 10% faults",
            rules=s3_faults(0.10),
            packed_with_bad_lines=30,
        ),
        # Without an error output malformed messages reach the dead-letter queue after MaxReceiveCount
        # receives, so both are small.
        Scenario(
            "5% malformed messages, no error output",
            malformed_share=0.05,
            parameters={"QueueVisibilityTimeoutSeconds": 6, "MaxReceiveCount": 3},
            environment={"ERROR_PREFIX": ""},
        ),
        # The request goes in once the consumers are appending; the compactor's pass over the live array races them.
        Scenario(
            "erasure on request while 5 consumers append, S3 10% faults",
            count=300,
            rules=s3_faults(0.10),
            parameters={"ConsumerMaxConcurrency": 5, "ConsumerBatchSize": 2},
            during=watch_the_array(),
            erasure=True,
        ),
        # Batches of up to 30 messages carry thousands of dates together; a compactor's input budget of 1 MiB
        # (COMPACT_INPUT_MIB, its least) lets a gzip bomb of 1 MB exceed it a thousand times over.
        Scenario(
            "hostile sender: dates out of range, 3,000 dates, 21,000 lines {}, a gzip bomb",
            parameters={"ConsumerBatchSize": 30},
            environment={"COMPACT_INPUT_MIB": str(HOSTILE_INPUT_MIB)},
            hostile=True,
        ),
    ]
