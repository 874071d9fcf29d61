"""template.yaml as CloudFormation will see it: translated offline by SAM's own translator (samtranslator, the
version aws-sam-cli pins), so the checks read the roles, policies and names SAM generates, not only what the
template says. Nothing here reaches AWS."""

import os
from pathlib import Path
from unittest import mock

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
# The translator takes the region, and from it the partition, from a boto3 session; any commercial region will do.
REGION = "us-east-1"
# Names the translator may look up when a Policies entry is a bare name; it ships a map of AWS managed policies
# and asks the loader only for names missing from it.
MANAGED_POLICY_NAMES = (
    "AWSLambdaBasicExecutionRole",
    "AWSLambdaSQSQueueExecutionRole",
    "AWSLambdaKinesisExecutionRole",
    "AWSLambdaDynamoDBExecutionRole",
    "AWSLambdaVPCAccessExecutionRole",
    "AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess",
    "AWSLambdaRole",
)


class OfflinePolicyLoader:
    """Stands in for samtranslator's ManagedPolicyLoader, which lists the policies through IAM."""

    def load(self):
        return {name: f"arn:aws:iam::aws:policy/service-role/{name}" for name in MANAGED_POLICY_NAMES}


def _with_remote_code(template):
    """The translator accepts only s3:// code locations, as after `sam package`; `sam validate` does the same."""
    functions = [
        resource.setdefault("Properties", {})
        for resource in template.get("Resources", {}).values()
        if resource.get("Type") == "AWS::Serverless::Function"
    ]
    for properties in [template.get("Globals", {}).get("Function", {}), *functions]:
        code = properties.get("CodeUri")
        if isinstance(code, str) and not code.startswith("s3://"):
            properties["CodeUri"] = "s3://bucket/code.zip"
    return template


def translate(parameters: dict | None = None, path: Path | str | None = None) -> dict:
    """The CloudFormation template SAM makes of the template at `path` (template.yaml by default), with these
    parameter values; parameters left out take their defaults."""
    template = _with_remote_code(yaml_parse(Path(path or TEMPLATE).read_text()))
    with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": REGION}):
        # A profile named here but missing from this machine's config would stop the boto3 session.
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            os.environ.pop(name, None)
        return transform(template, dict(parameters or {}), OfflinePolicyLoader())
