"""The pipeline's bill, from what a run measured: every request the functions and the event source mapping
made (counted at the proxy), the functions' invocations and billed milliseconds, their log bytes and the
consumer's metrics, priced from prices.json. It gives the cost per million records at the run's batching,
and per month at a steady rate, for which a small model turns the run's per-invocation figures into the
invocations, polls and messages that rate makes under the template's batching, and its one compactor run
into the runs its schedule makes. It also prices each EncryptionKeys choice: SSE-S3 costs nothing; a KMS key
per bucket costs its monthly fee and the requests S3 makes to KMS, few with S3 Bucket Keys (kms_month)."""

import copy
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

PRICES = Path(__file__).with_name("prices.json")
HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
DAYS_PER_MONTH = SECONDS_PER_MONTH / 86400
SQS_CHUNK = 64 * 1024
SQS_BATCH_BYTES = 256 * 1024
S3_PUT_CLASS = {
    "s3:PutObject",
    "s3:CreateMultipartUpload",
    "s3:UploadPart",
    "s3:UploadPartCopy",
    "s3:CompleteMultipartUpload",
    "s3:CopyObject",
    "s3:ListObjectsV2",
    "s3:ListParts",
}
S3_GET_CLASS = {"s3:GetObject", "s3:HeadObject"}
# The default stream: pauses of 1-15 s, 8 s on average, one record a message.
DEFAULT_STREAM_RATE = 1 / 8
# With S3 Bucket Keys, S3 asks KMS for a bucket-level key once per period, requester and bucket rather than
# per object: the requests an hour in which each function touches the buckets (prices.json's assumption
# kms_bucket_key_seconds for the period). The consumer writes the raw bucket (GenerateDataKey) and reads its
# array to compose it (Decrypt); the compactor reads the raw bucket's landing zone, and writes and reads the
# curated lake.
KMS_REQUESTS_PER_CONSUMER_HOUR = 2
KMS_REQUESTS_PER_COMPACTOR_HOUR = 3
# Without bucket keys, about one KMS request per object S3 encrypts or decrypts: a PUT or a multipart
# upload's creation (GenerateDataKey), a GET or a copied part's source (Decrypt). Parts and completions use
# the upload's data key.
KMS_REQUESTS_PER_S3_REQUEST = {
    "PutObject": 1,
    "CreateMultipartUpload": 1,
    "CopyObject": 2,
    "UploadPartCopy": 1,
    "GetObject": 1,
}
ENCRYPTION_CHOICES = ("s3-managed", "customer-managed")


def load_prices(path=PRICES):
    document = json.loads(Path(path).read_text())
    prices = {name: item["usd"] for name, item in document["prices"].items()}
    assumptions = {name: item["value"] for name, item in document["assumptions"].items()}
    return document, prices, assumptions


@dataclass
class Compactor:
    """The compactor's one run after the drain, counted apart from the landing path."""

    billed_ms: int
    memory_mb: int
    s3_put: int
    s3_get: int
    secret_reads: int
    log_bytes: int
    # From its response: the records it read, the landed objects and partitions they were in, and the
    # Parquet bytes a record took.
    records: int
    landed_objects: int
    partitions: int
    curated_bytes_per_record: float
    # CURATED_FILE_MIB in bytes: files below it are merged with the next run's rows.
    target_file_bytes: int
    runs_per_month: float


@dataclass
class Measured:
    """One run's counts, and the template settings the model needs."""

    records: int
    messages: int
    sqs_send_units: int
    sqs_receive_units: int
    sqs_delete_units: int
    s3_put: int
    s3_get: int
    consumer_invocations: int
    consumer_billed_ms: int
    producer_invocations: int
    producer_billed_ms: int
    log_bytes: int
    metrics: int
    record_bytes: float
    consumer_memory_mb: int
    producer_memory_mb: int
    architecture: str
    batch_size: int
    batching_window_seconds: int
    producer_runs_per_month: float
    alarms: int
    dashboards: int
    # S3 requests by operation, e.g. {"UploadPartCopy": 16}.
    s3_by_kind: dict = field(default_factory=dict)
    # None when the run had no compactor.
    compactor: Compactor | None = None
    # Secrets Manager secrets the template makes (the pseudonym key).
    secrets: int = 0
    # The deployed EncryptionKeys, and the KMS keys each choice makes ({choice: keys}); whether the pseudonym
    # key's secret is encrypted with one of them (a KMS Decrypt per read) with customer-managed keys.
    encryption_keys: str = "s3-managed"
    kms_keys: dict = field(default_factory=dict)
    secret_under_stack_key: bool = False

    @property
    def records_per_message(self):
        return self.records / self.messages if self.messages else 1.0

    @property
    def full_batch_invocations(self):
        """The invocations the run's messages take in full batches of the template's size, a fraction when
        they fill less than one: the marginal cost, whatever the run's size."""
        return self.messages / self.batch_size

    def per_1000_records(self, invocations=None):
        """Billed requests of the landing path (producer, queue, consumer; not the compactor) per thousand
        records, the consumer invoked `invocations` times (as often as in the run when not given). In full
        batches it is the count a test bounds: the run's own count depends on how the local mapping
        happened to split the batches."""
        scale = (invocations or self.consumer_invocations) / max(1, self.consumer_invocations)
        requests = (
            self.sqs_send_units + self.sqs_receive_units + self.sqs_delete_units + (self.s3_put + self.s3_get) * scale
        )
        return requests * 1000 / self.records


def measure(outcome, template, deployed=None):
    """The counts of `outcome` (pipeline.run's under `template`), with the batching, schedules and monitoring
    of `deployed` (the template as it would be deployed; `template` when not given), which a month is
    priced under. `outcome.usage` is the landing path's; the compactor's requests are its own."""
    deployed = deployed or template
    usage = outcome.usage

    def units(*names):
        return sum(usage[name].units for name in names if name in usage)

    receive = usage.get("sqs:ReceiveMessage")
    s3_by_kind = {name.split(":", 1)[1]: usage[name].requests for name in usage if name.startswith("s3:")}
    sent_bytes = _sent_body_bytes(outcome)
    consumer_log, producer_log = outcome.logs / "consumer.log", outcome.logs / "producer.log"
    invocations = outcome.mapping["invocations"]
    resources = deployed.document["Resources"]
    return Measured(
        records=outcome.producer_summary["sent"],
        messages=outcome.producer_summary["messages"],
        sqs_send_units=units("sqs:SendMessageBatch", "sqs:SendMessage"),
        # Empty receives stand for Lambda's idle long polls, which the model prices apart.
        sqs_receive_units=(receive.units - receive.empty) if receive else 0,
        sqs_delete_units=units("sqs:DeleteMessageBatch", "sqs:DeleteMessage"),
        s3_put=sum(usage[name].requests for name in usage if name in S3_PUT_CLASS),
        s3_get=sum(usage[name].requests for name in usage if name in S3_GET_CLASS),
        consumer_invocations=invocations,
        consumer_billed_ms=outcome.mapping["billed_ms"],
        producer_invocations=1,
        producer_billed_ms=outcome.producer_billed_ms,
        log_bytes=_function_log_bytes(consumer_log) + _function_log_bytes(producer_log),
        metrics=len(_metric_names(consumer_log)),
        record_bytes=sent_bytes / max(1, outcome.producer_summary["sent"]),
        consumer_memory_mb=int(resources["ConsumerFunction"]["Properties"]["MemorySize"]),
        producer_memory_mb=int(resources["ProducerFunction"]["Properties"]["MemorySize"]),
        architecture=str(deployed.parameters["Architecture"]),
        batch_size=int(deployed.parameters["ConsumerBatchSize"]),
        batching_window_seconds=int(deployed.parameters["ConsumerBatchingWindowSeconds"]),
        producer_runs_per_month=runs_per_month(str(deployed.parameters["ScheduleExpression"])),
        alarms=sum(resource["Type"] == "AWS::CloudWatch::Alarm" for resource in resources.values()),
        dashboards=sum(resource["Type"] == "AWS::CloudWatch::Dashboard" for resource in resources.values()),
        s3_by_kind=s3_by_kind,
        compactor=_compactor(outcome, deployed),
        secrets=sum(resource["Type"] == "AWS::SecretsManager::Secret" for resource in resources.values()),
        **encryption_settings(deployed),
    )


def encryption_settings(deployed):
    """The EncryptionKeys of `deployed` (s3-managed when the template has no such parameter), the stack's
    KMS keys under each choice beyond those of s3-managed (the alarm topic's is priced with monitoring),
    and whether the pseudonym key's secret names one of the stack's keys."""
    if "EncryptionKeys" not in deployed.parameters:
        return {"encryption_keys": "s3-managed", "kms_keys": dict.fromkeys(ENCRYPTION_CHOICES, 0)}
    counts = {}
    for choice in ENCRYPTION_CHOICES:
        variant = copy.copy(deployed)
        variant.parameters = {**deployed.parameters, "EncryptionKeys": choice}
        counts[choice] = len(variant.resources_of_type("AWS::KMS::Key"))
    keys = {choice: count - counts["s3-managed"] for choice, count in counts.items()}
    stack_keys = {
        logical_id for logical_id, item in deployed.document["Resources"].items() if item["Type"] == "AWS::KMS::Key"
    }
    secret = deployed.document["Resources"].get("PseudonymSecret", {}).get("Properties", {}).get("KmsKeyId")
    return {
        "encryption_keys": str(deployed.parameters["EncryptionKeys"]),
        "kms_keys": keys,
        "secret_under_stack_key": bool(_references(secret) & stack_keys),
    }


def _references(value):
    """The logical ids a template value refers to with Ref or GetAtt."""
    if isinstance(value, list):
        return set().union(*map(_references, value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found = set()
    for key, item in value.items():
        if key == "Ref" and isinstance(item, str):
            found.add(item)
        elif key == "Fn::GetAtt":
            found.add(item.split(".", 1)[0] if isinstance(item, str) else item[0])
        else:
            found |= _references(item)
    return found


def _compactor(outcome, deployed):
    compaction = outcome.compaction
    if compaction is None:
        return None
    usage, account = compaction.usage, compaction.response
    written = account.get("records_written", 0)
    return Compactor(
        billed_ms=compaction.billed_ms,
        memory_mb=int(deployed.properties("CompactorFunction", "MemorySize")),
        s3_put=sum(usage[name].requests for name in usage if name in S3_PUT_CLASS),
        s3_get=sum(usage[name].requests for name in usage if name in S3_GET_CLASS),
        secret_reads=sum(usage[name].requests for name in usage if name == "secretsmanager:GetSecretValue"),
        log_bytes=_function_log_bytes(outcome.logs / "compactor.log"),
        records=account.get("records_read", 0),
        landed_objects=account.get("landed_objects", 0),
        partitions=account.get("partitions", 0),
        curated_bytes_per_record=account.get("bytes_written", 0) / written if written else 0.0,
        target_file_bytes=int(deployed.properties("CompactorFunction", "Environment", "Variables", "CURATED_FILE_MIB"))
        * 2**20,
        runs_per_month=runs_per_month(str(deployed.parameters["CompactScheduleExpression"])),
    )


def runs_per_month(expression):
    """How often a schedule expression runs in a month; rate(...) exactly, cron(...) not modelled (0)."""
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not match:
        return 0.0
    seconds = int(match.group(1)) * {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
    return SECONDS_PER_MONTH / seconds


def _sent_body_bytes(outcome):
    """The bytes of the records that landed, one record's JSON as the consumer writes it."""
    records = {record["unique_id"]: record for record in outcome.partition_records}
    return sum(
        len(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()) for record in records.values()
    )


def _function_log_bytes(path):
    """What CloudWatch Logs would ingest from the function's own output (its JSON lines; the local Runtime
    API emulator's lines are not the function's)."""
    if not path.exists():
        return 0
    return sum(len(line) for line in path.read_bytes().splitlines(keepends=True) if line.startswith(b"{"))


def _metric_names(path):
    names = set()
    if not path.exists():
        return names
    for line in path.read_text(errors="replace").splitlines():
        if '"_aws"' not in line:
            continue
        try:
            document = json.loads(line)
        except ValueError:
            continue
        for directive in document["_aws"]["CloudWatchMetrics"]:
            names |= {(directive["Namespace"], metric["Name"]) for metric in directive["Metrics"]}
    return names


def lambda_gb_second(prices, architecture):
    return prices["lambda_gb_second_x86_64" if architecture == "x86_64" else "lambda_gb_second_arm64"]


def run_cost(measured, prices, assumptions, invocations=None):
    """{service: dollars} of the run, the consumer invoked `invocations` times (as in the run when not
    given): what each invocation costs (S3 requests, time, log lines) scales with their number, what each
    message costs (SQS) does not, nor does the compactor's one run (its secret read, $0.000005, is left out)."""
    invocations = invocations or measured.consumer_invocations
    scale = invocations / max(1, measured.consumer_invocations)
    gb_second = lambda_gb_second(prices, measured.architecture)
    platform_logs = assumptions["platform_log_bytes_per_invocation"] * (invocations + measured.producer_invocations)
    costs = {
        "SQS": (measured.sqs_send_units + measured.sqs_receive_units + measured.sqs_delete_units)
        * prices["sqs_request"],
        "S3 requests": scale * (measured.s3_put * prices["s3_put_class"] + measured.s3_get * prices["s3_get_class"]),
        "Lambda": (invocations + measured.producer_invocations) * prices["lambda_request"]
        + (
            scale * measured.consumer_billed_ms * measured.consumer_memory_mb
            + measured.producer_billed_ms * measured.producer_memory_mb
        )
        / 1000
        / 1024
        * gb_second,
        "CloudWatch Logs": (scale * measured.log_bytes + platform_logs) / 2**30 * prices["logs_ingestion_gb"],
    }
    compactor = measured.compactor
    if compactor is not None:
        ran = compactor_runs(
            compactor,
            prices,
            assumptions,
            measured.architecture,
            1,
            compactor.billed_ms,
            compactor.s3_put,
            compactor.s3_get,
        )
        costs = {service: cost + ran.get(service, 0.0) for service, cost in costs.items()}
    return costs


def compactor_runs(compactor, prices, assumptions, architecture, runs, billed_ms, s3_put, s3_get):
    """{service: dollars} of `runs` compactor runs of `billed_ms` each at its memory, making `s3_put` and
    `s3_get` requests and writing the measured run's log lines."""
    log_bytes = compactor.log_bytes + assumptions["platform_log_bytes_per_invocation"]
    return {
        "S3 requests": runs * (s3_put * prices["s3_put_class"] + s3_get * prices["s3_get_class"]),
        "Lambda": runs
        * (
            prices["lambda_request"]
            + billed_ms / 1000 * compactor.memory_mb / 1024 * lambda_gb_second(prices, architecture)
        ),
        "CloudWatch Logs": runs * log_bytes / 2**30 * prices["logs_ingestion_gb"],
    }


def per_million(measured, prices, assumptions, invocations=None):
    """{service: dollars per million records}, the consumer invoked `invocations` times for the run's
    records (as in the run when not given; `measured.full_batch_invocations` for the marginal cost)."""
    costs = run_cost(measured, prices, assumptions, invocations)
    return {name: cost * 1e6 / measured.records for name, cost in costs.items()}


@dataclass
class Month:
    rate: float
    records_per_message: float
    records: float
    invocations: float
    usage: dict
    fixed: dict
    monitoring: dict
    firehose: dict
    # How long a batch gathers, and an invocation's average run.
    fill_seconds: float
    invocation_seconds: float
    # What each EncryptionKeys choice costs this month ({choice: Kms}); the deployed choice's is in usage
    # and fixed.
    kms: dict = field(default_factory=dict)

    @property
    def usage_total(self):
        return sum(self.usage.values())

    @property
    def total(self):
        return self.usage_total + sum(self.fixed.values())

    @property
    def per_million(self):
        return self.usage_total * 1e6 / self.records if self.records else 0.0

    @property
    def freshness_seconds(self):
        """From enqueue to the partitions for the first record of a batch, the longest wait: the batch's
        gathering time (the window, or the time a full batch takes to arrive) and an invocation."""
        return self.fill_seconds + self.invocation_seconds


def month(measured, prices, assumptions, rate, records_per_message=None):
    """The bill of a month at `rate` records a second arriving `records_per_message` to a message (the
    run's packing when not given), under the template's batching."""
    k = records_per_message or measured.records_per_message
    messages_per_second = rate / k
    records = rate * SECONDS_PER_MONTH
    messages = records / k
    batch, window = measured.batch_size, max(1, measured.batching_window_seconds)
    if messages_per_second <= 0:
        invocations_per_second = 0.0
    elif batch / messages_per_second <= window:
        invocations_per_second = messages_per_second / batch
    else:
        invocations_per_second = min(messages_per_second, 1 / window)
    invocations = invocations_per_second * SECONDS_PER_MONTH
    messages_per_invocation = messages / invocations if invocations else 0.0

    message_bytes = k * measured.record_bytes
    per_send = max(1, min(10, SQS_BATCH_BYTES // max(1, int(message_bytes))))
    per_receive = min(10.0, max(1.0, messages_per_second))
    sqs_units = messages * (
        max(1 / per_send, message_bytes / SQS_CHUNK)
        + max(1 / per_receive, message_bytes / SQS_CHUNK)
        + 1 / max(1.0, min(10.0, messages_per_invocation))
    )

    per_invocation = lambda total: total / max(1, measured.consumer_invocations)  # noqa: E731
    gb_second = lambda_gb_second(prices, measured.architecture)
    consumer_seconds = invocations * per_invocation(measured.consumer_billed_ms) / 1000
    # An idle stack is one that produces nothing: its schedule is off.
    runs = measured.producer_runs_per_month if rate > 0 else 0.0
    records_per_run = records / runs if runs else 0.0
    producer_ms_per_record = measured.producer_billed_ms / max(1, measured.records)
    producer_seconds = (
        runs * (assumptions["producer_overhead_ms_per_run"] + producer_ms_per_record * records_per_run) / 1000
    )
    log_bytes = invocations * (per_invocation(measured.log_bytes) + assumptions["platform_log_bytes_per_invocation"])
    usage = {
        "SQS": sqs_units * prices["sqs_request"],
        "S3 requests": invocations
        * (
            per_invocation(measured.s3_put) * prices["s3_put_class"]
            + per_invocation(measured.s3_get) * prices["s3_get_class"]
        ),
        "Lambda": (invocations + runs) * prices["lambda_request"]
        + (consumer_seconds * measured.consumer_memory_mb + producer_seconds * measured.producer_memory_mb)
        / 1024
        * gb_second,
        "CloudWatch Logs": log_bytes / 2**30 * prices["logs_ingestion_gb"],
    }
    compacting = compactor_month(measured, prices, assumptions, records, invocations)
    if compacting:
        usage["Compactor"] = sum(compacting.values())
    compactor_runs_a_month = measured.compactor.runs_per_month if compacting else 0.0
    idle_polls = assumptions["idle_pollers"] * SECONDS_PER_MONTH / assumptions["long_poll_seconds"]
    fixed = {
        "SQS idle polling": idle_polls * prices["sqs_request"],
        # A metric is billed for the hours it is published in; with records flowing that is every hour.
        "custom metrics": measured.metrics * prices["custom_metric_month"] if invocations else 0.0,
        # Each run reads the key once: an hour apart, no container is left to keep it.
        "pseudonym secret": measured.secrets * prices["secret_month"]
        + compactor_runs_a_month * prices["secretsmanager_request"],
    }
    kms = {
        choice: kms_month(measured, prices, assumptions, invocations, records, choice) for choice in ENCRYPTION_CHOICES
    }
    deployed_kms = kms.get(measured.encryption_keys)
    if deployed_kms is not None and deployed_kms.keys:
        usage["KMS requests"] = deployed_kms.request_dollars
        fixed["KMS keys"] = deployed_kms.key_dollars
    monitoring = {
        f"{measured.alarms} alarms": measured.alarms * prices["alarm_month"],
        f"{measured.dashboards} dashboard": measured.dashboards * prices["dashboard_month"],
    }
    gigabytes = records * measured.record_bytes / 2**30
    billed_gigabytes = records * max(5 * 1024, measured.record_bytes) / 2**30
    # Firehose's default buffer delivers an object every 300 s (or 5 MiB), each a PUT into the bucket.
    objects = max(SECONDS_PER_MONTH / 300, gigabytes * 1024 / 5) if records else 0
    firehose = {
        "JSON": billed_gigabytes * prices["firehose_ingested_gb"] + objects * prices["s3_put_class"],
        "JSON, date partitions": billed_gigabytes * prices["firehose_ingested_gb"]
        + gigabytes * prices["firehose_partitioning_gb"]
        + objects * (prices["firehose_partitioning_objects"] + prices["s3_put_class"]),
    }
    # What the curated lake gives (Parquet by date), without the pseudonyms, which Firehose cannot make
    # without a transforming Lambda of its own.
    firehose["Parquet, date partitions"] = (
        firehose["JSON, date partitions"] + gigabytes * prices["firehose_format_conversion_gb"]
    )
    fill_seconds = min(window, batch / messages_per_second) if messages_per_second else 0.0
    invocation_seconds = per_invocation(measured.consumer_billed_ms) / 1000
    return Month(
        rate, k, records, invocations, usage, fixed, monitoring, firehose, fill_seconds, invocation_seconds, kms
    )


def compactor_month(measured, prices, assumptions, records, consumer_invocations):
    """{service: dollars} of the compactor's scheduled runs in a month that lands `records` in
    `consumer_invocations` consumer invocations, from its one measured run (nothing without one). A run:
    - lists the landing zone and reads each object landed since the last one, as many a consumer
      invocation as in the measured run;
    - makes the state, data file and manifest requests the measured run made per partition, for one
      partition (the day's first run also finishes the day before; the few reads of a partition's earlier
      files are not counted);
    - takes compactor_overhead_ms_per_run (an assumption), and per record the measured run's time above
      that over its records, for the records it takes in and for those it rewrites: files below
      CURATED_FILE_MIB are merged with each run's new rows, so a run rewrites what the day's earlier runs
      wrote (half a day's records on average), and at most the partition's last, unfilled file (half a
      file on average).
    Like the producer's, its schedule is off in an idle month (ScheduleState drives both)."""
    run = compactor_run(measured, assumptions, records, consumer_invocations)
    if run is None:
        return {}
    runs, billed_ms, s3_put, s3_get = run
    return compactor_runs(
        measured.compactor, prices, assumptions, measured.architecture, runs, billed_ms, s3_put, s3_get
    )


def compactor_run(measured, assumptions, records, consumer_invocations):
    """(runs a month, billed ms, PUT-class and GET-class requests) of an average compactor run in the month
    compactor_month prices; None without a measured run, a schedule or records."""
    compactor = measured.compactor
    if compactor is None or not compactor.runs_per_month or not records:
        return None
    runs = compactor.runs_per_month
    partitions = max(1, compactor.partitions)
    records_per_run = records / runs
    landed_per_run = consumer_invocations * compactor.landed_objects / max(1, measured.consumer_invocations) / runs
    overhead_ms = assumptions["compactor_overhead_ms_per_run"]
    ms_per_record = max(0.0, compactor.billed_ms - overhead_ms) / max(1, compactor.records)
    half_file = (
        compactor.target_file_bytes / 2 / compactor.curated_bytes_per_record
        if compactor.curated_bytes_per_record
        else 0.0
    )
    rewritten = min(records_per_run * max(0.0, runs / DAYS_PER_MONTH - 1) / 2, half_file)
    # The listing of the landing zone once a run, the rest of the PUT class (writes, the data prefix's
    # listing) and of the GET class beside the landed objects once a partition.
    s3_put = 1 + (compactor.s3_put - 1) / partitions
    s3_get = landed_per_run + (compactor.s3_get - compactor.landed_objects) / partitions
    return runs, overhead_ms + ms_per_record * (records_per_run + rewritten), s3_put, s3_get


@dataclass
class Kms:
    """What one EncryptionKeys choice costs a month: its keys, and the requests S3 makes to KMS with S3
    Bucket Keys (as the template configures them) and, for comparison, without."""

    keys: int
    requests: float
    requests_without_bucket_keys: float
    key_dollars: float
    request_dollars: float

    @property
    def total(self):
        return self.key_dollars + self.request_dollars


def kms_month(measured, prices, assumptions, invocations, records, choice):
    """The KMS bill of a month of `invocations` consumer invocations landing `records` under the
    EncryptionKeys `choice`. With bucket keys (the template's), S3 asks KMS for a bucket key once per
    kms_bucket_key_seconds for each function that touches a bucket in that period, for writes and for reads
    (KMS_REQUESTS_PER_*_HOUR): a period with records is one with consumer invocations and compactor runs;
    each compactor run also decrypts the pseudonym key's secret when a stack key encrypts it. Without bucket
    keys, every object S3 encrypts or decrypts is a request (KMS_REQUESTS_PER_S3_REQUEST)."""
    keys = measured.kms_keys.get(choice, 0)
    if not keys:
        return Kms(0, 0.0, 0.0, 0.0, 0.0)
    periods = SECONDS_PER_MONTH / assumptions["kms_bucket_key_seconds"]
    run = compactor_run(measured, assumptions, records, invocations)
    compactor_runs_a_month, compactor_s3 = (run[0], run[2] + run[3]) if run else (0.0, 0.0)
    secret = compactor_runs_a_month if measured.secret_under_stack_key else 0.0
    requests = (
        KMS_REQUESTS_PER_CONSUMER_HOUR * min(periods, invocations)
        + KMS_REQUESTS_PER_COMPACTOR_HOUR * min(periods, compactor_runs_a_month)
        + secret
    )
    per_invocation = sum(
        KMS_REQUESTS_PER_S3_REQUEST.get(kind, 0) * count for kind, count in measured.s3_by_kind.items()
    ) / max(1, measured.consumer_invocations)
    without = invocations * per_invocation + compactor_runs_a_month * compactor_s3 + secret
    return Kms(
        keys,
        requests,
        without,
        keys * prices["kms_key_month"],
        requests * prices["kms_request"],
    )


def money(value):
    if value == 0:
        return "$0"
    if value < 0.01:
        return f"${value:.4f}"
    return f"${value:.2f}"


def report(measured, prices, assumptions, document, rates):
    """The bill as text: the run's counts, its cost per million records, and a month at each rate."""
    lines = [
        f"Cost at {document['region']} list prices of {document['date']} (scripts/local_pipeline/prices.json, "
        "no free tier)",
        f"  the run: {measured.records} records in {measured.messages} messages "
        f"({measured.records_per_message:.0f} a message); SQS {measured.sqs_send_units} send, "
        f"{measured.sqs_receive_units} receive, {measured.sqs_delete_units} delete units; "
        f"S3 {measured.s3_put} PUT-class and {measured.s3_get} GET-class requests; "
        f"{measured.consumer_invocations} consumer invocations ({measured.consumer_billed_ms} ms billed at "
        f"{measured.consumer_memory_mb} MB), the producer {measured.producer_billed_ms} ms at "
        f"{measured.producer_memory_mb} MB; {measured.log_bytes} log bytes; {measured.metrics} custom metrics",
        "  S3 by kind: " + ", ".join(f"{name} {count}" for name, count in sorted(measured.s3_by_kind.items())),
    ]
    compactor = measured.compactor
    if compactor is not None:
        lines.append(
            f"  the compactor, apart from the counts above: one run over {compactor.records} records in "
            f"{compactor.landed_objects} landed objects and {compactor.partitions} partitions, "
            f"{compactor.billed_ms} ms billed at {compactor.memory_mb} MB; S3 {compactor.s3_put} PUT-class and "
            f"{compactor.s3_get} GET-class requests; {compactor.secret_reads} secret reads; "
            f"{compactor.log_bytes} log bytes (in the costs below, not in the requests per 1,000 records)"
        )
    full = measured.full_batch_invocations
    for label, invocations in (("the run's batching", None), (f"full batches of {measured.batch_size}", full)):
        costs = per_million(measured, prices, assumptions, invocations)
        lines.append(
            f"  at {label}: {measured.per_1000_records(invocations):.1f} billed requests per 1,000 records; "
            "per million records "
            + ", ".join(f"{name} {money(cost)}" for name, cost in costs.items())
            + f"; total {money(sum(costs.values()))}"
        )
    lines.append("")
    lines.extend(markdown(measured, prices, assumptions, rates))
    return lines


def markdown(measured, prices, assumptions, rates):
    """A month at each (label, rate, records a message) as a Markdown table."""
    head = (
        "| traffic | records a month | consumer invocations | usage | per million records | fixed "
        "(idle polling, metrics, secret, keys) | total a month | freshness (p99 at most) | "
        "Firehose, Parquet with date partitions |"
    )
    lines = [head, "|---" * 9 + "|"]
    for label, rate, per_message in rates:
        bill = month(measured, prices, assumptions, rate, per_message)
        lines.append(
            f"| {label} | {bill.records:,.0f} | {bill.invocations:,.0f} | {money(bill.usage_total)} | "
            f"{money(bill.per_million)} | {money(sum(bill.fixed.values()))} | {money(bill.total)} | "
            f"{math.ceil(bill.freshness_seconds)} s | {money(bill.firehose['Parquet, date partitions'])} |"
        )
    idle = month(measured, prices, assumptions, 0.0, 1)
    monitoring = sum(idle.monitoring.values())
    lines.append(
        f"| idle (no records) | 0 | 0 | $0 | - | {money(sum(idle.fixed.values()))} | {money(idle.total)} | - | $0 |"
    )
    lines.append("")
    if measured.compactor is not None and measured.compactor.runs_per_month:
        runs = measured.compactor.runs_per_month
        stream = month(measured, prices, assumptions, DEFAULT_STREAM_RATE, 1)
        lines.append(
            f"The compactor runs {runs:,.0f} times a month (CompactScheduleExpression). At the default stream, a "
            f"record every 8 s ({stream.records / runs:,.0f} records a run), its runs cost "
            f"{money(stream.usage['Compactor'])} a month, in each row's usage; the pseudonym secret costs "
            f"{money(stream.fixed['pseudonym secret'])} a month, in fixed."
        )
        lines.append("")
    lines.append(
        "Beside these, monitoring costs the same at any volume: "
        + ", ".join(f"{name} {money(cost)}" for name, cost in idle.monitoring.items())
        + f", {money(monitoring)} a month at list price, so an idle stack costs {money(idle.total + monitoring)}. "
        "Within the account's always-free CloudWatch allowance (10 alarms and 3 dashboards) they cost nothing. "
        f"With AlarmEmail the alarm topic's KMS key adds {money(prices['kms_key_month'])}."
    )
    lines.append("")
    lines.extend(encryption_lines(measured, prices, assumptions, rates))
    return lines


def encryption_lines(measured, prices, assumptions, rates):
    """What each EncryptionKeys choice adds to a month, at the default stream, at each rate and idle, as a
    Markdown table, and what the same months would ask of KMS without S3 Bucket Keys."""
    if not any(measured.kms_keys.values()):
        return []
    columns = [
        ("the default stream", DEFAULT_STREAM_RATE, 1),
        *((label, rate, per_message) for label, rate, per_message in rates),
        ("idle", 0.0, 1),
    ]
    months = [(label, month(measured, prices, assumptions, rate, per_message)) for label, rate, per_message in columns]
    lines = [
        f"EncryptionKeys, a month (deployed: {measured.encryption_keys}; the table above counts that choice):",
        "",
        "| EncryptionKeys | KMS keys | " + " | ".join(label for label, _ in months) + " |",
        "|---" * (len(months) + 2) + "|",
    ]
    for choice in ENCRYPTION_CHOICES:
        cells = []
        for _, bill in months:
            kms = bill.kms[choice]
            cells.append(f"{money(kms.total)} ({kms.requests:,.0f} requests)" if kms.keys else "$0")
        lines.append(f"| {choice} | {measured.kms_keys.get(choice, 0)} | " + " | ".join(cells) + " |")
    hours = assumptions["kms_bucket_key_seconds"] / 3600
    period = "an hour" if hours == 1 else f"{hours:g} h"
    # The busiest of the rates asked for (--rate), else of all: the run's own burst rate is seldom a month's.
    asked = {label for label, _, _ in rates[1:]} or {label for label, _, _ in rates} or {months[0][0]}
    busiest_label, busiest = max(
        ((label, bill) for label, bill in months if label in asked), key=lambda item: item[1].records
    )
    widest = busiest.kms["customer-managed"]
    lines.append("")
    lines.append(
        f"With S3 Bucket Keys (on in the template), S3 asks KMS for a bucket key about once {period} for each "
        f"function that writes or reads a bucket: {KMS_REQUESTS_PER_CONSUMER_HOUR} requests a period for the "
        f"consumer, {KMS_REQUESTS_PER_COMPACTOR_HOUR} for the compactor"
        + (
            ", and a Decrypt of the pseudonym key's secret each compactor run"
            if measured.secret_under_stack_key
            else ""
        )
        + f" (prices.json, kms_bucket_key_seconds). Without bucket keys, at {busiest_label}, S3 would make about "
        f"{widest.requests_without_bucket_keys:,.0f} requests a month "
        f"({money(widest.requests_without_bucket_keys * prices['kms_request'])}), one per object S3 encrypts or "
        "decrypts."
    )
    return lines
