"""The end of a run: a summary of what landed, and the checks that say whether the pipeline kept its promise
(every valid record produced in streaming_data.json, or a segment it sealed, exactly once and in the partitions,
poison messages in the dead-letter queue, nothing left in the queue)."""

from collections import Counter


def summary_lines(outcome):
    produced = outcome.producer_summary
    array_ids = [record["unique_id"] for record in outcome.array]
    partitions = sorted({key.split("/")[-2] for key in outcome.partition_keys})
    mapping = outcome.mapping
    rate = produced["sent"] / outcome.landed_seconds if outcome.landed_seconds else 0
    return [
        f"producer      sent {produced['sent']} records in {produced['sqs_calls']} SendMessageBatch calls "
        f"({produced['elapsed_ms'] / 1000:.1f} s), failed {produced['failed']}, unsent {produced['unsent']}",
        f"malformed     {outcome.malformed_sent} messages mixed in",
        f"queue         {outcome.queue_depth} messages left; dead-letter queue {outcome.dead_letter_depth}",
        f"consumer      {mapping['invocations']} invocations, {mapping['received']} messages received, "
        f"{mapping['deleted']} consumed, {mapping['failed']} reported failed, "
        f"{mapping['function_errors']} function errors; slowest invocation "
        f"{mapping['slowest_invocation_seconds']:.1f} s",
        f"{outcome.data_key:<13} {len(array_ids)} records, {len(set(array_ids))} distinct"
        + (f" (with its {outcome.segments} sealed segments)" if outcome.segments else ""),
        f"partitions    {len(partitions)} ({', '.join(partitions)}), {len(outcome.partition_keys)} objects, "
        f"{len(outcome.partition_records)} records",
        f"elapsed       {outcome.elapsed_seconds:.1f} s; the last record landed after {outcome.landed_seconds:.1f} s, "
        f"{rate:.0f} records/s end to end",
    ]


def checks(outcome):
    """(what is checked, whether it holds), in the order a reader would ask."""
    sent = outcome.producer_summary["sent"]
    array_ids = Counter(record["unique_id"] for record in outcome.array)
    partition_ids = {record["unique_id"] for record in outcome.partition_records}
    return [
        ("the queue was drained", outcome.drained and outcome.queue_depth == 0),
        (f"streaming_data.json holds the {sent} records produced", len(array_ids) == sent),
        ("no record is in streaming_data.json twice", all(copies == 1 for copies in array_ids.values())),
        ("every record in streaming_data.json is in the partitions", set(array_ids) <= partition_ids),
        (f"the {outcome.malformed_sent} malformed messages are in the dead-letter queue",
         outcome.dead_letter_depth == outcome.malformed_sent),
        ("the event source mapping's calls all succeeded", not outcome.mapping_errors),
    ]
