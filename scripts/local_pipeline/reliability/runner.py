"""Runs one reliability scenario: the pipeline end to end through a fault proxy, then the array's history
counted against the records the producer's seed generates, as a row of the report."""

import uuid
from collections import Counter

import boto3

from local_pipeline import feed, pipeline, report
from local_pipeline.endpoint import local_endpoint
from local_pipeline.fault_proxy import FaultProxy
from local_pipeline.template import Template

from .during import Running
from .filler import filler_array, filler_damage
from .scenarios import BASE_PARAMETERS, CONSUMER_ENVIRONMENT, PRODUCER_ENVIRONMENT, SEED
from .table import Row


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
                boto3.client("s3").put_object(
                    Bucket=created.bucket, Key=data_key, Body=filler, ContentType="application/json"
                )

        def on_start(consumer_function, mapping):
            if scenario.during is not None:
                notes.append(scenario.during(Running(proxy, consumer_function, mapping, bucket, data_key)))

        options = pipeline.Options(
            producer=producer,
            consumer=consumer,
            output=output,
            count=scenario.count,
            seed=SEED,
            malformed_share=scenario.malformed_share,
            packed_with_bad_lines=scenario.packed_with_bad_lines,
            drain_timeout_seconds=600,
            progress_seconds=1,
            function_environment={**environment, "AWS_ENDPOINT_URL": proxy.url},
            before_start=before_start,
            on_start=on_start,
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
        notes.append(
            f"{len(filler_ids)} filler records ({len(filler) / 2**20:.1f} MiB) before the run, "
            + ("all there once" if damaged == 0 else f"{damaged} lost, doubled or moved")
        )
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
        scenario=scenario.name,
        sent=sent,
        landed=len(copies),
        duplicates=sum(copies.values()) - len(copies),
        lost=max(0, sent - len(copies)),
        set_aside=len(outcome.error_keys) + outcome.dead_letter_depth,
        malformed=outcome.malformed_sent + outcome.mixed_messages,
        redeliveries=(
            outcome.mapping["received"]
            - outcome.producer_summary["messages"]
            - outcome.malformed_sent
            - outcome.mixed_messages
        ),
        faults=faults,
        seconds=outcome.elapsed_seconds,
        notes=", ".join(notes),
        segments=outcome.segments,
        filler_damaged=damaged,
    )


def appends_failed(log):
    """The consumer's log lines that report an append that failed or was cut off at the deadline."""
    if not log.exists():
        return 0
    return sum(
        '"append failed' in line or '"writes cut off' in line for line in log.read_text(errors="replace").splitlines()
    )
