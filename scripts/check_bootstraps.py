"""Runs the bootstraps `sam build` made against moto through cargo lambda's Runtime API emulator, the
Docker-free stand-in for `sam local invoke`, and checks what they answer and write.

Usage: check_bootstraps.py BUILD_DIR. Needs AWS_ENDPOINT_URL on loopback (scripts/test starts moto) and
`cargo lambda` on PATH.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from contextlib import contextmanager
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    sys.exit(f"the Runtime API emulator did not listen on port {port}")


@contextmanager
def running(command, env=None, log=None):
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def invoke(port, event_file):
    """Invokes the one function the emulator serves and returns its JSON answer."""
    result = subprocess.run(
        ["cargo", "lambda", "invoke", "_", "-A", "127.0.0.1", "-P", str(port),
         "--data-file", str(event_file), "-o", "json"],
        capture_output=True, text=True, timeout=300,
    )
    if result.returncode != 0:
        sys.exit(f"invoking with {event_file.name} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout)


def run_function(bootstrap, name, variables, event_file, log_path):
    port = free_port()
    env = dict(os.environ)
    env.update(variables)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{port}/.rt",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
    })
    with open(log_path, "w") as log:
        emulator = ["cargo", "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(port)]
        with running(emulator, log=log):
            wait_for_port(port)
            with running([str(bootstrap)], env=env, log=log):
                return invoke(port, event_file)


def main():
    build_dir = Path(sys.argv[1])
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    host = urllib.parse.urlparse(endpoint).hostname or ""
    if not (host.startswith("127.") or host == "localhost"):
        sys.exit(f"AWS_ENDPOINT_URL={endpoint!r} is not a local emulator")
    logs = ROOT / "target" / "bootstrap-check"
    logs.mkdir(parents=True, exist_ok=True)
    sqs, s3 = boto3.client("sqs"), boto3.client("s3")
    run = uuid.uuid4().hex[:12]
    queue_url = sqs.create_queue(QueueName=f"bootstrap-check-{run}")["QueueUrl"]
    bucket = f"bootstrap-check-{run}"
    s3.create_bucket(Bucket=bucket,
                     CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_REGION"]})

    answer = run_function(build_dir / "ProducerFunction" / "bootstrap", "producer", {"QUEUE_URL": queue_url},
                          EVENTS / "producer-burst.json", logs / "producer.log")
    summary = json.loads(answer["body"])
    expected = json.loads((EVENTS / "producer-burst.json").read_text())["count"]
    if answer["statusCode"] != 200 or summary["sent"] != expected:
        sys.exit(f"the producer answered {answer}, expected {expected} records sent")
    depth = int(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
                ["Attributes"]["ApproximateNumberOfMessages"])
    if depth != expected:
        sys.exit(f"the queue holds {depth} messages, expected {expected}")
    print(f"producer bootstrap: sent {summary['sent']} records in {summary['sqs_calls']} calls")

    mixed = json.loads((EVENTS / "sqs-mixed-batch.json").read_text())["Records"]
    bad = [message["messageId"] for message in mixed if message["messageId"].startswith("bad")]
    answer = run_function(build_dir / "ConsumerFunction" / "bootstrap", "consumer",
                          {"BUCKET_NAME": bucket, "PARTITION_PREFIX": "user_sessions/"},
                          EVENTS / "sqs-mixed-batch.json", logs / "consumer.log")
    reported = [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]
    if reported != bad:
        sys.exit(f"the consumer reported {reported}, expected exactly the malformed messages {bad}")
    stored = json.loads(s3.get_object(Bucket=bucket, Key="streaming_data.json")["Body"].read())
    valid = len(mixed) - len(bad)
    if len(stored) != valid:
        sys.exit(f"streaming_data.json holds {len(stored)} records, expected {valid}")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="user_sessions/dt=").get("Contents", [])
    lines = sum(len(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().splitlines()) for item in listed)
    if lines != valid:
        sys.exit(f"the partitions hold {lines} records, expected {valid}")
    print(f"consumer bootstrap: reported the {len(bad)} malformed messages, wrote {valid} records to both outputs")


if __name__ == "__main__":
    main()
