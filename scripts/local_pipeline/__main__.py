"""python -m local_pipeline: runs the pipeline end to end against the local endpoint in AWS_ENDPOINT_URL
(scripts/pipeline starts moto and builds the bootstraps first), shows what it did, what the lake keeps and
its queries read, and what it cost."""

import argparse
import os
import random
import sys
from pathlib import Path

import boto3

from . import bootstraps, cost, erasure, erasure_report, lake, pipeline, report, scan
from .reliability.filler import filler_array
from .runtime import FunctionError
from .template import ROOT, Template, TemplateError

# Template parameters a local run sets differently, and why.
LOCAL_PARAMETERS = {
    "ConsumerBatchingWindowSeconds": (1, "a run of seconds need not wait 300 s for a last partial batch"),
    "QueueVisibilityTimeoutSeconds": (10, "failed messages come back in seconds, not 11 minutes"),
    "MaxReceiveCount": (3, "poison messages reach the dead-letter queue within a minute"),
}
# Options that set a template parameter.
PARAMETER_OPTIONS = {
    "concurrency": "ConsumerMaxConcurrency",
    "batch_size": "ConsumerBatchSize",
    "batch_window": "ConsumerBatchingWindowSeconds",
    "visibility_timeout": "QueueVisibilityTimeoutSeconds",
    "max_receive_count": "MaxReceiveCount",
    "compression": "PartitionCompression",
}


def arguments(argv):
    parser = argparse.ArgumentParser(prog="scripts/pipeline", description=__doc__)
    parser.add_argument("--count", type=int, default=3000, help="records the producer sends (default 3000)")
    parser.add_argument("--seed", type=int, help="the producer's random seed (default: a random one)")
    parser.add_argument(
        "--malformed",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="malformed messages to mix in, as a share of --count, e.g. 0.05",
    )
    parser.add_argument(
        "--packed-with-bad-lines",
        type=int,
        default=0,
        metavar="N",
        help="also send N packed messages of four valid records around one malformed line",
    )
    parser.add_argument("--concurrency", type=int, help="consumer invocations at once (ConsumerMaxConcurrency)")
    parser.add_argument("--batch-size", type=int, help="messages per consumer invocation (ConsumerBatchSize)")
    parser.add_argument("--batch-window", type=int, help="seconds to gather a batch (ConsumerBatchingWindowSeconds)")
    parser.add_argument("--visibility-timeout", type=int, help="QueueVisibilityTimeoutSeconds")
    parser.add_argument("--max-receive-count", type=int, help="receives before the dead-letter queue (MaxReceiveCount)")
    parser.add_argument("--compression", choices=["none", "gzip"], help="partition objects (PartitionCompression)")
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other template parameter, as with sam deploy --parameter-overrides",
    )
    parser.add_argument("--producer", type=Path, default=bootstraps.default("producer"), help="producer bootstrap")
    parser.add_argument("--consumer", type=Path, default=bootstraps.default("consumer"), help="consumer bootstrap")
    parser.add_argument(
        "--compactor",
        type=Path,
        default=bootstraps.default("compactor"),
        help="compactor bootstrap, run once after the queue drains",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "target/local-pipeline",
        help="logs and the copied lake (default target/local-pipeline)",
    )
    parser.add_argument("--drain-timeout", type=float, default=300, help="seconds to wait for an empty queue")
    parser.add_argument(
        "--rate",
        action="append",
        default=[],
        type=rate,
        metavar="RECORDS_PER_SECOND[@PER_MESSAGE]",
        help="also price a month at this steady rate, the records arriving PER_MESSAGE to a "
        "message (default: as the run's producer packed them); repeatable",
    )
    parser.add_argument(
        "--serial",
        action="store_true",
        help="one consumer invocation at a time, so no append races another: the requests an "
        "invocation makes when records trickle in, which the monthly figures use",
    )
    parser.add_argument(
        "--environment",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a variable set for the functions over the template's, e.g. DATA_KEY= to turn streaming_data.json off",
    )
    parser.add_argument(
        "--initial-array-mib",
        type=float,
        default=0,
        help="start with an array of this size (filler records), e.g. 21 to measure appends "
        "in the steady state above 5 MiB, where each composes with UploadPartCopy",
    )
    parser.add_argument(
        "--erase",
        type=int,
        default=0,
        metavar="N",
        help="after the run, ask the compactor to erase N persons of its records (a request each, as issue 25 "
        "has them) and check that they are gone and every other record is kept",
    )
    options = parser.parse_args(argv)
    if options.erase < 0:
        parser.error("--erase takes a number of persons, at least 1")
    if options.count < 1:
        parser.error("--count must be at least 1")
    if not 0 <= options.malformed <= 1:
        parser.error("--malformed is a share between 0 and 1")
    return options


def rate(text):
    """(label, records a second, records a message or None) from RATE or RATE@PER_MESSAGE."""
    value, _, per_message = text.partition("@")
    try:
        parsed = (float(value), int(per_message) if per_message else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not RECORDS_PER_SECOND[@PER_MESSAGE]") from None
    if parsed[0] < 0 or (parsed[1] is not None and parsed[1] < 1):
        raise argparse.ArgumentTypeError(f"{text!r}: a rate is at least 0, a message carries at least 1 record")
    unit = "record" if parsed[0] == 1 else "records"
    label = f"{parsed[0]:g} {unit} a second" + (f", {parsed[1]} a message" if parsed[1] else "")
    return label, *parsed


def overrides(options):
    """Template parameter overrides: the local defaults, then --parameter, then the named options."""
    values = {name: value for name, (value, _) in LOCAL_PARAMETERS.items()}
    for assignment in options.parameter:
        name, separator, value = assignment.partition("=")
        if not separator:
            raise TemplateError(f"--parameter {assignment!r} is not NAME=VALUE")
        values[name] = value
    for option, name in PARAMETER_OPTIONS.items():
        if getattr(options, option) is not None:
            values[name] = getattr(options, option)
    return values


def main(argv=None):
    options = arguments(argv)
    try:
        chosen = overrides(options)
        template = Template(chosen, region=os.environ.get("AWS_REGION", "eu-central-1"))
    except TemplateError as error:
        sys.exit(f"error: {error}")
    for name in sorted(chosen):
        default = template.document["Parameters"][name]["Default"]
        if str(template.parameters[name]) != str(default):
            reason = LOCAL_PARAMETERS.get(name, (None, "set on the command line"))[1]
            print(f"parameter {name} = {template.parameters[name]} (template: {default}): {reason}")
    for binary in (options.producer, options.consumer, options.compactor):
        if not binary.is_file():
            sys.exit(f"error: {binary} does not exist; scripts/pipeline builds it")

    filler = b""
    for assignment in options.environment:
        if "=" not in assignment:
            sys.exit(f"error: --environment {assignment!r} is not NAME=VALUE")
    if options.initial_array_mib:
        filler, _ = filler_array(int(options.initial_array_mib * 2**20))
    data_key = template.properties("ConsumerFunction", "Environment", "Variables", "DATA_KEY")

    def before_start(created):
        if filler:
            boto3.client("s3").put_object(
                Bucket=created.bucket, Key=data_key, Body=filler, ContentType="application/json"
            )

    run_options = pipeline.Options(
        producer=options.producer,
        consumer=options.consumer,
        compactor=options.compactor,
        output=options.output,
        count=options.count,
        seed=options.seed if options.seed is not None else random.randrange(2**32),
        malformed_share=options.malformed,
        packed_with_bad_lines=options.packed_with_bad_lines,
        drain_timeout_seconds=options.drain_timeout,
        before_start=before_start,
        function_environment=dict(assignment.partition("=")[::2] for assignment in options.environment),
        serial=options.serial,
    )
    outcome = pipeline.run(template, run_options)
    if filler:
        outcome.array = [record for record in outcome.array if "filler" not in record]
    results = report.checks(outcome)
    print("\nSummary")
    for line in report.summary_lines(outcome):
        print(f"  {line}")
    try:
        connection = lake.connect(outcome.folders, template)
    except lake.LakeError as error:
        # A manifest naming a file outside the curated bucket: no view of the lake to query.
        connection = None
        results.append((f"the curated table reads: {error}", False))
    if connection is not None:
        for line in scan.lines(connection, template, outcome.folders):
            print(f"  {line}")
        copies = ", ".join(f"{name} to {folder}" for name, folder in outcome.folders.items())
        print(
            f"\nThe buckets, copied ({copies}; {outcome.objects} objects), and the template's Athena named "
            "queries over them in DuckDB"
        )
        for name, description, table, _ in lake.named_queries(connection, template):
            print(f"\n-- {name}: {description}\n{table}")
    results.extend(report.lake_checks(outcome, template, connection))

    # The month is priced under the template as deployed: its defaults and what the command line set.
    deployed = Template(
        {
            name: value
            for name, value in chosen.items()
            if name not in LOCAL_PARAMETERS
            or any(assignment.startswith(f"{name}=") for assignment in options.parameter)
        },
        region=template.pseudo["AWS::Region"],
    )
    measured = cost.measure(outcome, template, deployed)
    document, prices, assumptions = cost.load_prices()
    landed = outcome.producer_summary["sent"] / outcome.landed_seconds if outcome.landed_seconds else 0
    rates = [(f"this run's rate, {landed:,.0f} records a second", landed, None), *options.rate]
    print()
    for line in cost.report(measured, prices, assumptions, document, rates):
        print(line)

    if options.erase:
        done = erasure.run(template, outcome, run_options, options.erase)
        print("\nErasure")
        for line in erasure_report.summary_lines(done):
            print(f"  {line}")
        personal = str(template.parameters.get("LakePersonalData", "pseudonymised"))
        results.extend(erasure_report.checks(template, outcome, done, personal))

    print("\nChecks")
    for description, holds in results:
        print(f"  {'ok  ' if holds else 'FAIL'} {description}")
    return 0 if all(holds for _, holds in results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; the functions and the emulator are stopped", file=sys.stderr)
        sys.exit(130)
    except (FunctionError, RuntimeError, lake.LakeError) as error:
        sys.exit(f"error: {error}")
