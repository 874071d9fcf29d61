"""The end of a run: a summary of what landed, and the checks that say whether the pipeline kept its promise
(every valid record produced in streaming_data.json, or a segment it sealed, exactly once and in the partitions,
malformed messages in the error output, or in the dead-letter queue when there is none, nothing left in the
queue, every landed object compacted, raw and curated data each in a bucket of its own, each bucket's objects
under its own encryption)."""

from collections import Counter

import duckdb

from . import lake, privacy


def summary_lines(outcome):
    produced = outcome.producer_summary
    array_ids = [record["unique_id"] for record in outcome.array]
    partitions = sorted({key.split("/")[-2] for key in outcome.partition_keys})
    mapping = outcome.mapping
    rate = produced["sent"] / outcome.landed_seconds if outcome.landed_seconds else 0
    return [
        f"producer      sent {produced['sent']} records in {produced['messages']} messages, "
        f"{produced['sqs_calls']} SendMessageBatch calls "
        f"({produced['elapsed_ms'] / 1000:.1f} s), failed {produced['failed']}, unsent {produced['unsent']}",
        f"malformed     {outcome.malformed_sent} messages mixed in"
        + (
            f", and {outcome.mixed_messages} packed messages with a bad line among {len(outcome.mixed_ids)} "
            "valid records"
            if outcome.mixed_messages
            else ""
        ),
        f"queue         {outcome.queue_depth} messages left; dead-letter queue {outcome.dead_letter_depth}",
        f"error output  {len(outcome.error_records)} records in {len(outcome.error_keys)} objects",
        f"consumer      {mapping['invocations']} invocations, {mapping['received']} messages received, "
        f"{mapping['deleted']} consumed, {mapping['failed']} reported failed, "
        f"{mapping['function_errors']} function errors; slowest invocation "
        f"{mapping['slowest_invocation_seconds']:.1f} s",
        f"{outcome.data_key or 'array (off)':<13} {len(array_ids)} records, {len(set(array_ids))} distinct"
        + (f" (with its {outcome.segments} sealed segments)" if outcome.segments else ""),
        f"partitions    {len(partitions)} ({', '.join(partitions)}), {len(outcome.partition_keys)} objects, "
        f"{len(outcome.partition_records)} records",
        f"elapsed       {outcome.elapsed_seconds:.1f} s; the last record landed after {outcome.landed_seconds:.1f} s, "
        f"{rate:.0f} records/s end to end",
        *([buckets_line(outcome)] if outcome.folders else []),
        *([compactor_line(outcome.compaction)] if outcome.compaction else []),
    ]


def buckets_line(outcome):
    """Each bucket: its role, name, objects and the folder it was copied to."""
    parts = []
    for name, folder in outcome.folders.items():
        role = "raw" if name == outcome.resources.bucket else "curated" if name == outcome.curated_bucket else "bucket"
        parts.append(f"{role} {name}: {len(outcome.bucket_keys[name])} objects in {folder.name}/")
    return "buckets       " + "; ".join(parts)


def compactor_line(compaction):
    account = compaction.response
    if not compaction.ok:
        return (
            f"compactor     failed after {compaction.billed_ms} ms: {account.get('errorType')}: "
            f"{account.get('errorMessage')}"
        )
    return (
        f"compactor     {account['partitions']} partitions, {account['landed_objects']} landed objects "
        f"({account['landed_bytes']:,} bytes), {account['records_read']} records read, "
        f"{account['duplicates']} duplicates dropped, {account['records_written']} written in "
        f"{account['files_written']} files ({account['bytes_written']:,} bytes), {account['commits']} commits, "
        f"{account['objects_left']} objects left; {compaction.billed_ms} ms"
    )


def valid_sent(outcome):
    """The valid records sent: the producer's, and those packed beside a bad line."""
    return outcome.producer_summary["sent"] + len(outcome.mixed_ids)


def checks(outcome):
    """(what is checked, whether it holds), in the order a reader would ask."""
    sent = valid_sent(outcome)
    array_ids = Counter(record["unique_id"] for record in outcome.array)
    partition_ids = {record["unique_id"] for record in outcome.partition_records}
    if outcome.data_key:
        landed = [
            (f"streaming_data.json holds the {sent} valid records sent", len(array_ids) == sent),
            ("no record is in streaming_data.json twice", all(copies == 1 for copies in array_ids.values())),
            ("every record in streaming_data.json is in the partitions", set(array_ids) <= partition_ids),
        ]
    else:
        landed = [
            (
                f"the partitions hold the {sent} valid records sent (streaming_data.json is off)",
                len(partition_ids) == sent,
            )
        ]
    compacted = []
    if outcome.compaction:
        account = outcome.compaction.response
        compacted = [
            (
                "the compactor compacted every landed object, every partition committed",
                outcome.compaction.ok and account["objects_left"] == 0 and not account["failed_partitions"],
            )
        ]
    return [
        ("the queue was drained", outcome.drained and outcome.queue_depth == 0),
        *landed,
        set_aside(outcome),
        ("the event source mapping's calls all succeeded", not outcome.mapping_errors),
        *compacted,
        *buckets_apart(outcome),
        *encrypted(outcome),
    ]


def buckets_apart(outcome):
    """(check, holds) for where raw and curated data are: the curated lake in a bucket of its own, no curated
    key in the raw bucket, and nothing but curated keys in the curated bucket (no array, segment, landed
    object or error output)."""
    if not outcome.bucket_keys:
        return []
    raw, curated, prefix = outcome.resources.bucket, outcome.curated_bucket, outcome.curated_prefix
    if not curated or curated == raw:
        return [(f"the curated lake is in a bucket of its own (it is in the raw bucket {raw})", False)]
    raw_keys, curated_keys = outcome.bucket_keys[raw], outcome.bucket_keys.get(curated, [])
    in_raw = [key for key in raw_keys if key.startswith(prefix)]
    stray = [key for key in curated_keys if not key.startswith(prefix) or key.startswith(outcome.raw_prefixes)]
    return [
        (
            f"the raw bucket {raw} holds no curated key ({len(raw_keys)} objects, {len(in_raw)} under {prefix})",
            not in_raw,
        ),
        (
            f"the curated bucket {curated} holds {prefix} keys only, no array, landing zone or error output "
            f"({len(curated_keys)} objects" + (f", {len(stray)} others, e.g. {stray[0]})" if stray else ")"),
            bool(curated_keys) and not stray,
        ),
    ]


def encrypted(outcome):
    """(check, holds): every object under its bucket's default encryption, and with KMS keys, each bucket
    under a key of its own."""
    if not outcome.encryption:
        return []
    described, holds, kms_keys = [], True, []
    for bucket, (default, objects) in outcome.encryption.items():
        algorithm, key = default
        if key:
            kms_keys.append(_key_id(key))
        wrong = sum(
            count
            for (found, found_key), count in objects.items()
            if (found, _key_id(found_key)) != (algorithm, _key_id(key))
        )
        holds = holds and not wrong
        what = f"{algorithm} key {_key_id(key)[:8]}" if key else algorithm
        described.append(
            f"{bucket}: {sum(objects.values())} objects, {what}" + (f", {wrong} otherwise" if wrong else "")
        )
    results = [(f"every object is under its bucket's default encryption ({'; '.join(described)})", holds)]
    if kms_keys:
        results.append(
            (
                f"each bucket has a KMS key of its own ({len(set(kms_keys))} keys, {len(kms_keys)} buckets)",
                len(set(kms_keys)) == len(outcome.encryption),
            )
        )
    return results


def _key_id(key):
    """A KMS key's id from its ARN or id; None stays None."""
    return key.rsplit("/", 1)[-1] if key else None


def set_aside(outcome):
    """(check, holds) for the malformed messages and the packed ones with a bad line: each in the error
    output with its reasons and none dead-lettered, or, without an error output, each in the dead-letter
    queue whole."""
    expected = outcome.malformed_sent + outcome.mixed_messages
    what = f"the {outcome.malformed_sent} malformed messages" + (
        f" and the {outcome.mixed_messages} packed messages with a bad line" if outcome.mixed_messages else ""
    )
    if outcome.error_prefix:
        reasons = all(record.get("problem") and "record" in record for record in outcome.error_records)
        return (
            f"{what} are in the error output with their reasons",
            len(outcome.error_keys) == expected and reasons and outcome.dead_letter_depth == 0,
        )
    return (f"{what} are in the dead-letter queue", outcome.dead_letter_depth == expected)


def lake_checks(outcome, template, connection):
    """(check, holds) for the curated lake as analysts read it: the table holds each valid record once, every
    manifest names the curated bucket, the analysts' view (DuckDB given the curated bucket's folder alone)
    answers as the operators' view over both buckets does, and the privacy scan of the curated bucket.
    `connection` is lake.connect's over the copied buckets; None when that failed (its failure is a check of
    its own), which leaves the manifests and the privacy scan to check."""
    sent = valid_sent(outcome)
    results = []
    if connection is not None:
        rows, unique = lake.records(connection, template, lake.CURATED_TABLE)
        results.append((f"the curated table holds the {sent} valid records sent, each once", rows == unique == sent))
    curated = outcome.curated_bucket
    uris = lake.manifest_uris(outcome.folders, template)
    elsewhere = [uri for _, uri in uris if not uri.startswith(f"s3://{curated}/")]
    results.append(
        (
            f"every manifest URI names the curated bucket {curated} ({len(uris)} URIs"
            + (f", {len(elsewhere)} elsewhere, e.g. {elsewhere[0]})" if elsewhere else ")"),
            bool(uris) and not elsewhere,
        )
    )
    if outcome.curated is None:
        return [*results, (f"the curated bucket {curated} was copied", False)]
    names = lake.analyst_queries(template) if connection is not None else []
    what = (
        f"the analysts' view (DuckDB given only the curated bucket's folder) counts the {sent} records and answers "
        f"the {len(names)} named queries over the curated table as the operators' view does"
    )
    try:
        if connection is None:
            raise lake.LakeError("the operators' view failed, so there is no answer to compare with")
        view = lake.analysts(outcome.curated, template)
        answers = {name: rows for name, _, _, rows in lake.named_queries(view, template, names)}
        expected = {name: rows for name, _, _, rows in lake.named_queries(connection, template, names)}
        counted = lake.records(view, template, lake.CURATED_TABLE)
        results.append((what, counted == (sent, sent) and answers == expected))
    except (lake.LakeError, duckdb.Error) as error:
        results.append((f"{what}: {error}", False))
    personal = str(template.parameters.get("LakePersonalData", "pseudonymised"))
    # The whole curated bucket, which analysts read; in a one-bucket stack (its own check fails) the lake's
    # prefix of it.
    scanned = outcome.curated if curated != outcome.resources.bucket else outcome.curated / outcome.curated_prefix
    results.extend(privacy.checks(scanned, outcome.partition_records, personal))
    return results
