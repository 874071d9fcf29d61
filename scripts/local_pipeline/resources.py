"""Creates the template's dead-letter queue, queue, buckets (the raw DataBucket and the curated lake's bucket),
their KMS keys when EncryptionKeys asks for them, and the pseudonym secret on the local endpoint, with the
template's settings, and binds them so the functions' environments and the event source mapping resolve."""

import json
from dataclasses import dataclass, field

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


BUCKET = "AWS::S3::Bucket"
KMS_KEY = "AWS::KMS::Key"
# The raw bucket's logical id: the array, its segments, the landing zone and the error output.
RAW_BUCKET = "DataBucket"
# A bucket's properties that are applied locally; policies, lifecycle rules and logging are not (moto does
# not enforce them).
BUCKET_SETTINGS = ("BucketEncryption", "PublicAccessBlockConfiguration", "OwnershipControls", "Tags")


@dataclass(frozen=True)
class Resources:
    queue: Queue
    dead_letter_queue: Queue
    # The raw bucket's name (DataBucket).
    bucket: str
    # The pseudonym secret's ARN.
    secret: str
    # Every bucket of the stack, logical id -> name, the raw bucket among them.
    buckets: dict = field(default_factory=dict)
    # The stack's KMS keys, logical id -> ARN (none with EncryptionKeys=s3-managed and no AlarmEmail).
    keys: dict = field(default_factory=dict)


def create(template, sqs, s3, secretsmanager, kms=None):
    """The stack's queues, keys, buckets and secret. `kms` is needed only when the template has KMS keys."""
    dead_letter_queue = _create_queue(template, "DeadLetterQueue", sqs)
    queue = _create_queue(template, "Queue", sqs)
    keys = {logical_id: _create_key(template, logical_id, kms) for logical_id in template.resources_of_type(KMS_KEY)}
    buckets = {
        logical_id: _create_bucket(template, logical_id, s3) for logical_id in template.resources_of_type(BUCKET)
    }
    secret = _create_secret(template, "PseudonymSecret", secretsmanager)
    return Resources(queue, dead_letter_queue, buckets[RAW_BUCKET], secret, buckets, keys)


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


def _create_bucket(template, logical_id, s3):
    """The bucket with its name, encryption (its KMS key bound already), public-access block, ownership and
    tags. Its Ref is its name."""
    name = template.properties(logical_id, "BucketName")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": template.pseudo["AWS::Region"]})
    settings = {key: template.properties(logical_id, key) for key in BUCKET_SETTINGS if _has(template, logical_id, key)}
    if "BucketEncryption" in settings:
        # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault.
        rules = [
            {("Apply" + key if key == "ServerSideEncryptionByDefault" else key): value for key, value in rule.items()}
            for rule in settings["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in settings:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=settings["PublicAccessBlockConfiguration"]
        )
    if "OwnershipControls" in settings:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=settings["OwnershipControls"])
    if settings.get("Tags"):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": settings["Tags"]})
    template.bind(logical_id, name, Arn=f"arn:aws:s3:::{name}", DomainName=f"{name}.s3.amazonaws.com")
    return name


def _create_key(template, logical_id, kms):
    """A symmetric KMS key with the template's description and rotation; its key policy is not applied (it
    names the stack's roles, and moto does not enforce it). Its Ref is its key id."""
    if kms is None:
        raise ValueError(f"the template has the KMS key {logical_id}: pass a KMS client")
    description = template.properties(logical_id, "Description") if _has(template, logical_id, "Description") else ""
    metadata = kms.create_key(Description=description or logical_id)["KeyMetadata"]
    if _has(template, logical_id, "EnableKeyRotation") and template.properties(logical_id, "EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
    template.bind(logical_id, metadata["KeyId"], Arn=metadata["Arn"], KeyId=metadata["KeyId"])
    return metadata["Arn"]


def _has(template, logical_id, name):
    return name in template.resource(logical_id).get("Properties", {})


def _create_secret(template, logical_id, secretsmanager):
    """The secret with its text made as CloudFormation makes it from GenerateSecretString: a random string
    (moto's GetRandomPassword, given the same options) under GenerateStringKey in SecretStringTemplate. Its Ref
    is its ARN."""
    properties = template.properties(logical_id)
    generate = properties["GenerateSecretString"]
    options = {name: value for name, value in generate.items() if name not in SECRET_TEXT_PROPERTIES}
    text = json.loads(generate["SecretStringTemplate"])
    text[generate["GenerateStringKey"]] = secretsmanager.get_random_password(**options)["RandomPassword"]
    extra = {"KmsKeyId": properties["KmsKeyId"]} if properties.get("KmsKeyId") else {}
    arn = secretsmanager.create_secret(Name=properties["Name"], SecretString=json.dumps(text), **extra)["ARN"]
    template.bind(logical_id, arn, Id=arn)
    return arn
