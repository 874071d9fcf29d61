"""Erasure on request (issue 25) as a local run asks for it (scripts/pipeline --erase N): N persons chosen from
the run's records by its seed, one request each in the raw bucket (erasure/requests/<name>.json) listing some of
the person's identifiers, the compactor invoked until no request is pending, and both buckets copied again.
erasure_report.py checks the copies against the run's.

Which records a request names is decided here as the compactor decides it: a record goes if any identifier the
request lists is the record's, both normalised as the curated table's pseudonyms are (compactor/src/curate.rs):
a CNP trimmed, an e-mail address trimmed and in lower case, an IBAN without whitespace in capitals, a phone
number's digits in national form."""

import json
import random
import shutil
import string
from dataclasses import dataclass

import boto3

from . import compaction, lake, pipeline
from .endpoint import local_endpoint

REQUESTS = "erasure/requests/"
RECEIPTS = "erasure/receipts/"
REFUSED = "erasure/refused/"
ERASED = "erasure/erased.json"
# The pass under way, gone once its requests are finished.
PASS = "erasure/pass.json"
# A request's keys, and the field of the record (the column of the curated table) each lists.
FIELDS = {
    "personal_numbers": "personal_number",
    "emails": "email",
    "ibans": "iban",
    "phone_numbers": "phone_number",
}
# What the requests list, a person after another in turn: every identifier, the CNP alone, e-mail and phone.
LISTED = (tuple(FIELDS), ("personal_numbers",), ("emails", "phone_numbers"))
# The compactor's invocations that may finish the requests: one too large for a run goes on in the next.
MAX_RUNS = 4


def phone(text):
    """A Romanian phone number's digits in national form: `+40 722 123 456` and `0722 123 456` are one number."""
    digits = "".join(char for char in text if char in string.digits)
    return "0" + digits[2:] if len(digits) == 11 and digits.startswith("40") else digits


def normalised(field, value):
    """`value` as the curated column `field` holds it before it becomes a token."""
    if field == "personal_number":
        return value.strip()
    if field == "email":
        return value.strip().lower()
    if field == "iban":
        return "".join(value.split()).upper()
    if field == "phone_number":
        return phone(value)
    return value


def typed(field, value):
    """`value` as an operator might copy it from a person's letter, which normalises to the record's: the CNP
    with spaces around it, the e-mail address in capitals, the IBAN in groups of four, the phone number in
    international form."""
    if field == "personal_number":
        return f" {value.strip()} "
    if field == "email":
        return value.upper()
    if field == "iban":
        compact = normalised(field, value)
        return " ".join(compact[start : start + 4] for start in range(0, len(compact), 4))
    if field == "phone_number" and len(national := phone(value)) == 10 and national.startswith("0"):
        return f"+40 {national[1:4]} {national[4:7]} {national[7:]}"
    return value


def identifiers(record):
    """{(field, normalised value)} of the record's four identifiers (those it holds as text)."""
    return {
        (field, normalised(field, record[field])) for field in FIELDS.values() if isinstance(record.get(field), str)
    }


def persons(records, count, seed):
    """Up to `count` records of distinct persons, chosen at random by `seed` among the `records` that hold all
    four identifiers; no two share an identifier, so each request names a person of its own. The same records
    and seed give the same persons, whatever order they landed in."""
    candidates = sorted(
        (record for record in records if len({field for field, value in identifiers(record) if value}) == len(FIELDS)),
        key=lambda record: str(record.get("unique_id")),
    )
    random.Random(seed).shuffle(candidates)
    chosen, taken = [], set()
    for record in candidates:
        if len(chosen) == count:
            break
        if not identifiers(record) & taken:
            chosen.append(record)
            taken |= identifiers(record)
    return chosen


def requests(chosen):
    """{name: body}: a request for each person, `person-1`, `person-2`, ..., listing in turn what LISTED says,
    the first person's identifiers as the record holds them, the second's as typed, and so on alternately."""
    made = {}
    for index, record in enumerate(chosen):
        keys = LISTED[index % len(LISTED)]
        written = [record[FIELDS[key]] for key in keys]
        if index % 2:
            written = [typed(FIELDS[key], value) for key, value in zip(keys, written, strict=True)]
        made[f"person-{index + 1}"] = {key: [value] for key, value in zip(keys, written, strict=True)}
    return made


def listed(body):
    """{field: {normalised identifiers}}: what a request's body lists."""
    return {FIELDS[key]: {normalised(FIELDS[key], value) for value in values} for key, values in body.items()}


def named(record, wanted):
    """Whether `record` holds one of the identifiers `wanted` ({field: normalised values}, listed's)."""
    held = identifiers(record)
    return any((field, value) in held for field, values in wanted.items() for value in values)


@dataclass
class Erasure:
    """What --erase did: its requests, the compactor's runs over them and the buckets copied afterwards."""

    seed: int
    # The persons asked for; the run's records may give fewer.
    asked: int
    # The raw bucket, where the requests and receipts are.
    bucket: str
    # name -> the request's body, in the order they were made.
    requests: dict
    # The compactor's invocations, in order (compaction.Compaction each, usage not counted).
    runs: list
    # As Outcome's: bucket -> its copy after the erasure, bucket -> its keys.
    folders: dict
    bucket_keys: dict


def run(template, outcome, options, count, say=print):
    """Erases `count` persons of the run `outcome` (pipeline.run's, with `options`, its pipeline.Options):
    puts a request for each in the raw bucket, invokes the compactor until none is pending (at most MAX_RUNS
    times) and copies each bucket to a folder of its own under after-erasure/ in the run's output."""
    s3 = boto3.client("s3")
    made = requests(persons(outcome.array or outcome.partition_records, count, options.seed))
    say(f"erasure: {len(made)} requests in {REQUESTS} of {outcome.resources.bucket}, then the compactor")
    for name, body in made.items():
        s3.put_object(
            Bucket=outcome.resources.bucket,
            Key=f"{REQUESTS}{name}.json",
            Body=json.dumps(body).encode(),
            ContentType="application/json",
        )
    environment = {
        **options.function_environment,
        "AWS_ENDPOINT_URL": options.function_environment.get("AWS_ENDPOINT_URL") or local_endpoint(),
        "COMPACT_GRACE_SECS": 0,
    }
    compactor = pipeline.local_function(
        template, "CompactorFunction", options.compactor, options.output / "compactor-erasure.log", environment
    )
    runs = []
    with compactor:
        while len(runs) < MAX_RUNS:
            runs.append(compaction.invoke(compactor))
            if not runs[-1].ok or not pending(runs[-1].response):
                break
    folders, bucket_keys = {}, {}
    for name, before in outcome.folders.items():
        folders[name] = options.output / "after-erasure" / before.name
        shutil.rmtree(folders[name], ignore_errors=True)
        folders[name].mkdir(parents=True)
        bucket_keys[name] = lake.download(s3, name, "", folders[name])
    return Erasure(options.seed, count, outcome.resources.bucket, made, runs, folders, bucket_keys)


def report(response):
    """The erasure object of a compactor run's response ({} when it has none)."""
    found = response.get("erasure") if isinstance(response, dict) else None
    return found if isinstance(found, dict) else {}


def pending(response):
    """The requests a compactor run's response says are still pending."""
    return report(response).get("pending") or []


def request_name(reported):
    """A request's name as the compactor reports it, which may keep the key's `.json`, as it is put."""
    return str(reported).removesuffix(".json")
