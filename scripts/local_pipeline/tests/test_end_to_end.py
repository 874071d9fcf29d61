"""The pipeline end to end with the real bootstraps (PRODUCER_BOOTSTRAP, CONSUMER_BOOTSTRAP and
COMPACTOR_BOOTSTRAP, by default cargo's dev build of producer, consumer and compactor, which scripts/test makes),
with EncryptionKeys=customer-managed: raw and curated data each in its bucket under its own KMS key, the
analysts' view over the curated bucket alone, and the privacy scan of everything in it. (test_cost's run
covers the default SSE-S3.)"""

import json
import os
import tempfile
import unittest
import uuid
from pathlib import Path

import boto3

from local_pipeline import feed, lake, pipeline, report, scan
from local_pipeline.runtime import LocalFunction
from local_pipeline.template import Template

from .support import bootstrap, require_loopback_endpoint

COUNT = 400
SEED = 7
MALFORMED_SHARE = 0.05


class EndToEndTest(unittest.TestCase):
    def setUp(self):
        require_loopback_endpoint(self)
        self.producer = bootstrap("PRODUCER_BOOTSTRAP", "producer")
        self.consumer = bootstrap("CONSUMER_BOOTSTRAP", "consumer")
        self.compactor = bootstrap("COMPACTOR_BOOTSTRAP", "compactor")
        self.output = Path(tempfile.mkdtemp(prefix="local-pipeline-"))
        # A company of its own gives the test its own queue, dead-letter queue and bucket.
        self.template = Template(
            {
                "Company": "e2e" + uuid.uuid4().hex[:12],
                "ConsumerBatchSize": 50,
                "ConsumerBatchingWindowSeconds": 1,
                "ConsumerMaxConcurrency": 4,
                "QueueVisibilityTimeoutSeconds": 3,
                "MaxReceiveCount": 2,
                "EncryptionKeys": "customer-managed",
            }
        )

    def test_every_valid_record_lands_once_is_compacted_once_and_malformed_messages_reach_the_error_output(self):
        options = pipeline.Options(
            producer=self.producer,
            consumer=self.consumer,
            compactor=self.compactor,
            output=self.output,
            count=COUNT,
            seed=SEED,
            malformed_share=MALFORMED_SHARE,
            drain_timeout_seconds=120,
            compact_timeout_seconds=120,
            progress_seconds=1,
        )
        outcome = pipeline.run(self.template, options, say=lambda _line: None)

        failed = [description for description, holds in report.checks(outcome) if not holds]
        self.assertEqual(failed, [], report.summary_lines(outcome))
        expected = feed.generated_ids(self.producer, COUNT, SEED)
        self.assertEqual(len(set(expected)), COUNT)
        self.assertEqual(sorted(record["unique_id"] for record in outcome.array), sorted(expected))
        self.assertTrue(set(expected) <= {record["unique_id"] for record in outcome.partition_records})
        self.assertEqual(outcome.producer_summary["sent"], COUNT)
        self.assertEqual(outcome.malformed_sent, round(COUNT * MALFORMED_SHARE))
        self.assertEqual(len(outcome.error_keys), outcome.malformed_sent)
        self.assertEqual(outcome.dead_letter_depth, 0)
        self.assertEqual(outcome.queue_depth, 0)

        account = outcome.compaction.response
        self.assertTrue(outcome.compaction.ok, account)
        self.assertEqual(
            (account["records_written"], account["records"], account["failed_partitions"]), (COUNT, COUNT, [])
        )
        self.assertEqual(account["records_read"] - account["duplicates"], COUNT)
        self.assertEqual(
            outcome.compaction.usage["secretsmanager:GetSecretValue"].requests,
            1,
            "the compactor read its key once, through the proxy",
        )
        self.assertTrue(outcome.resources.secret.startswith("arn:aws:secretsmanager:"))
        self.assertNotIn("secretsmanager:GetSecretValue", outcome.usage, "the compactor's requests are apart")

        self.assertEqual(set(outcome.resources.keys), {"RawDataKey", "CuratedDataKey"})
        self.assertNotEqual(outcome.curated_bucket, outcome.resources.bucket)
        connection = lake.connect(outcome.folders, self.template)
        lake_checks = report.lake_checks(outcome, self.template, connection)
        self.assertEqual([what for what, holds in lake_checks if not holds], [], lake_checks)
        self.assertEqual(len(lake_checks), 3 + 8, "count, manifests, analysts' view; the privacy scan's eight")
        company = self.template.parameters["Company"]
        results = {name: rows for name, _, _, rows in lake.named_queries(connection, self.template)}
        per_day = results[f"{company} records per day"]
        self.assertEqual(sum(records for _, records, _ in per_day), COUNT)
        self.assertEqual(sum(unique for _, _, unique in per_day), COUNT)
        self.assertEqual(results[f"{company} duplicates by unique_id"], [])
        self.assertEqual(lake.records(connection, self.template, lake.CURATED_TABLE), (COUNT, COUNT))
        self.assertEqual(lake.records(connection, self.template, lake.LANDING_TABLE)[1], COUNT)
        # Pseudonymised: tokens of the key's version 1, names and streets dropped, no raw e-mail.
        emails, names = connection.sql(
            "SELECT count(*) FILTER (WHERE email LIKE 'k1.%' AND email NOT LIKE '%@%'), "
            "count(person_name) FROM user_sessions"
        ).fetchall()[0]
        self.assertEqual((emails, names), (COUNT, 0))

        lines = scan.lines(connection, self.template, outcome.folders)
        self.assertEqual(len(lines), 2 + len(results), lines)
        self.assertRegex(lines[1], rf"^curated +\d+ Parquet files listed by {account['partitions']} manifests", lines)
        self.assertRegex(lines[-2], r"duplicates by unique_id: [\d,]+ bytes \([\d.]+% .*: unique_id of user_sessions$")

    def test_the_consumer_bootstrap_reports_exactly_the_malformed_messages_of_the_sample_batch(self):
        s3 = boto3.client("s3")
        bucket = f"e2e-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_REGION"]})
        event = (feed.EVENTS / "sqs-mixed-batch.json").read_bytes()
        records = json.loads(event)["Records"]
        malformed = [record["messageId"] for record in records if record["messageId"].startswith("bad")]

        environment = {"BUCKET_NAME": bucket, "PARTITION_PREFIX": "user_sessions/"}
        with LocalFunction("consumer", self.consumer, environment, self.output / "mixed.log") as consumer:
            result = consumer.invoke(event)

        self.assertTrue(result.ok, result.payload)
        reported = [failure["itemIdentifier"] for failure in result.json()["batchItemFailures"]]
        self.assertEqual(reported, malformed)
        stored = json.loads(s3.get_object(Bucket=bucket, Key="streaming_data.json")["Body"].read())
        self.assertEqual(len(stored), len(records) - len(malformed))

    def test_at_trace_the_consumer_logs_no_record_and_no_body(self):
        """lambda_runtime logs each raw event at TRACE and the SDK each request body; neither may reach the log."""
        s3 = boto3.client("s3")
        bucket = f"e2e-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_REGION"]})
        marker = "MRK" + uuid.uuid4().hex.upper()
        event = json.loads((feed.EVENTS / "sqs-mixed-batch.json").read_bytes())
        for message in event["Records"]:
            if message["messageId"].startswith("bad"):
                # A hostile key and value in front of whatever made the message bad.
                message["body"] = message["body"].replace("{", f'{{"{marker}\\"`": "`{marker}\\"",', 1)
            else:
                record = json.loads(message["body"])
                record["person_name"] = f'"{marker}`'
                message["body"] = json.dumps(record)

        environment = {
            "BUCKET_NAME": bucket,
            "PARTITION_PREFIX": "user_sessions/",
            "AWS_LAMBDA_LOG_LEVEL": "TRACE",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
        }
        log_path = self.output / "trace.log"
        with LocalFunction("consumer", self.consumer, environment, log_path) as consumer:
            result = consumer.invoke(json.dumps(event).encode())

        self.assertTrue(result.ok, result.payload)
        stored = s3.get_object(Bucket=bucket, Key="streaming_data.json")["Body"].read().decode()
        self.assertIn(marker, stored, "the valid records carried the marker to the bucket")
        log = log_path.read_text()
        self.assertIn('"level":"DEBUG"', log, "the function logged below INFO")
        self.assertIn("message rejected", log)
        self.assertNotIn(marker, log)

    def test_at_trace_the_producer_logs_no_record(self):
        """The SDK logs each request at TRACE, and SendMessageBatch's body holds the records."""
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName=f"e2e-{uuid.uuid4().hex[:12]}")["QueueUrl"]
        count, seed = 20, 11
        sent = feed.generated_ids(self.producer, count, seed)
        environment = {"QUEUE_URL": queue_url, "AWS_LAMBDA_LOG_LEVEL": "TRACE", "AWS_LAMBDA_LOG_FORMAT": "JSON"}
        log_path = self.output / "producer-trace.log"
        with LocalFunction("producer", self.producer, environment, log_path) as producer:
            summary, _ = feed.produce(producer, count, seed)

        self.assertEqual(summary["sent"], count)
        log = log_path.read_text()
        self.assertIn('"level":"DEBUG"', log, "the function logged below INFO")
        self.assertEqual([unique_id for unique_id in sent if unique_id in log], [])


if __name__ == "__main__":
    unittest.main()
