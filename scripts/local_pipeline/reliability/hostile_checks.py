"""Where the hostile sender's input ended (hostile.py), once its run is over: each record it sent to be refused in
the error output with its reason and its text as sent; no landing or curated partition outside the consumer's
window; each message's error output and log lines within issue 23's bounds; and the gzip bomb refused by the
compactor, counted, named in its log and left in the landing zone, with the compactor's memory bounded. The
records that must land are counted with the run's other records (runner.py)."""

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from local_pipeline import compaction, error_output

from .hostile import DAYS_AHEAD

# What a message of at most 64 KiB may cost (issue 23): lines of the consumer's log that name it, and error
# output beyond twice its body.
LOG_LINES_PER_MESSAGE = 6
ERROR_OUTPUT_SLACK_BYTES = 4096
# Half the compactor's 1024 MB: a run that inflated the bomb whole would hold more than this.
PEAK_MEMORY_BYTES = 512 << 20
# A partition's date in a key: a folder dt=D/, or a partition's state dt=D.json.
PARTITION = re.compile(r"(?:^|/)dt=([^/]*?)(?:\.json)?(?:/|$)")


def window(today, days):
    """(first, last): the days a record may land on, from `days` before the day SQS took it to the day after."""
    return today - timedelta(days=days), today + timedelta(days=DAYS_AHEAD)


def outside(keys, first, last):
    """The keys in a partition whose date is not a day from `first` to `last`, or is no date at all (a year of
    five digits)."""
    found = []
    for key in keys:
        match = PARTITION.search(key)
        if match is None:
            continue
        try:
            day = date.fromisoformat(match[1])
        except ValueError:
            found.append(key)
            continue
        if not first <= day <= last:
            found.append(key)
    return found


def log_lines_by_message(log_text):
    """How many lines of a function's JSON log name each message id (among the fields tracing nests, or at the
    top level)."""
    counts = Counter()
    for line in log_text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        fields = entry.get("fields") if isinstance(entry.get("fields"), dict) else {}
        message_id = fields.get("message_id", entry.get("message_id"))
        if isinstance(message_id, str):
            counts[message_id] += 1
    return counts


def error_lines_naming(log_text, name):
    """The ERROR lines of a function's JSON log that hold `name`."""
    found = []
    for line in log_text.splitlines():
        if name not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") == "ERROR":
            found.append(line)
    return found


def matches(refusals, records):
    """Whether a message's records in the error output are exactly its refusals: each text as often as it was
    sent, with its problem, and with its field where the refusal names one."""
    any_field = {(refusal.text, refusal.problem) for refusal in refusals if refusal.field is None}
    wanted = Counter((refusal.text, refusal.field, refusal.problem) for refusal in refusals)
    found = Counter(
        (
            record.get("record"),
            None if (record.get("record"), record.get("problem")) in any_field else record.get("field"),
            record.get("problem"),
        )
        for record in records
    )
    return found == wanted


def error_objects(folder, keys):
    """message id -> [(bytes, records)] of the error output objects copied to `folder`: one each, unless a message
    was written under two keys."""
    objects = {}
    for key in keys:
        body = (folder / key).read_bytes()
        records = error_output.records(body)
        message_id = records[0]["message_id"] if records else None
        objects.setdefault(message_id, []).append((len(body), records))
    return objects


@dataclass
class Findings:
    """What a hostile run left, as the checks read it."""

    first: date
    last: date
    # Records the hostile messages must have had refused, and the messages that hold them.
    refused: int
    set_aside: int
    # Messages whose error output is not their refusals, or is missing or twice (kind and id); messages with
    # nothing to refuse that have an error output anyway.
    unmatched: list
    stray: list
    landing_outside: list
    curated_partitions: int
    curated_outside: list
    # (kind, error output bytes, body bytes) of the messages beyond twice their body and the slack, and of the
    # junk message.
    oversized: list
    junk_output: tuple
    # The most lines of the consumer's log naming one hostile message, and the junk message's.
    most_log_lines: int
    junk_log_lines: int
    objects_too_large: int
    bomb_left: bool
    bomb_named: bool
    peak_memory_bytes: int | None


def find(outcome, sender, consumer_log, compactor_log):
    """The findings of a run (`outcome`, pipeline.run's, with the compactor) of `sender`, from the copied buckets
    and the consumer's and the compactor's log texts."""
    first, last = window(sender.now.date(), sender.window_days)
    objects = error_objects(outcome.lake, outcome.error_keys)
    unmatched, stray, oversized, junk_output = [], [], [], (0, 0)
    lines = log_lines_by_message(consumer_log)
    for message in sender.messages:
        found = objects.get(message.message_id, [])
        if not message.refusals:
            if found:
                stray.append(message.message_id)
            continue
        if len(found) != 1 or not matches(message.refusals, found[0][1]):
            unmatched.append(f"{message.kind} {message.message_id}")
        for size, _ in found:
            if size > 2 * message.size + ERROR_OUTPUT_SLACK_BYTES:
                oversized.append((message.kind, size, message.size))
            if message.kind == "junk":
                junk_output = (size, message.size)
    junk_ids = [message.message_id for message in sender.messages if message.kind == "junk"]
    curated_keys = [
        key for key in outcome.bucket_keys.get(outcome.curated_bucket, []) if key.startswith(outcome.curated_prefix)
    ]
    account = {}
    if outcome.compaction is not None:
        account = outcome.compaction.response if outcome.compaction.ok else {}
        if "objects_too_large" not in account:
            account = compaction.logged_totals(compactor_log)
    curated_dates = {PARTITION.search(key)[1] for key in curated_keys if PARTITION.search(key)}
    return Findings(
        first=first,
        last=last,
        refused=sum(len(message.refusals) for message in sender.messages),
        set_aside=len(sender.set_aside),
        unmatched=unmatched,
        stray=stray,
        landing_outside=outside(outcome.partition_keys, first, last),
        curated_partitions=len(curated_dates),
        curated_outside=outside(curated_keys, first, last),
        oversized=oversized,
        junk_output=junk_output,
        most_log_lines=max((lines[message.message_id] for message in sender.messages), default=0),
        junk_log_lines=sum(lines[message_id] for message_id in junk_ids),
        objects_too_large=int(account.get("objects_too_large") or 0),
        bomb_left=sender.bomb_key in outcome.bucket_keys.get(outcome.resources.bucket, []),
        bomb_named=bool(error_lines_naming(compactor_log, sender.bomb_key)),
        peak_memory_bytes=outcome.compaction.peak_memory_bytes if outcome.compaction else None,
    )


def checks(findings):
    """(what is checked, whether it holds), in the order a reader would ask."""
    found = findings
    window_text = f"{found.first} to {found.last}"
    junk_size, junk_body = found.junk_output
    results = [
        (
            f"the {found.refused:,} records of the {found.set_aside} hostile messages that hold one to refuse are in "
            "the error output as sent, each with its reason (accessed_at out_of_range, missing_field for the lines "
            "{}), and the message that holds only a valid record is not"
            + (f"; not so for {', '.join(found.unmatched[:3])}" if found.unmatched else "")
            + (f"; {len(found.stray)} valid messages there" if found.stray else ""),
            not found.unmatched and not found.stray,
        ),
        (
            f"no landing partition is outside {window_text}" + _keys_outside(found.landing_outside),
            not found.landing_outside,
        ),
        (
            f"the curated lake has partitions ({found.curated_partitions}), none outside {window_text}"
            + _keys_outside(found.curated_outside),
            found.curated_partitions > 0 and not found.curated_outside,
        ),
        (
            "each hostile message's error output is at most twice its body and 4 KiB (the 21,000 lines {}: "
            f"{junk_size:,} bytes from a {junk_body:,}-byte body)"
            + (f"; {len(found.oversized)} are larger, e.g. {found.oversized[0]}" if found.oversized else ""),
            junk_size > 0 and not found.oversized,
        ),
        (
            f"each hostile message is named in at most {LOG_LINES_PER_MESSAGE} lines of the consumer's log (at most "
            f"{found.most_log_lines}; the 21,000 lines {{}}: {found.junk_log_lines})",
            found.most_log_lines <= LOG_LINES_PER_MESSAGE,
        ),
        (
            f"the compactor refused the gzip bomb ({found.objects_too_large} objects too large), named it in an "
            "error line of its log and left it in the landing zone"
            + ("" if found.bomb_named else "; no error line names it")
            + ("" if found.bomb_left else "; it is gone"),
            found.objects_too_large >= 1 and found.bomb_named and found.bomb_left,
        ),
    ]
    if found.peak_memory_bytes is not None:
        results.append(
            (
                f"the compactor's resident memory stayed under {PEAK_MEMORY_BYTES >> 20} MiB (peak "
                f"{found.peak_memory_bytes / 2**20:.0f} MiB)",
                found.peak_memory_bytes < PEAK_MEMORY_BYTES,
            )
        )
    return results


def _keys_outside(keys):
    return f" ({len(keys)} keys are, e.g. {keys[0]})" if keys else ""


def note(findings):
    """The report's note for a hostile run that held."""
    found = findings
    junk_size, junk_body = found.junk_output
    peak = "" if found.peak_memory_bytes is None else f", compactor peak {found.peak_memory_bytes / 2**20:.0f} MiB"
    return (
        f"{found.refused:,} hostile records refused with their reasons; partitions within {found.first} to "
        f"{found.last}; 21,000 lines {{}}: {junk_size:,} bytes of error output from {junk_body:,}, "
        f"{found.junk_log_lines} log lines; gzip bomb refused and left{peak}"
    )
