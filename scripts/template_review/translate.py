"""template.yaml as CloudFormation will see it: translated offline by SAM's own translator (samtranslator, the
version aws-sam-cli pins), so the checks read the roles, policies and names SAM generates, not only what the
template says; and, for given parameter values, the resources one stack has (`stack`). Nothing here reaches AWS."""

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


class _NoValue:
    """Where Ref AWS::NoValue stood: the property or list item holding it is left out."""


_NO_VALUE = _NoValue()


def stack(parameters: dict | None = None, path: Path | str | None = None) -> dict:
    """The translated template (see `translate`) as one stack with these parameter values has it: its conditions
    evaluated, resources and outputs whose condition is false left out, each Fn::If replaced by the branch its
    condition picks, AWS::NoValue removed, and a Ref to a CommaDelimitedList parameter replaced by its items (a
    policy names them). Every other Ref, Fn::GetAtt and Fn::Sub stays as it is."""
    parameters = dict(parameters or {})
    template = translate(parameters, path)
    specs = template.get("Parameters", {})
    values = {name: str(parameters.get(name, spec.get("Default", ""))) for name, spec in specs.items()}
    lists = {name for name, spec in specs.items() if spec.get("Type") == "CommaDelimitedList"}
    conditions = {}

    def operand(value):
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in values:
            name = value["Ref"]
            return values[name].split(",") if name in lists else values[name]
        if isinstance(value, dict) and set(value) == {"Fn::Join"}:
            separator, items = value["Fn::Join"]
            return separator.join(str(item) for item in as_items(operand(items)))
        if isinstance(value, list):
            return [operand(item) for item in value]
        if isinstance(value, (str, int, float, bool)):
            return str(value).lower() if isinstance(value, bool) else str(value)
        raise ValueError(f"cannot evaluate {value!r} in a condition")

    def as_items(value):
        return value if isinstance(value, list) else [value]

    def holds(condition):
        ((function, argument),) = condition.items()
        if function == "Condition":
            return named(argument)
        if function == "Fn::Equals":
            left, right = (operand(item) for item in argument)
            return left == right
        if function == "Fn::Not":
            return not holds(argument[0])
        if function == "Fn::And":
            return all(holds(item) for item in argument)
        if function == "Fn::Or":
            return any(holds(item) for item in argument)
        raise ValueError(f"condition function {function} is not supported")

    def named(name):
        if name not in conditions:
            conditions[name] = holds(template["Conditions"][name])
        return conditions[name]

    def resolve(value):
        if isinstance(value, list):
            return [item for item in (resolve(item) for item in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Fn::If":
                condition, then, otherwise = argument
                return resolve(then if named(condition) else otherwise)
            if function == "Ref" and argument == "AWS::NoValue":
                return _NO_VALUE
            if function == "Ref" and argument in lists:
                return values[argument].split(",")
        resolved = {key: resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    for section in ("Resources", "Outputs"):
        template[section] = {
            logical_id: resolve(entry)
            for logical_id, entry in template.get(section, {}).items()
            if "Condition" not in entry or named(entry["Condition"])
        }
    return template
