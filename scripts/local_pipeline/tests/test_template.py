"""template.yaml read as one stack would see it."""

import unittest

from local_pipeline.template import Template, TemplateError


class TemplateTest(unittest.TestCase):
    def test_names_follow_the_company_and_the_pseudo_parameters(self):
        template = Template({"Company": "leaddata"}, region="eu-west-1")
        self.assertEqual(template.properties("Queue", "QueueName"), "leaddata_data_queue")
        self.assertEqual(template.properties("DataBucket", "BucketName"), "leaddata-data-123456789012-eu-west-1")
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
        arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:leaddata-pseudonym-key-AbCdEf"
        template.bind("PseudonymSecret", arn, Id=arn)
        variables = template.properties("CompactorFunction", "Environment", "Variables")
        self.assertEqual((variables["PSEUDONYM_SECRET_ARN"], variables["BUCKET_NAME"]), (arn, "lake"))

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


if __name__ == "__main__":
    unittest.main()
