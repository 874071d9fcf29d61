"""Runs one reliability scenario: the pipeline end to end through a fault proxy, then the array's history
counted against the records the producer's seed generates (and those a hostile sender sent to land), as a row of
the report."""

import uuid
from collections import Counter

import boto3

from local_pipeline import feed, pipeline, report
from local_pipeline.endpoint import local_endpoint
from local_pipeline.fault_proxy import FaultProxy
from local_pipeline.template import Template

from . import eraser_checks, hostile_checks
from .during import Running
from .eraser import Eraser
from .filler import filler_array, filler_damage
from .hostile import HostileSender
from .scenarios import BASE_PARAMETERS, CONSUMER_ENVIRONMENT, PRODUCER_ENVIRONMENT, SEED
from .table import Row

# The hostile sender's records are the producer's command line's for a seed of their own, apart from the burst's
# (SEED) and the packed messages' (SEED + 1); the earlier persons an erasure scenario starts with, another.
HOSTILE_SEED = SEED + 2
EARLIER_SEED = SEED + 3


def run_scenario(scenario, producer, consumer, output, say=lambda _line: None, compactor=None):
    """The scenario's row; `compactor` is the compactor's bootstrap, which a hostile scenario runs after the drain and
    an erasure scenario during the run."""
    template = Template({"Company": "rel" + uuid.uuid4().hex[:12], **BASE_PARAMETERS, **scenario.parameters})
    bucket = template.properties("DataBucket", "BucketName")
    data_key = template.properties("ConsumerFunction", "Environment", "Variables", "DATA_KEY")
    filler, filler_ids = filler_array(scenario.initial_array_bytes) if scenario.initial_array_bytes else (b"", [])
    environment = {**CONSUMER_ENVIRONMENT, **PRODUCER_ENVIRONMENT, **scenario.environment}
    sender = None
    if scenario.hostile:
        if compactor is None:
            raise ValueError(f"{scenario.name}: the scenario runs the compactor; give its bootstrap")
        sender = HostileSender(producer, int(template.parameters["MaxRecordAgeDays"]), HOSTILE_SEED)
    eraser = None
    if scenario.erasure:
        if compactor is None:
            raise ValueError(f"{scenario.name}: the scenario runs the compactor; give its bootstrap")
        if filler:
            raise ValueError(f"{scenario.name}: the erasure's earlier records are the array it starts with")
        eraser = Eraser(template, producer, compactor, output, EARLIER_SEED, scenario.count, SEED, scenario.rules)
    prefix = template.properties("ConsumerFunction", "Environment", "Variables", "PARTITION_PREFIX")
    with FaultProxy(local_endpoint(), scenario.rules, seed=SEED) as proxy:
        notes = []

        def before_start(created):
            if filler:
                boto3.client("s3").put_object(
                    Bucket=created.bucket, Key=data_key, Body=filler, ContentType="application/json"
                )
            if sender is not None:
                sender.put_bomb(boto3.client("s3"), created.bucket, prefix)
            if eraser is not None:
                eraser.put_earlier(boto3.client("s3"), created.bucket, data_key, prefix, environment)

        def on_start(consumer_function, mapping):
            running = Running(proxy, consumer_function, mapping, bucket, data_key)
            if scenario.during is not None:
                notes.append(scenario.during(running))
            if eraser is not None:
                eraser.start(running)

        options = pipeline.Options(
            producer=producer,
            consumer=consumer,
            output=output,
            count=scenario.count,
            seed=SEED,
            malformed_share=scenario.malformed_share,
            packed_with_bad_lines=scenario.packed_with_bad_lines,
            send_beside=sender.send if sender is not None else None,
            compactor=compactor if sender is not None else None,
            compact_timeout_seconds=300,
            drain_timeout_seconds=600,
            progress_seconds=1,
            function_environment={**environment, "AWS_ENDPOINT_URL": proxy.url},
            before_start=before_start,
            on_start=on_start,
            # The erasure's compactor runs may go on after the drain: the buckets are copied once they end.
            after_drain=eraser.finish if eraser is not None else None,
        )
        try:
            outcome = pipeline.run(template, options, say=say)
        finally:
            if eraser is not None:
                eraser.close()
        faults = proxy.injected.total() + (eraser.proxy.injected.total() if eraser is not None else 0)
    erased = None
    if eraser is not None:
        erased = eraser_checks.find(outcome, eraser)
        failed = [what for what, holds in eraser_checks.checks(erased) if not holds]
        if failed:
            raise AssertionError(f"{scenario.name}: " + "; ".join(failed))
        # The earlier records the erasure kept must be first in the array, once each, like an initial array's filler.
        filler_ids = eraser.kept_ids
    history_ids = [record["unique_id"] for record in outcome.array]
    fillers = set(filler_ids) | ({record["unique_id"] for record in eraser.earlier} if eraser is not None else set())
    copies = Counter(unique_id for unique_id in history_ids if unique_id not in fillers)
    hostile_ids = sender.valid_ids if sender is not None else []
    strangers = (
        set(copies)
        - set(feed.generated_ids(producer, scenario.count, SEED))
        - set(outcome.mixed_ids)
        - set(hostile_ids)
    )
    if strangers:
        raise AssertionError(f"{scenario.name}: {len(strangers)} records in the array were never produced")
    if not outcome.drained:
        raise AssertionError(f"{scenario.name}: the queue still holds {outcome.queue_depth} messages")
    sent = report.valid_sent(outcome) + len(hostile_ids)
    damaged = filler_damage(history_ids, filler_ids)
    notes = [note() for note in notes]
    if erased is not None:
        notes.append(eraser_checks.note(erased, damaged))
    elif filler_ids:
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
    hostile_set_aside, hostile_messages = 0, 0
    if sender is not None:
        findings = hostile_checks.find(
            outcome, sender, _log_text(output / "consumer.log"), _log_text(output / "compactor.log")
        )
        failed = [what for what, holds in hostile_checks.checks(findings) if not holds]
        if failed:
            raise AssertionError(f"{scenario.name}: " + "; ".join(failed))
        notes.append(hostile_checks.note(findings))
        hostile_set_aside, hostile_messages = len(sender.set_aside), len(sender.messages)
    return Row(
        scenario=scenario.name,
        sent=sent,
        landed=len(copies),
        duplicates=sum(copies.values()) - len(copies),
        lost=max(0, sent - len(copies)),
        set_aside=len(outcome.error_keys) + outcome.dead_letter_depth,
        malformed=outcome.malformed_sent + outcome.mixed_messages + hostile_set_aside,
        redeliveries=(
            outcome.mapping["received"]
            - outcome.producer_summary["messages"]
            - outcome.malformed_sent
            - outcome.mixed_messages
            - hostile_messages
        ),
        faults=faults,
        seconds=outcome.elapsed_seconds,
        notes=", ".join(notes),
        segments=outcome.segments,
        filler_damaged=damaged,
    )


def _log_text(path):
    return path.read_text(errors="replace") if path.exists() else ""


def appends_failed(log):
    """The consumer's log lines that report an append that failed or was cut off at the deadline."""
    if not log.exists():
        return 0
    return sum(
        '"append failed' in line or '"writes cut off' in line for line in log.read_text(errors="replace").splitlines()
    )
