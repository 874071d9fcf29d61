"""template.yaml read as one stack would see it, and the intrinsic functions and conditions the local run
resolves, on a template of the test's own."""

import tempfile
import textwrap
import unittest
from pathlib import Path

from local_pipeline.template import Template, TemplateError

# Conditions on resources and properties, AWS::NoValue, And, Or and Join, as template.yaml uses them.
SMALL = """
Parameters:
  Keys: {Type: String, Default: s3-managed, AllowedValues: [s3-managed, customer-managed]}
  Roles: {Type: CommaDelimitedList, Default: ""}
Conditions:
  CustomerManaged: !Equals [!Ref Keys, customer-managed]
  HasRoles: !Not [!Equals [!Join ["", !Ref Roles], ""]]
  Either: !Or [!Condition CustomerManaged, !Condition HasRoles]
  Both: !And [!Condition CustomerManaged, !Condition HasRoles]
Resources:
  Key:
    Type: AWS::KMS::Key
    Condition: CustomerManaged
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Join ["-", [data, !Ref "AWS::Region"]]
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - !If
            - CustomerManaged
            - ServerSideEncryptionByDefault: {SSEAlgorithm: aws:kms, KMSMasterKeyID: !GetAtt Key.Arn}
            - ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}
      Tags:
        - {Key: either, Value: !If [Either, "yes", "no"]}
        - !If [Both, {Key: both, Value: "yes"}, !Ref AWS::NoValue]
      ObjectLockEnabled: !If [HasRoles, true, !Ref AWS::NoValue]
"""


class TemplateTest(unittest.TestCase):
    def test_names_follow_the_company_and_the_pseudo_parameters(self):
        template = Template({"Company": "leaddata"}, region="eu-west-1")
        self.assertEqual(template.properties("Queue", "QueueName"), "leaddata_data_queue")
        self.assertEqual(template.properties("DataBucket", "BucketName"), "leaddata-data-123456789012-eu-west-1")
        self.assertEqual(template.properties("CuratedBucket", "BucketName"), "leaddata-curated-123456789012-eu-west-1")
        self.assertEqual(Template({"BucketName": "lake"}).properties("DataBucket", "BucketName"), "lake")

    def test_bound_resources_resolve_in_properties(self):
        template = Template()
        template.bind("DeadLetterQueue", "https://dlq", Arn="arn:aws:sqs:eu-central-1:123456789012:dlq")
        policy = template.properties("Queue", "RedrivePolicy")
        self.assertEqual(
            policy, {"deadLetterTargetArn": "arn:aws:sqs:eu-central-1:123456789012:dlq", "maxReceiveCount": 5}
        )

    def test_the_compactor_reads_the_bound_secrets_arn(self):
        template = Template({"Company": "leaddata"})
        template.bind("DataBucket", "lake")
        template.bind("CuratedBucket", "curated")
        arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:leaddata-pseudonym-key-AbCdEf"
        template.bind("PseudonymSecret", arn, Id=arn)
        variables = template.properties("CompactorFunction", "Environment", "Variables")
        self.assertEqual((variables["PSEUDONYM_SECRET_ARN"], variables["BUCKET_NAME"]), (arn, "lake"))

    def test_the_consumers_window_of_days_follows_its_parameter(self):
        def days(template):
            return template.properties("ConsumerFunction", "Environment", "Variables", "MAX_RECORD_AGE_DAYS")

        self.assertEqual(days(Template()), 30)
        self.assertEqual(days(Template({"MaxRecordAgeDays": "7"})), 7)
        for outside in (0, 367):
            with self.subTest(outside), self.assertRaisesRegex(TemplateError, "out of its range 1..=366"):
                Template({"MaxRecordAgeDays": outside})

    def test_an_unbound_resource_is_named_in_the_error(self):
        with self.assertRaisesRegex(TemplateError, "DataBucket"):
            Template().properties("ConsumerFunction", "Environment")

    def test_overrides_are_checked_against_the_parameters_constraints(self):
        cases = {
            "ConsumerMaxConcurrency": (1, "out of its range 2..=1000"),
            "ConsumerBatchSize": ("many", "must be a number"),
            "PartitionCompression": ("zstd", "not one of"),
            "Company": ("Data Driven", "does not match"),
            "Nonsense": ("1", "no parameter Nonsense"),
        }
        for name, (value, message) in cases.items():
            with self.subTest(name), self.assertRaisesRegex(TemplateError, message):
                Template({name: value})

    def test_the_named_queries_come_in_template_order(self):
        names = [name for name, _, _ in Template().named_queries()]
        self.assertEqual(names[0], "datadriven records per day")
        self.assertEqual(len(names), 4)


class IntrinsicsTest(unittest.TestCase):
    def template(self, **overrides):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        path = Path(folder.name) / "template.yaml"
        path.write_text(textwrap.dedent(SMALL))
        return Template(overrides, path=path)

    def test_a_resource_whose_condition_fails_is_not_in_the_stack(self):
        self.assertEqual(self.template().resources_of_type("AWS::KMS::Key"), [])
        self.assertFalse(self.template().exists("Key"))
        self.assertEqual(self.template(Keys="customer-managed").resources_of_type("AWS::KMS::Key"), ["Key"])
        self.assertEqual(self.template().resources_of_type("AWS::S3::Bucket"), ["Bucket"])

    def test_if_picks_a_branch_and_no_value_leaves_the_property_or_item_out(self):
        plain = self.template()
        self.assertEqual(
            plain.properties("Bucket", "BucketEncryption"),
            {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        )
        self.assertEqual(plain.properties("Bucket", "Tags"), [{"Key": "either", "Value": "no"}])
        self.assertNotIn("ObjectLockEnabled", plain.properties("Bucket"))
        self.assertIsNone(plain.properties("Bucket", "ObjectLockEnabled"))

        managed = self.template(Keys="customer-managed", Roles="arn:aws:iam::1:role/a")
        managed.bind("Key", "key-id", Arn="arn:aws:kms:eu-central-1:1:key/key-id")
        rule = managed.properties("Bucket", "BucketEncryption", "ServerSideEncryptionConfiguration")[0]
        self.assertEqual(
            rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"], "arn:aws:kms:eu-central-1:1:key/key-id"
        )
        self.assertEqual(
            managed.properties("Bucket", "Tags"), [{"Key": "either", "Value": "yes"}, {"Key": "both", "Value": "yes"}]
        )
        self.assertIs(managed.properties("Bucket", "ObjectLockEnabled"), True)

    def test_join_joins_resolved_items(self):
        self.assertEqual(self.template().properties("Bucket", "BucketName"), "data-eu-central-1")


if __name__ == "__main__":
    unittest.main()
