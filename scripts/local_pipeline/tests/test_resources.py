"""The stack's resources as resources.py creates them on moto from template.yaml: both buckets with the
template's encryption, public-access block, ownership and tags, a KMS key per bucket only with
EncryptionKeys=customer-managed (the raw one also encrypting the pseudonym key's secret), and the compactor's
environment naming the raw bucket to read and the curated bucket to write."""

import unittest
import uuid

import boto3

from local_pipeline import resources
from local_pipeline.template import Template

from .support import require_loopback_endpoint


class ResourcesTest(unittest.TestCase):
    def setUp(self):
        require_loopback_endpoint(self)
        self.s3 = boto3.client("s3")

    def create(self, **parameters):
        company = "res" + uuid.uuid4().hex[:12]
        template = Template({"Company": company, **parameters})
        created = resources.create(
            template,
            boto3.client("sqs"),
            self.s3,
            boto3.client("secretsmanager"),
            boto3.client("kms"),
        )
        return company, template, created

    def encryption(self, bucket):
        rule = self.s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        return rule["ApplyServerSideEncryptionByDefault"], rule.get("BucketKeyEnabled")

    def tags(self, bucket):
        return {tag["Key"]: tag["Value"] for tag in self.s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}

    def test_two_buckets_under_sse_s3_by_default_and_no_key(self):
        company, template, created = self.create()
        raw, curated = f"{company}-data-123456789012-eu-central-1", f"{company}-curated-123456789012-eu-central-1"
        self.assertEqual(created.buckets, {"DataBucket": raw, "CuratedBucket": curated})
        self.assertEqual((created.bucket, created.keys), (raw, {}))
        for bucket, data_class in ((raw, "raw"), (curated, "curated")):
            with self.subTest(bucket):
                self.assertEqual(self.encryption(bucket), ({"SSEAlgorithm": "AES256"}, True))
                self.assertEqual(self.tags(bucket), {"company": company, "data-class": data_class})
                block = self.s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
                self.assertTrue(all(block.values()), block)
                ownership = self.s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
                self.assertEqual(ownership, [{"ObjectOwnership": "BucketOwnerEnforced"}])
        environment = template.properties("CompactorFunction", "Environment", "Variables")
        self.assertEqual((environment["BUCKET_NAME"], environment["CURATED_BUCKET"]), (raw, curated))
        self.assertEqual(template.properties("ConsumerFunction", "Environment", "Variables")["BUCKET_NAME"], raw)

    def test_customer_managed_keys_are_one_key_a_bucket_rotated_and_the_raw_one_encrypts_the_secret(self):
        _, _, created = self.create(EncryptionKeys="customer-managed")
        self.assertEqual(set(created.keys), {"RawDataKey", "CuratedDataKey"})
        kms = boto3.client("kms")
        for logical_id, key in created.keys.items():
            with self.subTest(logical_id):
                self.assertTrue(kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"])
        self.assertEqual(
            self.encryption(created.buckets["DataBucket"]),
            ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": created.keys["RawDataKey"]}, True),
        )
        self.assertEqual(
            self.encryption(created.buckets["CuratedBucket"]),
            ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": created.keys["CuratedDataKey"]}, True),
        )
        secret = boto3.client("secretsmanager").describe_secret(SecretId=created.secret)
        self.assertEqual(secret["KmsKeyId"], created.keys["RawDataKey"].rsplit("/", 1)[1])

        key = "user_sessions/dt=2026-11-29/a.ndjson"
        self.s3.put_object(Bucket=created.bucket, Key=key, Body=b"{}\n")
        head = self.s3.head_object(Bucket=created.bucket, Key=key)
        self.assertEqual((head["ServerSideEncryption"], head["SSEKMSKeyId"]), ("aws:kms", created.keys["RawDataKey"]))


if __name__ == "__main__":
    unittest.main()
