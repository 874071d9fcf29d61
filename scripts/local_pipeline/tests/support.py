"""What the tests share: the loopback guard, SQS clients, and queues of their own."""

import os
import time
import uuid
from pathlib import Path

import boto3

from local_pipeline import bootstraps
from local_pipeline.endpoint import NotLocal, local_endpoint


def require_loopback_endpoint(test_case):
    try:
        local_endpoint()
    except NotLocal as error:
        test_case.fail(str(error))


def unique_name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_queue(sqs, visibility_seconds=1, dead_letter_after=None):
    """A queue of the test's own; with `dead_letter_after`, a dead-letter queue too. Returns (url, arn, dlq url)."""
    attributes = {"VisibilityTimeout": str(visibility_seconds)}
    dead_letter_url = None
    if dead_letter_after is not None:
        dead_letter_url = sqs.create_queue(QueueName=unique_name("dlq"))["QueueUrl"]
        dead_letter_arn = queue_arn(sqs, dead_letter_url)
        attributes["RedrivePolicy"] = (
            f'{{"deadLetterTargetArn": "{dead_letter_arn}", "maxReceiveCount": {dead_letter_after}}}'
        )
    url = sqs.create_queue(QueueName=unique_name("queue"), Attributes=attributes)["QueueUrl"]
    return url, queue_arn(sqs, url), dead_letter_url


def queue_arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def depth(sqs, url):
    """(visible, in flight) messages."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def send(sqs, url, bodies, **extra):
    """Sends the bodies in batches of ten; returns their message ids in order."""
    ids = []
    for start in range(0, len(bodies), 10):
        entries = [
            {"Id": str(index), "MessageBody": body, **extra} for index, body in enumerate(bodies[start : start + 10])
        ]
        response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        ids.extend(entry["MessageId"] for entry in sorted(response["Successful"], key=lambda e: int(e["Id"])))
    return ids


def client():
    return boto3.client("sqs")


def wait_for_visibility(seconds=1):
    time.sleep(seconds + 0.2)


def bootstrap(variable, name):
    """The bootstrap of the function `name` to run: the path in `variable`, else cargo's dev build."""
    path = Path(os.environ.get(variable, bootstraps.default(name)))
    if not path.is_file():
        raise AssertionError(f"{path} does not exist: run cargo build, or set {variable}")
    return path
