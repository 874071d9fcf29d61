"""Reads template.yaml the way CloudFormation would for one stack: parameter defaults and overrides (checked
against their constraints), resources' conditions, and resource properties with Ref, Sub, GetAtt, If, Join and
AWS::NoValue resolved."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
# moto's default account.
ACCOUNT_ID = "123456789012"


class TemplateError(ValueError):
    pass


# What Ref AWS::NoValue resolves to: the property or list item that holds it is left out.
_NO_VALUE = object()


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, ...) read as their long forms."""


def _long_form(name):
    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag in ("Ref", "Condition"):
    _Loader.add_constructor(f"!{_tag}", _long_form(_tag))
for _tag in ("Sub", "GetAtt", "If", "Not", "Equals", "And", "Or", "Join", "Select", "Split"):
    _Loader.add_constructor(f"!{_tag}", _long_form(f"Fn::{_tag}"))


class Template:
    """One stack's view of the template. `bind` records a created resource's Ref value and attributes, so
    properties that refer to it resolve."""

    def __init__(self, overrides=None, region="eu-central-1", path=TEMPLATE):
        self.document = yaml.load(path.read_text(), Loader=_Loader)
        self.parameters = {name: spec.get("Default") for name, spec in self.document["Parameters"].items()}
        for name, value in (overrides or {}).items():
            self.parameters[name] = self._checked(name, value)
        self.pseudo = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "local",
        }
        self.refs = {}
        self.attributes = {}

    def _checked(self, name, value):
        spec = self.document["Parameters"].get(name)
        if spec is None:
            raise TemplateError(f"template.yaml has no parameter {name}")
        if spec["Type"] == "Number":
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise TemplateError(f"parameter {name} must be a number, got {value!r}") from None
            low, high = spec.get("MinValue", float("-inf")), spec.get("MaxValue", float("inf"))
            if not low <= number <= high:
                raise TemplateError(f"parameter {name} = {value} is out of its range {low}..={high}")
            return int(number) if number.is_integer() else number
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in allowed:
            raise TemplateError(f"parameter {name} = {value!r} is not one of {allowed}")
        pattern = spec.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(pattern, str(value)):
            raise TemplateError(f"parameter {name} = {value!r} does not match {pattern}")
        return value

    def bind(self, logical_id, ref, **attributes):
        self.refs[logical_id] = ref
        for name, value in attributes.items():
            self.attributes[(logical_id, name)] = value

    def resource(self, logical_id):
        return self.document["Resources"][logical_id]

    def exists(self, logical_id):
        """Whether the stack has the resource: it is in the template and its Condition, if any, holds."""
        resource = self.document["Resources"].get(logical_id)
        return resource is not None and ("Condition" not in resource or self._condition(resource["Condition"]))

    def resources_of_type(self, kind):
        """The logical ids of the stack's resources of `kind` (e.g. AWS::S3::Bucket), in template order."""
        return [
            logical_id
            for logical_id, resource in self.document["Resources"].items()
            if resource["Type"] == kind and self.exists(logical_id)
        ]

    def properties(self, logical_id, *path):
        """A resource's properties, or the part of them at `path`, resolved; only that part must resolve."""
        value = self.resource(logical_id).get("Properties", {})
        for key in path:
            value = value[key]
        resolved = self.resolve(value)
        return None if resolved is _NO_VALUE else resolved

    def resolve(self, value):
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return _NO_VALUE if argument == "AWS::NoValue" else self._ref(argument)
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::GetAtt":
                logical_id, name = argument.split(".", 1) if isinstance(argument, str) else argument
                return self._attribute(logical_id, name)
            if key == "Fn::If":
                condition, then, otherwise = argument
                return self.resolve(then if self._condition(condition) else otherwise)
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(item) for item in self.resolve(items))
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _ref(self, name):
        for source in (self.parameters, self.pseudo, self.refs):
            if name in source:
                return source[name]
        raise TemplateError(f"Ref {name}: not a parameter, and no local resource stands for it")

    def _attribute(self, logical_id, name):
        try:
            return self.attributes[(logical_id, name)]
        except KeyError:
            raise TemplateError(f"GetAtt {logical_id}.{name}: no local resource stands for it") from None

    def _sub(self, argument):
        text, variables = (argument, {}) if isinstance(argument, str) else argument

        def substitute(match):
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name:
                return str(self._attribute(*name.split(".", 1)))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", substitute, text)

    def _condition(self, name):
        return self._evaluate(self.document["Conditions"][name])

    def _evaluate(self, condition):
        ((key, argument),) = condition.items()
        if key == "Fn::Not":
            return not self._evaluate(argument[0])
        if key == "Fn::Equals":
            left, right = (self.resolve(item) for item in argument)
            return str(left) == str(right)
        if key == "Fn::And":
            return all(self._evaluate(item) for item in argument)
        if key == "Fn::Or":
            return any(self._evaluate(item) for item in argument)
        if key == "Condition":
            return self._condition(argument)
        raise TemplateError(f"condition function {key} is not supported locally")

    def named_queries(self):
        """The Athena named queries, in template order: (name, description, SQL)."""
        for logical_id, resource in self.document["Resources"].items():
            if resource["Type"] == "AWS::Athena::NamedQuery":
                yield tuple(self.properties(logical_id, key) for key in ("Name", "Description", "QueryString"))
