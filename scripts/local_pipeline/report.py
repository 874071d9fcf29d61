"""The end of a run: a summary of what landed, and the checks that say whether the pipeline kept its promise
(every valid record produced in streaming_data.json, or a segment it sealed, exactly once and in the partitions,
malformed messages in the error output, or in the dead-letter queue when there is none, nothing left in the
queue, every landed object compacted)."""

from collections import Counter


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
        *([compactor_line(outcome.compaction)] if outcome.compaction else []),
    ]


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
    ]


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
