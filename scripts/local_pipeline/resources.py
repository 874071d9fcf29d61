"""Creates the template's dead-letter queue, queue and bucket on the local endpoint, with the template's
settings, and binds them so the functions' environments and the event source mapping resolve."""

import json
from dataclasses import dataclass

# Queue properties that are also SetQueueAttributes names.
QUEUE_ATTRIBUTES = ("MessageRetentionPeriod", "VisibilityTimeout", "MaximumMessageSize", "DelaySeconds",
                    "SqsManagedSseEnabled", "RedrivePolicy")


@dataclass(frozen=True)
class Queue:
    url: str
    arn: str
    attributes: dict


@dataclass(frozen=True)
class Resources:
    queue: Queue
    dead_letter_queue: Queue
    bucket: str


def create(template, sqs, s3):
    dead_letter_queue = _create_queue(template, "DeadLetterQueue", sqs)
    queue = _create_queue(template, "Queue", sqs)
    bucket = _create_bucket(template, s3)
    return Resources(queue, dead_letter_queue, bucket)


def _create_queue(template, logical_id, sqs):
    properties = template.properties(logical_id)
    attributes = {name: _attribute_value(properties[name]) for name in QUEUE_ATTRIBUTES if name in properties}
    url = sqs.create_queue(QueueName=properties["QueueName"], Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    template.bind(logical_id, url, Arn=arn, QueueName=properties["QueueName"])
    return Queue(url, arn, attributes)


def _attribute_value(value):
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _create_bucket(template, s3):
    properties = template.properties("DataBucket")
    name = properties["BucketName"]
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": template.pseudo["AWS::Region"]})
    # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault.
    rules = [{("Apply" + key if key == "ServerSideEncryptionByDefault" else key): value for key, value in rule.items()}
             for rule in properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]]
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"])
    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=properties["OwnershipControls"])
    template.bind("DataBucket", name, Arn=f"arn:aws:s3:::{name}")
    return name
