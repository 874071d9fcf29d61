"""Creates the template's dead-letter queue, queue, bucket and pseudonym secret on the local endpoint, with
the template's settings, and binds them so the functions' environments and the event source mapping
resolve."""

import json
from dataclasses import dataclass

# GenerateSecretString's properties that place the generated string in the secret's text; the others are
# GetRandomPassword's parameters, which say how the string is generated.
SECRET_TEXT_PROPERTIES = ("SecretStringTemplate", "GenerateStringKey")
# Queue properties that are also SetQueueAttributes names.
QUEUE_ATTRIBUTES = (
    "MessageRetentionPeriod",
    "VisibilityTimeout",
    "MaximumMessageSize",
    "DelaySeconds",
    "SqsManagedSseEnabled",
    "RedrivePolicy",
)


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
    # The pseudonym secret's ARN.
    secret: str


def create(template, sqs, s3, secretsmanager):
    dead_letter_queue = _create_queue(template, "DeadLetterQueue", sqs)
    queue = _create_queue(template, "Queue", sqs)
    bucket = _create_bucket(template, s3)
    secret = _create_secret(template, "PseudonymSecret", secretsmanager)
    return Resources(queue, dead_letter_queue, bucket, secret)


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
    rules = [
        {("Apply" + key if key == "ServerSideEncryptionByDefault" else key): value for key, value in rule.items()}
        for rule in properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    ]
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"])
    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=properties["OwnershipControls"])
    template.bind("DataBucket", name, Arn=f"arn:aws:s3:::{name}")
    return name


def _create_secret(template, logical_id, secretsmanager):
    """The secret with its text made as CloudFormation makes it from GenerateSecretString: a random string
    (moto's GetRandomPassword, given the same options) under GenerateStringKey in SecretStringTemplate. Its Ref
    is its ARN."""
    properties = template.properties(logical_id)
    generate = properties["GenerateSecretString"]
    options = {name: value for name, value in generate.items() if name not in SECRET_TEXT_PROPERTIES}
    text = json.loads(generate["SecretStringTemplate"])
    text[generate["GenerateStringKey"]] = secretsmanager.get_random_password(**options)["RandomPassword"]
    arn = secretsmanager.create_secret(Name=properties["Name"], SecretString=json.dumps(text))["ARN"]
    template.bind(logical_id, arn, Id=arn)
    return arn
