"""The pipeline's bill: the request tally, the month model, and the accounting of a real run at the template's
defaults, whose billed requests per 1,000 records may not rise above a committed bound."""

import dataclasses
import json
import tempfile
import unittest
import uuid
from pathlib import Path

import boto3

from local_pipeline import cost, pipeline
from local_pipeline.reliability.filler import filler_array
from local_pipeline.reliability.scenarios import ABOVE_ONE_PART
from local_pipeline.template import Template
from local_pipeline.usage import Tally, since

from .support import bootstrap, require_loopback_endpoint

# Billed requests (SQS 64 KiB units and S3 requests) per 1,000 records in full batches at the template's
# defaults, from the run below: 2,000 records in 20 packed messages, each invocation composing an array
# above 5 MiB. docs/cost.md's run of 20,000 measured 21.8 on 2026-11-29; SQS's part moves by a unit or two
# with how receives group the messages. A change that makes the pipeline chattier fails here.
REQUESTS_PER_1000_RECORDS = 25


def measured(**overrides):
    values = dict(
        records=10_000,
        messages=100,
        sqs_send_units=100,
        sqs_receive_units=100,
        sqs_delete_units=10,
        s3_put=16,
        s3_get=2,
        consumer_invocations=2,
        consumer_billed_ms=400,
        producer_invocations=1,
        producer_billed_ms=500,
        log_bytes=2_000,
        metrics=2,
        record_bytes=560.0,
        consumer_memory_mb=256,
        producer_memory_mb=128,
        architecture="arm64",
        batch_size=50,
        batching_window_seconds=300,
        producer_runs_per_month=2920.0,
        alarms=5,
        dashboards=1,
    )
    values.update(overrides)
    return cost.Measured(**values)


def compactor(**overrides):
    """One hourly run over 2,000 records in 4 landed objects of one partition, as a small local run makes."""
    values = dict(
        billed_ms=800,
        memory_mb=1024,
        s3_put=5,
        s3_get=8,
        secret_reads=1,
        log_bytes=1_500,
        records=2_000,
        landed_objects=4,
        partitions=1,
        curated_bytes_per_record=200.0,
        target_file_bytes=128 * 2**20,
        runs_per_month=730.0,
    )
    values.update(overrides)
    return cost.Compactor(**values)


class TallyTest(unittest.TestCase):
    def test_sqs_requests_are_billed_per_64_kib_of_bodies_and_empty_receives_are_counted(self):
        tally = Tally()
        entries = [{"Id": str(n), "MessageBody": "x" * 40_000} for n in range(4)]
        tally.add("sqs:SendMessageBatch", json.dumps({"Entries": entries}).encode(), b"{}", 200)
        tally.add("sqs:ReceiveMessage", b"{}", json.dumps({"Messages": [{"Body": "y"}]}).encode(), 200)
        tally.add("sqs:ReceiveMessage", b"{}", b"{}", 200)
        tally.add("s3:PutObject", b"z" * 10**6, b"", 200)
        usage = tally.snapshot()
        self.assertEqual((usage["sqs:SendMessageBatch"].units, usage["sqs:SendMessageBatch"].messages), (3, 4))
        self.assertEqual((usage["sqs:ReceiveMessage"].units, usage["sqs:ReceiveMessage"].empty), (2, 1))
        self.assertEqual(usage["s3:PutObject"].units, 1)

    def test_since_gives_the_requests_between_two_snapshots(self):
        tally = Tally()
        tally.add("s3:GetObject", b"", b"", 200)
        before = tally.snapshot()
        tally.add("s3:GetObject", b"", b"", 200)
        tally.add("secretsmanager:GetSecretValue", b"{}", b"{}", 200)
        spent = since(tally.snapshot(), before)
        self.assertEqual(
            {name: operation.requests for name, operation in spent.items()},
            {"s3:GetObject": 1, "secretsmanager:GetSecretValue": 1},
        )


class MonthTest(unittest.TestCase):
    def setUp(self):
        _, self.prices, self.assumptions = cost.load_prices()

    def test_the_price_table_names_its_region_date_and_a_source_for_each_price(self):
        document, _, _ = cost.load_prices()
        self.assertEqual(document["region"], "eu-central-1")
        self.assertTrue(all(item["source"] for item in document["prices"].values()))

    def test_schedules_run_so_often_a_month(self):
        self.assertEqual(cost.runs_per_month("rate(15 minutes)"), 2920)
        self.assertEqual(cost.runs_per_month("rate(1 hour)"), 730)
        self.assertEqual(cost.runs_per_month("cron(0 * * * ? *)"), 0)

    def test_an_idle_stack_pays_for_polling_alone(self):
        bill = cost.month(measured(), self.prices, self.assumptions, 0.0, 1)
        self.assertEqual((bill.invocations, bill.usage_total, bill.fixed["custom metrics"]), (0, 0, 0))
        self.assertLess(bill.total, 0.50)

    def test_a_trickle_is_invoked_once_a_window_and_a_flood_once_a_full_batch(self):
        trickle = cost.month(measured(), self.prices, self.assumptions, 1 / 8, 1)
        self.assertAlmostEqual(trickle.invocations, cost.SECONDS_PER_MONTH / 300)
        self.assertEqual(trickle.fill_seconds, 300)
        flood = cost.month(measured(), self.prices, self.assumptions, 1000.0, 100)
        self.assertAlmostEqual(flood.invocations, 1000 / 100 / 50 * cost.SECONDS_PER_MONTH)
        self.assertLess(flood.per_million, 0.10)

    def test_the_default_stream_pays_for_hourly_compactor_runs_and_the_secret(self):
        with_compactor = measured(compactor=compactor(), secrets=1)
        stream = cost.month(with_compactor, self.prices, self.assumptions, cost.DEFAULT_STREAM_RATE, 1)
        without = cost.month(measured(), self.prices, self.assumptions, cost.DEFAULT_STREAM_RATE, 1)
        self.assertAlmostEqual(stream.usage_total - without.usage_total, stream.usage["Compactor"])
        # 730 invocations and their log lines, at least the fixed time each at 1 GB; under a dollar.
        floor = 730 * (
            self.prices["lambda_request"]
            + self.assumptions["compactor_overhead_ms_per_run"] / 1000 * self.prices["lambda_gb_second_arm64"]
        )
        self.assertTrue(floor < stream.usage["Compactor"] < 1.0, stream.usage)
        self.assertAlmostEqual(
            stream.fixed["pseudonym secret"], self.prices["secret_month"] + 730 * self.prices["secretsmanager_request"]
        )
        idle = cost.month(with_compactor, self.prices, self.assumptions, 0.0, 1)
        self.assertNotIn("Compactor", idle.usage, "the schedules are off together")
        self.assertEqual(idle.fixed["pseudonym secret"], self.prices["secret_month"])

    def test_compactor_runs_read_each_landed_object_and_rewrite_at_most_half_a_file(self):
        per_run = {}
        for rate in (1.0, 1000.0):
            bill = cost.compactor_month(
                measured(compactor=compactor()), self.prices, self.assumptions, rate * cost.SECONDS_PER_MONTH, 8760
            )
            per_run[rate] = bill["Lambda"] / 730
        # 12 objects a run (8,760 consumer invocations over 730 runs, an object each as the run's 4 made 4), and
        # the run's 4 other GET-class and 5 PUT-class requests for its one partition.
        s3 = cost.compactor_month(
            measured(compactor=compactor(), consumer_invocations=4),
            self.prices,
            self.assumptions,
            cost.SECONDS_PER_MONTH,
            8760,
        )["S3 requests"]
        self.assertAlmostEqual(
            s3, 730 * ((8760 / 730 + 4) * self.prices["s3_get_class"] + 5 * self.prices["s3_put_class"])
        )
        # A thousand times the records costs less than a thousand times the time: the rewrite is capped.
        self.assertLess(per_run[1000.0], 1000 * per_run[1.0])


class EncryptionKeysTest(unittest.TestCase):
    """What each EncryptionKeys choice costs a month: nothing for SSE-S3; for a KMS key per bucket, the keys
    and the few requests S3 makes with bucket keys."""

    def setUp(self):
        _, self.prices, self.assumptions = cost.load_prices()
        self.measured = measured(
            compactor=compactor(),
            secrets=1,
            kms_keys={"s3-managed": 0, "customer-managed": 2},
            secret_under_stack_key=True,
            s3_by_kind={"CreateMultipartUpload": 2, "UploadPartCopy": 8, "UploadPart": 2, "GetObject": 2},
        )

    def test_the_price_table_has_kms_at_its_list_prices_and_the_bucket_key_period_with_its_source(self):
        self.assertEqual((self.prices["kms_key_month"], self.prices["kms_request"]), (1.00, 0.03 / 10_000))
        self.assertEqual(self.assumptions["kms_bucket_key_seconds"], 3600)
        document, _, _ = cost.load_prices()
        self.assertIn("bucket-key.html", document["assumptions"]["kms_bucket_key_seconds"]["source"])

    def test_the_template_makes_a_key_per_bucket_only_when_customer_managed(self):
        for parameters in ({}, {"AlarmEmail": "ops@example.com"}):
            with self.subTest(parameters):
                settings = cost.encryption_settings(Template(parameters))
                self.assertEqual(settings["kms_keys"], {"s3-managed": 0, "customer-managed": 2})
                self.assertEqual(settings["encryption_keys"], "s3-managed")
                self.assertTrue(settings["secret_under_stack_key"], "the raw data's key encrypts the secret")
        self.assertEqual(
            cost.encryption_settings(Template({"EncryptionKeys": "customer-managed"}))["encryption_keys"],
            "customer-managed",
        )

    def test_s3_managed_keys_cost_nothing(self):
        bill = cost.month(self.measured, self.prices, self.assumptions, cost.DEFAULT_STREAM_RATE, 1)
        self.assertEqual(bill.kms["s3-managed"].total, 0)
        self.assertNotIn("KMS keys", bill.fixed)
        self.assertNotIn("KMS requests", bill.usage)

    def test_customer_managed_keys_cost_two_keys_and_a_few_requests_an_hour_at_any_rate(self):
        for rate in (cost.DEFAULT_STREAM_RATE, 1000.0):
            with self.subTest(rate):
                kms = cost.month(self.measured, self.prices, self.assumptions, rate, 1).kms["customer-managed"]
                # Every hour: the consumer's write and read of the raw bucket, the compactor's read of the raw
                # bucket and write and read of the curated one; and the secret's Decrypt each compactor run.
                self.assertEqual(kms.requests, 730 * (2 + 3) + 730)
                self.assertEqual(kms.key_dollars, 2.00)
                self.assertAlmostEqual(kms.request_dollars, 4380 * 0.03 / 10_000)
                self.assertAlmostEqual(kms.total, 2.013, places=3)
        idle = cost.month(self.measured, self.prices, self.assumptions, 0.0, 1).kms["customer-managed"]
        self.assertEqual((idle.requests, idle.total), (0, 2.00))

    def test_without_bucket_keys_every_object_is_a_request(self):
        busy = cost.month(self.measured, self.prices, self.assumptions, 1000.0, 100)
        kms = busy.kms["customer-managed"]
        # Per invocation: 2 creates, 8 copied parts and 2 reads over the run's 2 invocations.
        per_invocation = (2 + 8 + 2) / 2
        self.assertGreater(kms.requests_without_bucket_keys, busy.invocations * per_invocation)
        self.assertGreater(kms.requests_without_bucket_keys, 100 * kms.requests)

    def test_the_deployed_choice_is_in_the_months_total(self):
        deployed = dataclasses.replace(self.measured, encryption_keys="customer-managed")
        plain = cost.month(self.measured, self.prices, self.assumptions, cost.DEFAULT_STREAM_RATE, 1)
        keyed = cost.month(deployed, self.prices, self.assumptions, cost.DEFAULT_STREAM_RATE, 1)
        self.assertEqual(keyed.fixed["KMS keys"], 2.00)
        self.assertAlmostEqual(keyed.total - plain.total, keyed.kms["customer-managed"].total)
        idle = cost.month(deployed, self.prices, self.assumptions, 0.0, 1)
        self.assertEqual((idle.fixed["KMS keys"], idle.usage.get("KMS requests", 0)), (2.00, 0))

    def test_the_bill_prints_each_choice(self):
        document, _, _ = cost.load_prices()
        lines = cost.report(self.measured, self.prices, self.assumptions, document, [("1 record a second", 1.0, None)])
        table = lines[
            lines.index("EncryptionKeys, a month (deployed: s3-managed; the table above counts that choice):") :
        ]
        self.assertEqual(table[2], "| EncryptionKeys | KMS keys | the default stream | 1 record a second | idle |")
        self.assertEqual(table[4], "| s3-managed | 0 | $0 | $0 | $0 |")
        self.assertEqual(
            table[5],
            "| customer-managed | 2 | $2.01 (4,380 requests) | $2.01 (4,380 requests) | $2.00 (0 requests) |",
        )
        self.assertIn("about once an hour", table[7])
        self.assertIn("Without bucket keys, at 1 record a second, S3 would make about", table[7])

    def test_without_bucket_keys_is_priced_at_the_busiest_rate_asked_for(self):
        rates = [("this run's rate", 2000.0, None), ("1000 records a second", 1000.0, None), ("1 a second", 1.0, None)]
        lines = cost.encryption_lines(self.measured, self.prices, self.assumptions, rates)
        self.assertIn("Without bucket keys, at 1000 records a second, S3 would make about", lines[-1])

    def test_a_template_without_the_choice_prints_nothing_of_it(self):
        lines = cost.encryption_lines(measured(), self.prices, self.assumptions, [])
        self.assertEqual(lines, [])


class RunAccountingTest(unittest.TestCase):
    """A small run at the template's defaults (but for the local batching window), counted at the proxy."""

    def setUp(self):
        require_loopback_endpoint(self)
        self.producer = bootstrap("PRODUCER_BOOTSTRAP", "producer")
        self.consumer = bootstrap("CONSUMER_BOOTSTRAP", "consumer")
        self.compactor = bootstrap("COMPACTOR_BOOTSTRAP", "compactor")

    def test_requests_per_thousand_records_stay_within_the_bound(self):
        template = Template({"Company": "cost" + uuid.uuid4().hex[:12], "ConsumerBatchingWindowSeconds": 1})
        deployed = Template({"Company": template.parameters["Company"]})
        data_key = template.properties("ConsumerFunction", "Environment", "Variables", "DATA_KEY")
        filler, _ = filler_array(ABOVE_ONE_PART)

        def before_start(created):
            boto3.client("s3").put_object(Bucket=created.bucket, Key=data_key, Body=filler)

        with tempfile.TemporaryDirectory(prefix="cost-") as output:
            options = pipeline.Options(
                producer=self.producer,
                consumer=self.consumer,
                compactor=self.compactor,
                output=Path(output),
                count=2000,
                seed=3,
                drain_timeout_seconds=120,
                compact_timeout_seconds=120,
                progress_seconds=1,
                before_start=before_start,
                serial=True,
            )
            outcome = pipeline.run(template, options, say=lambda _line: None)
            counted = cost.measure(outcome, template, deployed)

        self.assertEqual((counted.records, counted.messages), (2000, 20), "a hundred records a message")
        self.assertEqual(counted.consumer_invocations, 1, "one batch of 20 messages, within the 1 s window")
        self.assertGreater(counted.s3_put, 0, "the proxy saw the consumer's writes")
        self.assertGreaterEqual(
            counted.sqs_receive_units,
            counted.messages // 10,
            "the proxy read the messages in the receives (SQS's JSON protocol)",
        )
        full = counted.full_batch_invocations
        self.assertLessEqual(counted.per_1000_records(full), REQUESTS_PER_1000_RECORDS, counted)
        self.assertEqual(counted.metrics, 2, "two custom metrics by default")
        compacted = counted.compactor
        self.assertEqual((compacted.records, compacted.secret_reads, compacted.memory_mb), (2000, 1, 1024), compacted)
        self.assertGreater(compacted.s3_put, 0, "the proxy saw the compactor's writes, apart from the consumer's")
        self.assertEqual(compacted.runs_per_month, 730, "hourly")
        _, prices, assumptions = cost.load_prices()
        self.assertLess(sum(cost.per_million(counted, prices, assumptions, full).values()), 0.10)
