"""Checks on the CloudFormation that SAM makes of template.yaml (see translate.py), for what cfn-lint and checkov
do not look at: names that two stacks in one account would share, roles that reach every queue or bucket, the
consumer's and the compactor's least privilege, who reads raw data (the raw bucket's policy, its key, the
pseudonym key's secret) and what analysts may (AnalystsPolicy), the two data classes' buckets, databases and
workgroups, encryption, what is retained when the stack goes, tags, retries, message, log and data retention, where
Athena's results go, where the tables read, and the alarms. Every check runs on two stacks: the parameters'
defaults, and customer-managed keys with operators, an alarm address and retention days set (every conditional
resource and statement there). TEMPLATE_REVIEW_TEMPLATE names another template file to check, e.g. `git show
HEAD:template.yaml` saved to a file."""

import fnmatch
import importlib.resources
import json
import os
import re
import typing
import unittest

from template_review.translate import stack

# Where each resource type keeps its physical name.
NAME_PROPERTIES = {
    "AWS::Lambda::Function": ("FunctionName",),
    "AWS::SQS::Queue": ("QueueName",),
    "AWS::Logs::LogGroup": ("LogGroupName",),
    "AWS::S3::Bucket": ("BucketName",),
    "AWS::Glue::Database": ("DatabaseInput", "Name"),
    "AWS::Athena::WorkGroup": ("Name",),
    # Not unique in AWS, but two stacks' queries of one name would be hard to tell apart.
    "AWS::Athena::NamedQuery": ("Name",),
    "AWS::Scheduler::Schedule": ("Name",),
    "AWS::Scheduler::ScheduleGroup": ("Name",),
    "AWS::CloudWatch::Alarm": ("AlarmName",),
    "AWS::CloudWatch::Dashboard": ("DashboardName",),
    "AWS::SNS::Topic": ("TopicName",),
    "AWS::IAM::Role": ("RoleName",),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName",),
    "AWS::KMS::Alias": ("AliasName",),
    "AWS::Events::Rule": ("Name",),
    "AWS::SecretsManager::Secret": ("Name",),
}
# Keys ending in Name, of types missing from NAME_PROPERTIES, that refer to another resource or name something
# unique only inside one, so a plain string there is no name two stacks share.
NOT_PHYSICAL_NAMES = {
    "AWS::Lambda::EventSourceMapping": {"FunctionName"},
    "AWS::Lambda::Permission": {"FunctionName"},
    "AWS::Lambda::EventInvokeConfig": {"FunctionName"},
    "AWS::Glue::Table": {"DatabaseName"},
    "AWS::Logs::MetricFilter": {"LogGroupName", "FilterName"},
    "AWS::Logs::SubscriptionFilter": {"LogGroupName", "FilterName"},
    "AWS::IAM::Policy": {"PolicyName"},
}
# Refs whose value differs between two stacks in one account and region; AWS::NoValue leaves the name to
# CloudFormation.
PER_STACK_REFS = ("Company", "AWS::StackName", "AWS::NoValue")
# AWS managed policies that allow SQS or S3 actions on every resource.
BROAD_MANAGED_POLICIES = {
    "AWSLambdaSQSQueueExecutionRole": "sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes on *",
    "AmazonSQSFullAccess": "sqs:* on *",
    "AmazonS3FullAccess": "s3:* on *",
    "AmazonS3ReadOnlyAccess": "s3:Get* and s3:List* on *",
    "AWSLambdaExecute": "s3:GetObject and s3:PutObject on arn:aws:s3:::*",
}
DATA_KEY = "streaming_data.json"
CONSUMER_SQS_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
CONSUMER_S3_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload")
# What SQS keeps a message for when MessageRetentionPeriod is absent, and the most it allows.
SQS_DEFAULT_RETENTION = 345600
SQS_MAX_RETENTION = 1209600
# The compactor's key layout under CURATED_PREFIX (compactor/src/lake/layout.rs): each partition's symlink
# manifest is tables/user_sessions/dt=D/manifest, so the curated table reads the folder dt=D/ under this.
CURATED_TABLE = "user_sessions"
LANDING_TABLE = "user_sessions_landing"
MANIFESTS = f"tables/{CURATED_TABLE}/"
# The last day the tables' date projection covers: the consumer accepts records up to a day ahead of SQS's time.
PROJECTION_END = "NOW+1DAYS"
SYMLINK_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
# Where the compactor keeps erasure on request in the raw bucket (compactor/src/erasure/ledger.rs): operators put
# requests, the compactor deletes each once finished, moves a malformed one to refused/, keeps receipts and the
# erased persons, and the pass under way until it ends.
ERASURE_REQUESTS = "erasure/requests/"
ERASURE_REFUSED = "erasure/refused/"
ERASURE_RECEIPTS = "erasure/receipts/"
ERASED = "erasure/erased.json"
ERASURE_PASS = "erasure/pass.json"
# A principal of the account that is neither a role of the template nor an operator.
OUTSIDER = "arn:aws:iam::123456789012:role/auditor"
# The condition operators a bucket policy's Deny may name who it spares by (aws:PrincipalArn) with.
ARN_OPERATORS = ("ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike")
# The pseudonym key's secret holds {"version": N, "key": "..."}; the compactor refuses a key under 32 bytes.
SECRET_KEY_FIELD = "key"
SECRET_MIN_KEY_LENGTH = 32
DAY_SECONDS = 86400
# What the compactor waits for when COMPACT_GRACE_SECS is absent, and the most it takes (src/settings.rs).
COMPACTOR_DEFAULT_GRACE = 300
COMPACTOR_MAX_GRACE = 7 * DAY_SECONDS
# The most days an S3 lifecycle rule's ExpirationInDays may say (a bound only for a parameter without MaxValue).
S3_MAX_EXPIRATION_DAYS = 2147483647
RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": DAY_SECONDS, "days": DAY_SECONDS}
# Operators' roles as a deployer gives them (OperatorRoleArns is comma-separated).
OPERATORS = ["arn:aws:iam::123456789012:role/op1", "arn:aws:iam::123456789012:role/ops/op2"]
# Senders' roles besides the producer (SenderRoleArns, comma-separated).
SENDERS = ["arn:aws:iam::123456789012:role/feed-*"]
# The second stack every check runs on: every condition of the template the other way from its default.
EVERY_OPTION = {
    "EncryptionKeys": "customer-managed",
    "OperatorRoleArns": ",".join(OPERATORS),
    "SenderRoleArns": ",".join(SENDERS),
    "AlarmEmail": "ops@example.com",
    "ArrayRetentionDays": "30",
    "CuratedRetentionDays": "400",
    "BucketName": "raw-bucket",
    "CuratedBucketName": "curated-bucket",
}
# Every S3 action that returns an object's content or hands it to someone: the raw bucket's policy must deny each
# to all but the roles that read raw data.
OBJECT_READS = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:GetObjectTorrent",
    "s3:GetObjectVersionTorrent",
    "s3:GetObjectVersionForReplication",
    "s3:RestoreObject",
)
# Every S3 action that writes or deletes an object or what it holds.
OBJECT_WRITES = (
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:PutObjectVersionAcl",
    "s3:PutObjectTagging",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:DeleteObjectTagging",
    "s3:AbortMultipartUpload",
    "s3:RestoreObject",
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
)
# What a KMS key does for whoever may use it; the account's administration of a key must include none of these.
KEY_USE = (
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
)
KEY_USE += ("kms:ReEncryptTo", "kms:CreateGrant")
DATA_CLASSES = ("raw", "curated", "none")
# The Athena results prefix in both buckets, and how long results stay there.
RESULTS_PREFIX = "athena-results/"
RESULTS_DAYS = 1
# SAM makes the consumer's event source mapping from its SQS event and, in the translator aws-sam-cli 1.170.0 pins,
# neither takes Tags on the event nor propagates the function's (PropagateTags) to the mapping.
UNTAGGABLE_BY_SAM = {"AWS::Lambda::EventSourceMapping"}


def as_list(value):
    return value if isinstance(value, list) else [value]


def dig(properties, path):
    """The value at `path` (a tuple of keys) in nested properties, or None."""
    for key in path:
        if not isinstance(properties, dict):
            return None
        properties = properties.get(key)
    return properties


def getatt_target(value):
    """(logical ID, attribute) of a Fn::GetAtt in either form, or None."""
    argument = value.get("Fn::GetAtt") if isinstance(value, dict) else None
    if isinstance(argument, str):
        argument = argument.split(".", 1)
    return tuple(argument) if isinstance(argument, list) and len(argument) == 2 else None


def sub_text(value):
    """The text of a Fn::Sub (either form), or None."""
    argument = value.get("Fn::Sub") if isinstance(value, dict) else None
    return argument[0] if isinstance(argument, list) else argument


def string_leaves(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from string_leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from string_leaves(item)


def differs_per_stack(value, template):
    """Whether a name is one that another stack of this template cannot have: a Ref to Company, AWS::StackName, a
    resource of the stack or a parameter without a default (the deployer names it); a Fn::GetAtt of a resource; a
    Fn::Sub whose text uses Company or AWS::StackName, or a variable that differs per stack; a Fn::Join with a part
    that does; a Fn::If both of whose branches do."""
    if not (isinstance(value, dict) and len(value) == 1):
        return False
    ((function, argument),) = value.items()
    resources, parameters = template["Resources"], template.get("Parameters", {})
    if function == "Ref":
        named_by_deployer = argument in parameters and not parameters[argument].get("Default")
        return argument in PER_STACK_REFS or argument in resources or named_by_deployer
    if function == "Fn::GetAtt":
        return getatt_target(value) is not None and getatt_target(value)[0] in resources
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        used = {name for name in [*PER_STACK_REFS, *variables] if f"${{{name}}}" in text}
        return any(name in PER_STACK_REFS or differs_per_stack(variables[name], template) for name in used)
    if function == "Fn::Join":
        parts = argument[1]
        return isinstance(parts, list) and any(differs_per_stack(part, template) for part in parts)
    if function == "Fn::If":
        return all(differs_per_stack(branch, template) for branch in argument[1:])
    return False


def statements(document):
    found = document.get("Statement", []) if isinstance(document, dict) else []
    return as_list(found)


def role_statements(resources, role_id):
    """(where, statement) for each statement of the role's inline policies and of the template's policies attached
    to it."""
    role = resources[role_id].get("Properties", {})
    found = [
        (f"{role_id} inline policy {policy.get('PolicyName')}", statement)
        for policy in role.get("Policies", [])
        for statement in statements(policy.get("PolicyDocument"))
    ]
    attached = {arn["Ref"] for arn in role.get("ManagedPolicyArns", []) if isinstance(arn, dict) and "Ref" in arn}
    for logical_id, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and (
            logical_id in attached or {"Ref": role_id} in properties.get("Roles", [])
        ):
            found += [
                (f"{logical_id} ({resource['Type']})", statement)
                for statement in statements(properties.get("PolicyDocument"))
            ]
    return found


def broad_managed_policies(role):
    """Names of the AWS managed policies in BROAD_MANAGED_POLICIES among the role's ManagedPolicyArns."""
    names = [list(string_leaves(arn))[-1].rsplit("/", 1)[-1] for arn in role.get("ManagedPolicyArns", [])]
    return [name for name in names if name in BROAD_MANAGED_POLICIES]


def statement_label(where, statement):
    return f"{where}, statement {statement.get('Sid', '(no Sid)')}"


def resource_label(value):
    """A policy Resource as text: `!Sub 'text'`, `!GetAtt X.Attr`, `!Ref X` or the plain string."""
    if sub_text(value) is not None:
        return f"!Sub {sub_text(value)!r}"
    if getatt_target(value):
        return "!GetAtt {}.{}".format(*getatt_target(value))
    if isinstance(value, dict) and "Ref" in value:
        return f"!Ref {value['Ref']}"
    return json.dumps(value)


def references(value):
    """The logical IDs and parameters a value names: Refs, Fn::GetAtts and ${X} or ${X.Attr} in Fn::Sub texts."""
    found = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        if set(value) == {"Ref"}:
            found.add(value["Ref"])
        elif getatt_target(value):
            found.add(getatt_target(value)[0])
        elif sub_text(value) is not None:
            found |= {name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", sub_text(value))}
            argument = value["Fn::Sub"]
            if isinstance(argument, list):
                found |= references(argument[1:])
        else:
            for item in value.values():
                found |= references(item)
    return found


def matches(patterns, action):
    """Whether an IAM action is among `patterns` (case-insensitive, * and ? as IAM reads them)."""
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in as_list(patterns))


def tags_of(properties):
    """A resource's Tags as a dict: CloudFormation's list of Key and Value, or SAM's map."""
    tags = properties.get("Tags")
    if isinstance(tags, dict):
        return tags
    return {tag.get("Key"): tag.get("Value") for tag in tags or [] if isinstance(tag, dict)}


def taggable_types():
    """The resource types whose CloudFormation schema (cfn-lint's copy) takes Tags."""
    schemas = importlib.resources.files("cfnlint") / "data" / "schemas"
    providers = json.loads((schemas / "providers" / "eu-central-1.json").read_text())
    taggable = set()
    for kind, name in providers.items():
        if not kind.startswith("AWS::"):
            continue
        schema = json.loads((schemas / "resources" / f"{name}.json").read_text())
        tagging = schema.get("tagging", {})
        if tagging.get("taggable") and tagging.get("tagProperty", "/properties/Tags") == "/properties/Tags":
            taggable.add(kind)
    return taggable


def rate_seconds(expression):
    """The period of a `rate(N unit)` schedule expression in seconds, or None (cron, or not a rate)."""
    match = re.fullmatch(r"rate\((\d+) (\w+)\)", str(expression).strip())
    return int(match[1]) * RATE_UNITS[match[2]] if match and match[2] in RATE_UNITS else None


def number_range(value, parameters, absent, highest):
    """(least, default, most) a number property can take: a literal is all three, a Ref to a parameter takes the
    least and most of its AllowedValues or its MinValue and MaxValue (0 and `highest` where a bound is missing), and
    its Default; `absent` is used when the property is left out. None for anything else."""
    if value is None:
        return (absent,) * 3
    if isinstance(value, (int, str)) and str(value).isdigit():
        return (int(value),) * 3
    spec = parameters.get(value.get("Ref")) if isinstance(value, dict) else None
    if spec is None or "Default" not in spec:
        return None
    allowed = [int(item) for item in spec.get("AllowedValues", [])]
    least = min(allowed) if allowed else int(spec.get("MinValue", 0))
    most = max(allowed) if allowed else int(spec.get("MaxValue", highest))
    return least, int(spec["Default"]), most


class TranslatedTemplateTest(unittest.TestCase):
    """The stack of the parameters' defaults."""

    PARAMETERS: typing.ClassVar[dict] = {}

    @classmethod
    def setUpClass(cls):
        cls.template = stack(cls.PARAMETERS, path=os.environ.get("TEMPLATE_REVIEW_TEMPLATE"))
        cls.resources = cls.template["Resources"]
        cls.customer_managed = cls.PARAMETERS.get("EncryptionKeys") == "customer-managed"
        cls.operators = [arn for arn in cls.PARAMETERS.get("OperatorRoleArns", "").split(",") if arn]
        cls.senders = [arn for arn in cls.PARAMETERS.get("SenderRoleArns", "").split(",") if arn]
        cls.parameter_values = {
            name: str(cls.PARAMETERS.get(name, spec.get("Default", "")))
            for name, spec in cls.template.get("Parameters", {}).items()
        }

    def assertNoProblems(self, problems):
        if problems:
            self.fail("\n" + "\n".join(problems))

    def of_type(self, kind):
        return [logical_id for logical_id, resource in self.resources.items() if resource["Type"] == kind]

    def properties(self, logical_id):
        return self.resources[logical_id].get("Properties", {})

    def function_named(self, text):
        """The AWS::Lambda::Function whose FunctionName is !Sub text."""
        for logical_id in self.of_type("AWS::Lambda::Function"):
            if sub_text(self.properties(logical_id).get("FunctionName")) == text:
                return logical_id
        self.fail(f"no AWS::Lambda::Function has FunctionName !Sub {text!r}")

    def function_role(self, function):
        """The role of the template a function's Role is a Fn::GetAtt of; fails otherwise."""
        role = getatt_target(self.properties(function).get("Role"))
        self.assertTrue(
            role and role[0] in self.of_type("AWS::IAM::Role"),
            f"{function} (AWS::Lambda::Function) Role: {json.dumps(self.properties(function).get('Role'))} is not a"
            " Fn::GetAtt of a role in the template",
        )
        return role[0]

    def variable_ref(self, function, name, kind):
        """The logical ID or parameter a function's environment variable `name` is a Ref to, which must be of
        type `kind` (a resource type, or "Parameter"); fails otherwise."""
        value = dig(self.properties(function), ("Environment", "Variables", name))
        target = value.get("Ref") if isinstance(value, dict) else None
        known = self.template.get("Parameters", {}) if kind == "Parameter" else self.of_type(kind)
        self.assertIn(
            target,
            known,
            f"{function} (AWS::Lambda::Function) {name}: {json.dumps(value)} is not a Ref to a {kind} of the template",
        )
        return target

    def glue_table(self, name):
        """The logical ID and TableInput of the Glue table named `name`; fails if there is none."""
        for logical_id in self.of_type("AWS::Glue::Table"):
            table = self.properties(logical_id).get("TableInput", {})
            if table.get("Name") == name:
                return logical_id, table
        self.fail(f"no AWS::Glue::Table has TableInput.Name {name!r}")

    def consumer_queues(self, consumer):
        """(queue, dead-letter queue): the queue of the consumer's event source mapping and its RedrivePolicy's
        target."""
        for mapping in self.of_type("AWS::Lambda::EventSourceMapping"):
            properties = self.properties(mapping)
            if properties.get("FunctionName") in ({"Ref": consumer}, {"Fn::GetAtt": [consumer, "Arn"]}):
                source = getatt_target(properties.get("EventSourceArn"))
                self.assertIsNotNone(source, f"{mapping} (AWS::Lambda::EventSourceMapping) EventSourceArn: no GetAtt")
                queue = source[0]
                dead_letter = getatt_target(dig(self.properties(queue), ("RedrivePolicy", "deadLetterTargetArn")))
                self.assertIsNotNone(dead_letter, f"{queue} (AWS::SQS::Queue) RedrivePolicy: no dead-letter queue")
                return queue, dead_letter[0]
        self.fail(f"no AWS::Lambda::EventSourceMapping invokes {consumer}")

    def refers_to(self, value, logical_id):
        """Whether a value is a Ref or a Fn::GetAtt of the resource, or the resource's own name property."""
        resource = self.resources[logical_id]
        own_name = dig(resource.get("Properties", {}), NAME_PROPERTIES.get(resource["Type"], ("-",)))
        target = getatt_target(value)
        named = own_name is not None and value == own_name
        return value == {"Ref": logical_id} or bool(target and target[0] == logical_id) or named

    def raw_bucket(self):
        """The bucket the consumer writes (its BUCKET_NAME), which the compactor reads the landing zone from."""
        consumer = self.function_named("${Company}-consumer")
        compactor = self.function_named("${Company}-compactor")
        bucket = self.variable_ref(consumer, "BUCKET_NAME", "AWS::S3::Bucket")
        self.assertEqual(self.variable_ref(compactor, "BUCKET_NAME", "AWS::S3::Bucket"), bucket)
        return bucket

    def curated_bucket(self):
        """The bucket the compactor keeps the curated lake in (its CURATED_BUCKET), which is not the raw bucket."""
        compactor = self.function_named("${Company}-compactor")
        bucket = self.variable_ref(compactor, "CURATED_BUCKET", "AWS::S3::Bucket")
        self.assertNotEqual(bucket, self.raw_bucket(), "the curated lake is in the raw bucket")
        return bucket

    def bucket_key(self, bucket):
        """The KMS key of the template a bucket's default encryption names, or None (SSE-S3); fails on anything
        else."""
        rules = dig(self.properties(bucket), ("BucketEncryption", "ServerSideEncryptionConfiguration")) or []
        self.assertEqual(len(rules), 1, f"{bucket} (AWS::S3::Bucket) BucketEncryption: not one rule")
        default = rules[0].get("ServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm") == "AES256":
            return None
        key = getatt_target(default.get("KMSMasterKeyID"))
        self.assertTrue(
            default.get("SSEAlgorithm") == "aws:kms" and key and key[0] in self.of_type("AWS::KMS::Key"),
            f"{bucket} (AWS::S3::Bucket) BucketEncryption: {json.dumps(default)} is neither SSE-S3 nor SSE-KMS with"
            " a key of the template",
        )
        return key[0]

    def bucket_policy(self, bucket):
        """The statements of the bucket's AWS::S3::BucketPolicy; fails unless there is exactly one."""
        policies = [
            logical_id
            for logical_id in self.of_type("AWS::S3::BucketPolicy")
            if self.properties(logical_id).get("Bucket") == {"Ref": bucket}
        ]
        self.assertEqual(len(policies), 1, f"{bucket}: not exactly one AWS::S3::BucketPolicy")
        return policies[0], statements(self.properties(policies[0]).get("PolicyDocument"))

    def principal_exceptions(self, label, statement):
        """(roles, operators, problems) of a Deny to every principal but some: the roles of the template its
        ArnNotEquals aws:PrincipalArn names, the ARNs its ArnNotLike aws:PrincipalArn names. A problem is anything
        else that would narrow the Deny: another principal, key or operator, or an exception not a role's ARN."""
        problems = []
        if statement.get("Principal") not in ("*", {"AWS": "*"}):
            problems.append(f"{label}: Principal {json.dumps(statement.get('Principal'))}, not every principal")
        if "NotAction" in statement or "NotResource" in statement or "NotPrincipal" in statement:
            problems.append(f"{label}: NotAction, NotResource or NotPrincipal")
        condition = statement.get("Condition", {})
        keys = {(operator, key) for operator, block in condition.items() for key in block}
        extra = keys - {("ArnNotEquals", "aws:PrincipalArn"), ("ArnNotLike", "aws:PrincipalArn")}
        if extra:
            problems.append(f"{label}: Condition {sorted(extra)} narrows the Deny beyond who the principal is")
        roles = []
        for value in as_list(dig(condition, ("ArnNotEquals", "aws:PrincipalArn")) or []):
            target = getatt_target(value)
            if target and target[1] == "Arn" and target[0] in self.of_type("AWS::IAM::Role"):
                roles.append(target[0])
            else:
                problems.append(f"{label}: excepts {json.dumps(value)}, not the ARN of a role of the template")
        operators = as_list(dig(condition, ("ArnNotLike", "aws:PrincipalArn")) or [])
        return sorted(roles), operators, problems

    def object_pattern(self, resource):
        """A policy's Resource as a pattern of `${Bucket.Arn}/key`, the parameters it names replaced by this stack's
        values; a plain string as it is; None for anything else (a Ref or Fn::GetAtt names no object)."""
        if isinstance(resource, str):
            return resource
        text = sub_text(resource)
        if text is None:
            return None
        return re.sub(r"\$\{(\w+)\}", lambda name: self.parameter_values.get(name[1], name[0]), text)

    def sample_key(self, bucket, resource):
        """A key a policy's object Resource in `bucket` covers (`*` taken as `sample`), or None if it names no object
        of the bucket."""
        pattern, root = self.object_pattern(resource), f"${{{bucket}.Arn}}/"
        if pattern is None or not pattern.startswith(root):
            return None
        return pattern.removeprefix(root).replace("*", "sample").replace("?", "s")

    def refused_by_bucket_policy(self, bucket, who, action, key):
        """The Sids of the bucket policy's Deny statements that refuse `action` on `key` to `who` over TLS: `who` is
        a role of the template (its logical ID) or an ARN that is none of them. Fails on a statement it cannot
        evaluate."""
        policy, found = self.bucket_policy(bucket)
        arn = f"${{{bucket}.Arn}}/{key}"
        refusing = []
        for statement in found:
            label = f"{policy} (AWS::S3::BucketPolicy) statement {statement.get('Sid')}"
            condition = statement.get("Condition", {})
            if statement.get("Effect") != "Deny" or "aws:SecureTransport" in json.dumps(condition):
                continue
            if "NotAction" in statement or "NotPrincipal" in statement:
                self.fail(f"{label}: NotAction or NotPrincipal, which this check does not evaluate")
            if statement.get("Principal") not in ("*", {"AWS": "*"}):
                self.fail(f"{label}: Principal {json.dumps(statement.get('Principal'))}, not every principal")
            if not matches(statement.get("Action", []), action):
                continue
            outside = "NotResource" in statement
            patterns = [
                self.object_pattern(resource)
                for resource in as_list(statement.get("NotResource" if outside else "Resource"))
            ]
            if any(pattern is not None and fnmatch.fnmatchcase(arn, pattern) for pattern in patterns) == outside:
                continue
            applies = True
            for operator, block in condition.items():
                for name, values in block.items():
                    if name != "aws:PrincipalArn" or operator not in ARN_OPERATORS:
                        self.fail(f"{label}: cannot evaluate Condition {operator} {name}")
                    if operator in ("ArnEquals", "ArnNotEquals"):
                        hit = any(getatt_target(value) == (who, "Arn") or value == who for value in as_list(values))
                    else:
                        hit = any(
                            isinstance(value, str) and fnmatch.fnmatchcase(who, value) for value in as_list(values)
                        )
                    applies = applies and (hit if operator in ("ArnEquals", "ArnLike") else not hit)
            if applies:
                refusing.append(statement.get("Sid", "(no Sid)"))
        return refusing

    def test_no_physical_name_is_the_same_in_two_stacks(self):
        problems = []
        for logical_id, resource in self.resources.items():
            kind, properties = resource["Type"], resource.get("Properties", {})
            if kind in NAME_PROPERTIES:
                path = NAME_PROPERTIES[kind]
                named = {".".join(path): dig(properties, path)}
            else:
                skip = NOT_PHYSICAL_NAMES.get(kind, set())
                named = {
                    key: value
                    for key, value in properties.items()
                    if key.endswith("Name") and isinstance(value, str) and key not in skip
                }
            for key, value in named.items():
                if value is not None and not differs_per_stack(value, self.template):
                    sam_default = kind == "AWS::Scheduler::Schedule" and value == logical_id
                    hint = " (SAM's name for a ScheduleV2 event without Name)" if sam_default else ""
                    problems.append(
                        f"{logical_id} ({kind}) {key}: {json.dumps(value)}{hint} is the same in every stack; build it"
                        " from ${Company} or ${AWS::StackName}, refer to a resource of the stack, or leave it out"
                    )
        self.assertNoProblems(problems)

    def test_no_role_allows_an_sqs_or_s3_action_on_every_resource(self):
        problems = []
        for role_id in self.of_type("AWS::IAM::Role"):
            problems.extend(
                f"{role_id} (AWS::IAM::Role) ManagedPolicyArns: {name} allows {BROAD_MANAGED_POLICIES[name]}"
                for name in broad_managed_policies(self.properties(role_id))
            )
            for where, statement in role_statements(self.resources, role_id):
                if statement.get("Effect") != "Allow" or "*" not in as_list(statement.get("Resource")):
                    continue
                broad = [
                    action
                    for action in as_list(statement.get("Action", []))
                    if action == "*" or action.lower().startswith(("sqs:", "s3:"))
                ]
                if broad:
                    problems.append(
                        f"{role_id} (AWS::IAM::Role) {statement_label(where, statement)}: allows {broad} on *"
                    )
        self.assertNoProblems(problems)

    def test_the_consumer_reads_and_writes_only_what_it_must(self):
        consumer = self.function_named("${Company}-consumer")
        role = self.function_role(consumer)
        queue, dead_letter = self.consumer_queues(consumer)
        bucket = dig(self.properties(consumer), ("Environment", "Variables", "BUCKET_NAME", "Ref"))
        self.assertIn(bucket, self.of_type("AWS::S3::Bucket"), f"{consumer} BUCKET_NAME: not a Ref to a bucket")
        data_object = f"${{{bucket}.Arn}}/{DATA_KEY}"
        segments = f"${{{bucket}.Arn}}/{DATA_KEY.removesuffix('.json')}/*"
        partitions = f"${{{bucket}.Arn}}/${{PartitionPrefix}}*"
        errors = f"${{{bucket}.Arn}}/${{ErrorPrefix}}*"
        may = {
            "s3:getobject": {data_object, segments},
            "s3:putobject": {data_object, segments, partitions, errors},
            "s3:abortmultipartupload": {data_object, segments, partitions},
        }
        must = {("s3:getobject", data_object), ("s3:putobject", data_object), ("s3:putobject", partitions)}
        must |= {("s3:putobject", errors)}
        must |= {("s3:getobject", segments), ("s3:putobject", segments)}
        must |= {(action.lower(), queue) for action in CONSUMER_SQS_ACTIONS}
        problems = [
            f"{role} (AWS::IAM::Role) ManagedPolicyArns: {name} allows {BROAD_MANAGED_POLICIES[name]}"
            for name in broad_managed_policies(self.properties(role))
        ]
        for where, statement in role_statements(self.resources, role):
            if statement.get("Effect") != "Allow":
                continue
            label = f"{role} (AWS::IAM::Role) {statement_label(where, statement)}"
            resources = as_list(statement.get("Resource"))
            for action in as_list(statement.get("Action", [])):
                lowered = action.lower()
                if lowered == "s3:listbucket":
                    problems.append(f"{label}: allows s3:ListBucket, which the consumer must not have")
                elif lowered == "*" or (lowered.startswith("s3:") and lowered not in may):
                    problems.append(
                        f"{label}: allows {action}; of S3 it may have only {', '.join(CONSUMER_S3_ACTIONS)}"
                    )
                elif lowered.startswith("s3:"):
                    for resource in resources:
                        if sub_text(resource) not in may[lowered]:
                            allowed = " and ".join(f"!Sub {arn!r}" for arn in sorted(may[lowered]))
                            problems.append(f"{label}: allows {action} on {json.dumps(resource)}; only on {allowed}")
                        must.discard((lowered, sub_text(resource)))
                elif lowered.startswith("kms:"):
                    key = self.bucket_key(bucket)
                    if key is None or any(getatt_target(resource) != (key, "Arn") for resource in resources):
                        problems.append(f"{label}: allows {action} on {resources}; only on the raw bucket's key")
                elif lowered.startswith("sqs:"):
                    if action not in CONSUMER_SQS_ACTIONS:
                        problems.append(f"{label}: allows {action}; of SQS it may have only {CONSUMER_SQS_ACTIONS}")
                    for resource in resources:
                        target = getatt_target(resource)
                        if target != (queue, "Arn"):
                            which = " (the dead-letter queue)" if target and target[0] == dead_letter else ""
                            problems.append(
                                f"{label}: allows {action} on {json.dumps(resource)}{which}; only on"
                                f" !GetAtt {queue}.Arn"
                            )
                        else:
                            must.discard((lowered, queue))
        names = {action.lower(): action for action in CONSUMER_S3_ACTIONS + CONSUMER_SQS_ACTIONS}
        problems += [
            f"{role} (AWS::IAM::Role): no statement allows {names[action]} on "
            + (f"!GetAtt {queue}.Arn" if what == queue else f"!Sub {what!r}")
            for action, what in sorted(must)
        ]
        self.assertNoProblems(problems)

    def test_the_compactor_reads_and_writes_only_what_it_must(self):
        compactor = self.function_named("${Company}-compactor")
        role = self.function_role(compactor)
        bucket = self.raw_bucket()
        lake = self.curated_bucket()
        secret = self.variable_ref(compactor, "PSEUDONYM_SECRET_ARN", "AWS::SecretsManager::Secret")
        landing = self.variable_ref(compactor, "PARTITION_PREFIX", "Parameter")
        curated = self.variable_ref(compactor, "CURATED_PREFIX", "Parameter")
        # An erasure rewrites the consumer's error output too.
        errors = self.variable_ref(compactor, "ERROR_PREFIX", "Parameter")
        consumer = self.function_named("${Company}-consumer")
        self.assertEqual(
            errors,
            self.variable_ref(consumer, "ERROR_PREFIX", "Parameter"),
            "the compactor erases from another error output than the consumer writes",
        )
        log_group = dig(self.properties(compactor), ("LoggingConfig", "LogGroup", "Ref"))
        self.assertIn(log_group, self.of_type("AWS::Logs::LogGroup"), f"{compactor} LoggingConfig.LogGroup: not a Ref")
        raw_objects = {
            f"!Sub '${{{bucket}.Arn}}/{DATA_KEY}'",
            f"!Sub '${{{bucket}.Arn}}/{DATA_KEY.removesuffix('.json')}/*'",
            f"!Sub '${{{bucket}.Arn}}/${{{landing}}}*'",
            f"!Sub '${{{bucket}.Arn}}/${{{errors}}}*'",
        }
        erasure_records = {f"!Sub '${{{bucket}.Arn}}/{ERASURE_RECEIPTS}*'", f"!Sub '${{{bucket}.Arn}}/{ERASED}'"}
        requests = f"!Sub '${{{bucket}.Arn}}/{ERASURE_REQUESTS}*'"
        erasure_pass = f"!Sub '${{{bucket}.Arn}}/{ERASURE_PASS}'"
        # (action, resource) -> the statement's Condition, with Subs as resource_label writes them.
        rights = {
            ("logs:CreateLogStream", f"!GetAtt {log_group}.Arn"): None,
            ("logs:PutLogEvents", f"!GetAtt {log_group}.Arn"): None,
            # Unconditioned: with a prefix condition S3 would answer a missing state with 403, not 404.
            ("s3:ListBucket", f"!GetAtt {bucket}.Arn"): None,
            ("s3:ListBucket", f"!GetAtt {lake}.Arn"): None,
            ("s3:GetObject", f"!Sub '${{{bucket}.Arn}}/${{{landing}}}*'"): None,
            # A rebuild reads the array's history: the live array and its sealed segments (HEAD is a GetObject).
            ("s3:GetObject", f"!Sub '${{{bucket}.Arn}}/{DATA_KEY}'"): None,
            ("s3:GetObject", f"!Sub '${{{bucket}.Arn}}/{DATA_KEY.removesuffix('.json')}/*'"): None,
            ("s3:GetObject", f"!Sub '${{{lake}.Arn}}/${{{curated}}}*'"): None,
            ("s3:PutObject", f"!Sub '${{{lake}.Arn}}/${{{curated}}}*'"): None,
            ("s3:DeleteObject", f"!Sub '${{{lake}.Arn}}/${{{curated}}}*'"): None,
            ("secretsmanager:GetSecretValue", f"!Ref {secret}"): None,
            # Erasure: take a request and delete it once finished, move a malformed one to refused/ (then delete it).
            ("s3:GetObject", requests): None,
            ("s3:DeleteObject", requests): None,
            ("s3:PutObject", f"!Sub '${{{bucket}.Arn}}/{ERASURE_REFUSED}*'"): None,
        }
        # Receipts and the erased persons: written, and read back after a crash.
        rights |= {(action, record): None for action in ("s3:GetObject", "s3:PutObject") for record in erasure_records}
        # The pass under way: where a run goes on, deleted when it ends.
        rights |= {(action, erasure_pass): None for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")}
        # Every raw object that can hold an erased person's records is read and rewritten, in one PUT or a multipart
        # upload (UploadPartCopy from the object itself), which it aborts if it fails; never deleted.
        rights |= {
            (action, raw_object): None
            for action in ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload")
            for raw_object in raw_objects
        }
        raw_key, curated_key = self.bucket_key(bucket), self.bucket_key(lake)
        # SSE-KMS: reading the landing zone, the array's history and the secret decrypts with the raw key, and an
        # erasure's writes encrypt with it; the lake is read and written.
        if raw_key:
            rights[("kms:Decrypt", f"!GetAtt {raw_key}.Arn")] = None
            rights[("kms:GenerateDataKey", f"!GetAtt {raw_key}.Arn")] = None
        if curated_key:
            rights[("kms:Decrypt", f"!GetAtt {curated_key}.Arn")] = None
            rights[("kms:GenerateDataKey", f"!GetAtt {curated_key}.Arn")] = None
        wanted = {(action.lower(), resource): condition for (action, resource), condition in rights.items()}
        names = {action.lower(): action for action, _ in rights}
        problems = [
            f"{role} (AWS::IAM::Role) ManagedPolicyArns: {json.dumps(arn)}; the compactor's role has only its inline"
            " policy"
            for arn in self.properties(role).get("ManagedPolicyArns", [])
        ]
        granted = set()
        for where, statement in role_statements(self.resources, role):
            label = f"{role} (AWS::IAM::Role) {statement_label(where, statement)}"
            if statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement or "NotResource" in statement:
                problems.append(f"{label}: NotAction or NotResource allows more than it names")
                continue
            condition = statement.get("Condition")
            if condition is not None:
                condition = {
                    operator: {
                        key: sorted(resource_label(value) for value in as_list(values)) for key, values in keys.items()
                    }
                    for operator, keys in condition.items()
                }
            for action in as_list(statement.get("Action", [])):
                for resource in as_list(statement.get("Resource")):
                    grant = (action.lower(), resource_label(resource))
                    if grant not in wanted:
                        problems.append(f"{label}: allows {action} on {grant[1]}, which the compactor must not have")
                    elif condition != wanted[grant]:
                        problems.append(
                            f"{label}: {action} on {grant[1]} has Condition {json.dumps(condition)}; wanted"
                            f" {json.dumps(wanted[grant])}"
                        )
                    granted.add(grant)
        problems += [
            f"{role} (AWS::IAM::Role): no statement allows {names[action]} on {resource}"
            for action, resource in sorted(set(wanted) - granted)
        ]
        self.assertNoProblems(problems)

    def test_the_compactor_rewrites_the_array_and_its_segments_but_never_deletes_them(self):
        """A rebuild reads the consumer's array (the compactor's DATA_KEY is the consumer's) and its sealed segments,
        and an erasure rewrites them: the compactor's role allows s3:GetObject and s3:PutObject on both and no other
        object write but aborting an upload, and the raw bucket's policy refuses it none of these and every
        delete."""
        consumer = self.function_named("${Company}-consumer")
        compactor = self.function_named("${Company}-compactor")
        role = self.function_role(compactor)
        bucket = self.raw_bucket()
        problems = []
        keys = {
            function: dig(self.properties(function), ("Environment", "Variables", "DATA_KEY"))
            for function in (consumer, compactor)
        }
        if not keys[compactor] == keys[consumer] == DATA_KEY:
            problems.append(
                f"{compactor} (AWS::Lambda::Function) DATA_KEY: {json.dumps(keys[compactor])}, not the consumer's"
                f" {json.dumps(keys[consumer])} ({DATA_KEY!r})"
            )
        history = (DATA_KEY, f"{DATA_KEY.removesuffix('.json')}/00000001.json")
        rewrites = ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload")
        granted = set()
        for where, statement in role_statements(self.resources, role):
            if statement.get("Effect") != "Allow":
                continue
            label = f"{role} (AWS::IAM::Role) {statement_label(where, statement)}"
            actions = as_list(statement.get("Action", []))
            for resource in as_list(statement.get("Resource")):
                pattern = self.object_pattern(resource)
                for key in history:
                    if pattern is None or not fnmatch.fnmatchcase(f"${{{bucket}.Arn}}/{key}", pattern):
                        continue
                    granted |= {(action, key) for action in rewrites if matches(actions, action)}
                    written = [
                        action for action in OBJECT_WRITES if action not in rewrites and matches(actions, action)
                    ]
                    if written:
                        problems.append(
                            f"{label}: allows {', '.join(written)} on {resource_label(resource)}, which reaches {key};"
                            " the compactor only reads and rewrites the array and its segments"
                        )
        problems += [
            f"{role} (AWS::IAM::Role): no statement allows {action} on {key}, which a rebuild reads and an erasure"
            " rewrites"
            for action in ("s3:GetObject", "s3:PutObject")
            for key in history
            if (action, key) not in granted
        ]
        policy, _ = self.bucket_policy(bucket)
        for key in history:
            for action in rewrites:
                refusing = self.refused_by_bucket_policy(bucket, role, action, key)
                if refusing:
                    problems.append(f"{policy} (AWS::S3::BucketPolicy) {refusing}: refuse {action} on {key} to {role}")
            for action in ("s3:DeleteObject", "s3:DeleteObjectVersion"):
                if not self.refused_by_bucket_policy(bucket, role, action, key):
                    problems.append(f"{policy} (AWS::S3::BucketPolicy): no Deny refuses {action} on {key} to {role}")
        self.assertNoProblems(problems)

    def test_the_raw_bucket_refuses_the_functions_none_of_their_rights_and_the_compactor_writes_but_to_erase(self):
        """The raw bucket's policy refuses the consumer's and the compactor's roles none of the object rights their
        roles allow in it. Of the compactor's, it refuses every write but to erase (the raw data's objects, a refused
        request, receipts, the erased persons, the pass) and every delete but of an erasure request and the pass: no
        request written, no raw object, receipt or erased person deleted. A principal that is neither a function nor
        an operator may read, write and delete no object, the erasure places among them; an operator may."""
        bucket = self.raw_bucket()
        consumer, compactor = (
            self.function_role(self.function_named(f"${{Company}}-{name}")) for name in ("consumer", "compactor")
        )
        policy, _ = self.bucket_policy(bucket)
        label = f"{policy} (AWS::S3::BucketPolicy)"
        problems = []
        for role in (consumer, compactor):
            for where, statement in role_statements(self.resources, role):
                if statement.get("Effect") != "Allow":
                    continue
                for resource in as_list(statement.get("Resource")):
                    key = self.sample_key(bucket, resource)
                    if key is None:
                        continue
                    for action in as_list(statement.get("Action", [])):
                        refusing = self.refused_by_bucket_policy(bucket, role, action, key)
                        if refusing:
                            problems.append(
                                f"{label} {refusing}: refuse {action} on {key} to {role}, which"
                                f" {statement_label(where, statement)} allows"
                            )
        landing = self.parameter_values["PartitionPrefix"] + "dt=2026-11-29/sample.ndjson"
        errors = self.parameter_values["ErrorPrefix"] + "sample.json"
        segment = f"{DATA_KEY.removesuffix('.json')}/00000001.json"
        request = f"{ERASURE_REQUESTS}sample.json"
        records = [f"{ERASURE_REFUSED}sample.json", f"{ERASURE_RECEIPTS}sample.json", ERASED]
        elsewhere = [f"{RESULTS_PREFIX}sample.csv", "sample.json", "erasure/sample.json"]
        refused = {
            "s3:PutObject": [request, *elsewhere],
            "s3:AbortMultipartUpload": [request, *elsewhere],
            "s3:DeleteObject": [DATA_KEY, segment, landing, errors, *records, *elsewhere],
            "s3:DeleteObjectVersion": [DATA_KEY, segment, landing, errors, *records],
        }
        problems += [
            f"{label}: no Deny refuses {action} on {key} to {compactor}"
            for action, keys in refused.items()
            for key in keys
            if not self.refused_by_bucket_policy(bucket, compactor, action, key)
        ]
        every_key = [DATA_KEY, segment, landing, errors, request, ERASURE_PASS, *records, *elsewhere]
        for action in ("s3:GetObject", *OBJECT_WRITES):
            for key in every_key:
                if not self.refused_by_bucket_policy(bucket, OUTSIDER, action, key):
                    problems.append(f"{label}: no Deny refuses {action} on {key} to {OUTSIDER}")
                for operator in self.operators:
                    refusing = self.refused_by_bucket_policy(bucket, operator, action, key)
                    if refusing and action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
                        problems.append(f"{label} {refusing}: refuse {action} on {key} to the operator {operator}")
        self.assertNoProblems(problems)

    def test_the_pseudonym_key_is_generated_at_deploy_and_never_written_down(self):
        problems = []
        for secret in self.of_type("AWS::SecretsManager::Secret"):
            properties = self.properties(secret)
            if "SecretString" in properties:
                problems.append(f"{secret} (AWS::SecretsManager::Secret) SecretString: the value is in the template")
            if "GenerateSecretString" not in properties:
                problems.append(f"{secret} (AWS::SecretsManager::Secret): no GenerateSecretString")
        compactor = self.function_named("${Company}-compactor")
        secret = self.variable_ref(compactor, "PSEUDONYM_SECRET_ARN", "AWS::SecretsManager::Secret")
        generated = self.properties(secret).get("GenerateSecretString", {})
        label = f"{secret} (AWS::SecretsManager::Secret) GenerateSecretString"
        if generated.get("GenerateStringKey") != SECRET_KEY_FIELD:
            problems.append(f"{label}.GenerateStringKey: not {SECRET_KEY_FIELD!r}, the field the compactor reads")
        try:
            shape = json.loads(generated.get("SecretStringTemplate", ""))
        except json.JSONDecodeError:
            shape = None
        if not (isinstance(shape, dict) and set(shape) == {"version"} and isinstance(shape["version"], int)):
            problems.append(f'{label}.SecretStringTemplate: not JSON of the form {{"version": N}}')
        if int(generated.get("PasswordLength", 32)) < SECRET_MIN_KEY_LENGTH:
            problems.append(f"{label}.PasswordLength: under the {SECRET_MIN_KEY_LENGTH} bytes the compactor needs")
        for function in self.of_type("AWS::Lambda::Function"):
            variables = dig(self.properties(function), ("Environment", "Variables")) or {}
            for name, value in variables.items():
                if self.refers_to(value, secret) and name != "PSEUDONYM_SECRET_ARN":
                    problems.append(f"{function} (AWS::Lambda::Function) {name}: refers to {secret}")
                if "resolve:secretsmanager" in json.dumps(value):
                    problems.append(f"{function} (AWS::Lambda::Function) {name}: resolves a secret's value")
        self.assertNoProblems(problems)

    def test_the_tables_read_where_the_consumer_and_the_compactor_write(self):
        compactor = self.function_named("${Company}-compactor")
        consumer = self.function_named("${Company}-consumer")
        bucket = self.raw_bucket()
        lake = self.curated_bucket()
        curated = self.variable_ref(compactor, "CURATED_PREFIX", "Parameter")
        landing = self.variable_ref(consumer, "PARTITION_PREFIX", "Parameter")
        self.assertEqual(
            self.variable_ref(compactor, "PARTITION_PREFIX", "Parameter"),
            landing,
            "the compactor reads another landing prefix than the consumer writes",
        )
        root = f"s3://${{{lake}}}/${{{curated}}}{MANIFESTS}"
        expected = {
            CURATED_TABLE: {
                "Location": root,
                "storage.location.template": root + "dt=${!dt}/",
                "InputFormat": SYMLINK_INPUT_FORMAT,
                "SerializationLibrary": PARQUET_SERDE,
                "classification": "parquet",
            },
            LANDING_TABLE: {
                "Location": f"s3://${{{bucket}}}/${{{landing}}}",
                "storage.location.template": f"s3://${{{bucket}}}/${{{landing}}}dt=${{!dt}}/",
                "classification": "json",
            },
        }
        problems = []
        for name, wanted in expected.items():
            logical_id, table = self.glue_table(name)
            parameters = table.get("Parameters", {})
            found = {
                "Location": sub_text(dig(table, ("StorageDescriptor", "Location"))),
                "storage.location.template": sub_text(parameters.get("storage.location.template")),
                "InputFormat": dig(table, ("StorageDescriptor", "InputFormat")),
                "SerializationLibrary": dig(table, ("StorageDescriptor", "SerdeInfo", "SerializationLibrary")),
                "classification": parameters.get("classification"),
                "projection.enabled": parameters.get("projection.enabled"),
                "partition keys": [key.get("Name") for key in table.get("PartitionKeys", [])],
            }
            wanted = {**wanted, "projection.enabled": "true", "partition keys": ["dt"]}
            problems += [
                f"{logical_id} (AWS::Glue::Table {name}) {key}: {found[key]!r}, not {value!r}"
                for key, value in wanted.items()
                if found[key] != value
            ]
        self.assertNoProblems(problems)

    def test_the_consumer_refuses_records_outside_its_window_of_days(self):
        """MAX_RECORD_AGE_DAYS is MaxRecordAgeDays, 30 days unless the deployer says (1 to 366), and below
        CuratedRetentionDays when that is set: an older record would land in a partition the compactor leaves to
        expire."""
        consumer = self.function_named("${Company}-consumer")
        parameter = self.variable_ref(consumer, "MAX_RECORD_AGE_DAYS", "Parameter")
        parameters = self.template.get("Parameters", {})
        self.assertEqual(parameter, "MaxRecordAgeDays")
        self.assertEqual(parameters[parameter].get("Type"), "Number")
        self.assertEqual(number_range({"Ref": parameter}, parameters, None, None), (1, 30, 366))
        days = int(self.PARAMETERS.get(parameter, parameters[parameter]["Default"]))
        retention = int(self.PARAMETERS.get("CuratedRetentionDays", parameters["CuratedRetentionDays"]["Default"]))
        if retention:
            self.assertLess(days, retention, f"{parameter} {days} is not below CuratedRetentionDays {retention}")

    def test_the_tables_project_up_to_the_day_after_today(self):
        """The consumer accepts a record up to a day ahead of the time SQS took it, so tomorrow's partition can hold
        records; a projection ending at NOW would hide them until the day comes."""
        problems = []
        for name in (CURATED_TABLE, LANDING_TABLE):
            logical_id, table = self.glue_table(name)
            parameters = table.get("Parameters", {})
            found = str(parameters.get("projection.dt.range", ""))
            if parameters.get("projection.dt.type") != "date" or found.split(",")[-1] != PROJECTION_END:
                problems.append(
                    f"{logical_id} (AWS::Glue::Table {name}) projection.dt.range: {found!r} does not end at"
                    f" {PROJECTION_END}"
                )
        self.assertNoProblems(problems)

    def test_landing_objects_expire_well_after_the_compactor_takes_them(self):
        compactor = self.function_named("${Company}-compactor")
        bucket = self.variable_ref(compactor, "BUCKET_NAME", "AWS::S3::Bucket")
        landing = self.variable_ref(compactor, "PARTITION_PREFIX", "Parameter")
        parameters = self.template.get("Parameters", {})
        rules = [
            rule
            for rule in dig(self.properties(bucket), ("LifecycleConfiguration", "Rules")) or []
            if rule.get("Status") == "Enabled"
            and "ExpirationInDays" in rule
            and {"Ref": landing} in (rule.get("Prefix"), dig(rule, ("Filter", "Prefix")))
        ]
        if not rules:
            self.fail(
                f"{bucket} (AWS::S3::Bucket) LifecycleConfiguration.Rules: no enabled rule with ExpirationInDays on"
                f" !Ref {landing}; raw personal data would stay in the landing zone"
            )
        days = number_range(rules[0]["ExpirationInDays"], parameters, None, S3_MAX_EXPIRATION_DAYS)
        self.assertIsNotNone(days, f"{bucket} expire-landing ExpirationInDays: cannot evaluate")
        grace = number_range(
            dig(self.properties(compactor), ("Environment", "Variables", "COMPACT_GRACE_SECS")),
            parameters,
            COMPACTOR_DEFAULT_GRACE,
            COMPACTOR_MAX_GRACE,
        )
        self.assertIsNotNone(grace, f"{compactor} COMPACT_GRACE_SECS: cannot evaluate")
        schedules = [
            self.properties(schedule).get("ScheduleExpression")
            for schedule in self.of_type("AWS::Scheduler::Schedule")
            if self.refers_to(dig(self.properties(schedule), ("Target", "Arn")), compactor)
        ]
        self.assertEqual(len(schedules), 1, f"{compactor}: not exactly one AWS::Scheduler::Schedule invokes it")
        expression = schedules[0]
        if isinstance(expression, dict) and "Ref" in expression:
            expression = parameters.get(expression["Ref"], {}).get("Default")
        period = rate_seconds(expression)
        self.assertIsNotNone(period, f"the compactor's schedule {expression!r}: not a rate(N unit) to compare with")
        least_days, default_days, _ = days
        # A day's margin beyond one run's wait: a compactor down for a day loses nothing.
        needed = grace[1] + period + DAY_SECONDS
        problems = [
            f"{bucket} (AWS::S3::Bucket) expire-landing: {label} {value} days is not well above the default grace"
            f" ({grace[1]} s) plus a run's period ({period} s) and a day"
            for label, value in (("by default", default_days), ("at its least", least_days))
            if value * DAY_SECONDS < needed
        ]
        self.assertNoProblems(problems)

    def test_every_function_logs_to_a_log_group_that_expires(self):
        problems = []
        for function in self.of_type("AWS::Lambda::Function"):
            log_group = dig(self.properties(function), ("LoggingConfig", "LogGroup"))
            target = log_group.get("Ref") if isinstance(log_group, dict) else None
            if target not in self.of_type("AWS::Logs::LogGroup"):
                problems.append(
                    f"{function} (AWS::Lambda::Function) LoggingConfig.LogGroup: {json.dumps(log_group)} is not a Ref"
                    " to a log group of the template; Lambda's own would keep the logs forever"
                )
            elif "RetentionInDays" not in self.properties(target):
                problems.append(f"{target} (AWS::Logs::LogGroup): no RetentionInDays, so the logs never expire")
        self.assertNoProblems(problems)

    def test_the_queue_keeps_messages_for_less_time_than_its_dead_letter_queue(self):
        parameters = self.template.get("Parameters", {})
        problems = []
        for queue in self.of_type("AWS::SQS::Queue"):
            target = getatt_target(dig(self.properties(queue), ("RedrivePolicy", "deadLetterTargetArn")))
            if target is None:
                continue
            dead_letter = target[0]
            retention = {}
            for logical_id in (queue, dead_letter):
                value = self.properties(logical_id).get("MessageRetentionPeriod")
                retention[logical_id] = number_range(value, parameters, SQS_DEFAULT_RETENTION, SQS_MAX_RETENTION)
                if retention[logical_id] is None:
                    problems.append(f"{logical_id} (AWS::SQS::Queue) MessageRetentionPeriod: cannot evaluate {value}")
            if None in retention.values():
                continue
            _, default, most = retention[queue]
            least_dead, default_dead, _ = retention[dead_letter]
            cases = {(default, default_dead): ["by default"]}
            cases.setdefault((most, least_dead), []).append("with its most against the dead-letter queue's least")
            value = json.dumps(self.properties(queue).get("MessageRetentionPeriod"))
            for (kept, kept_dead), labels in cases.items():
                if kept >= kept_dead:
                    problems.append(
                        f"{queue} (AWS::SQS::Queue) MessageRetentionPeriod {value}: {kept} s ({'; '.join(labels)})"
                        f" is not less than {dead_letter}'s MessageRetentionPeriod {kept_dead} s; the dead-letter"
                        " queue counts a message's age from its first enqueue, so one that waited long would expire"
                        " there unseen"
                    )
        self.assertNoProblems(problems)

    def test_athena_results_are_enforced_encrypted_and_expire(self):
        problems = []
        workgroups = self.of_type("AWS::Athena::WorkGroup")
        self.assertTrue(workgroups, "no AWS::Athena::WorkGroup")
        for workgroup in workgroups:
            label = f"{workgroup} (AWS::Athena::WorkGroup)"
            configuration = self.properties(workgroup).get("WorkGroupConfiguration", {})
            if configuration.get("EnforceWorkGroupConfiguration") not in (True, "true"):
                problems.append(f"{label} WorkGroupConfiguration.EnforceWorkGroupConfiguration: not true")
            results = configuration.get("ResultConfiguration", {})
            if "EncryptionConfiguration" not in results:
                problems.append(f"{label} WorkGroupConfiguration.ResultConfiguration.EncryptionConfiguration: absent")
            location = re.fullmatch(r"s3://\$\{(\w+)\}/(.*)", sub_text(results.get("OutputLocation")) or "")
            if location is None or location[1] not in self.of_type("AWS::S3::Bucket"):
                problems.append(
                    f"{label} WorkGroupConfiguration.ResultConfiguration.OutputLocation: not !Sub"
                    " 's3://${Bucket}/prefix/' with a bucket of the template"
                )
                continue
            bucket, prefix = location[1], location[2]
            rules = dig(self.properties(bucket), ("LifecycleConfiguration", "Rules")) or []
            expiring = [
                rule.get("Prefix") or dig(rule, ("Filter", "Prefix"))
                for rule in rules
                if rule.get("Status") == "Enabled" and "ExpirationInDays" in rule
            ]
            if not any(rule_prefix and prefix.startswith(rule_prefix) for rule_prefix in expiring):
                problems.append(
                    f"{bucket} (AWS::S3::Bucket) LifecycleConfiguration.Rules: no enabled rule with ExpirationInDays"
                    f" on {workgroup}'s results prefix {prefix!r}"
                )
        self.assertNoProblems(problems)

    def test_the_pipeline_has_alarms_and_a_dashboard(self):
        consumer = self.function_named("${Company}-consumer")
        functions = [self.function_named(f"${{Company}}-{name}") for name in ("producer", "consumer", "compactor")]
        functions += [function for function in self.of_type("AWS::Lambda::Function") if function not in functions]
        queue, dead_letter = self.consumer_queues(consumer)
        wanted = [
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dead_letter),
            ("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queue),
            ("AWS/Lambda", "Throttles", "FunctionName", consumer),
            *[("AWS/Lambda", "Errors", "FunctionName", function) for function in functions],
        ]
        metrics = []
        for alarm in self.of_type("AWS::CloudWatch::Alarm"):
            properties = self.properties(alarm)
            metrics += [properties] if "MetricName" in properties else []
            metrics += [dig(query, ("MetricStat", "Metric")) or {} for query in properties.get("Metrics", [])]
        problems = [
            f"no AWS::CloudWatch::Alarm on {namespace} {metric_name} with dimension {dimension} = {logical_id}"
            for namespace, metric_name, dimension, logical_id in wanted
            if not any(
                metric.get("Namespace") == namespace
                and metric.get("MetricName") == metric_name
                and any(
                    item.get("Name") == dimension and self.refers_to(item.get("Value"), logical_id)
                    for item in metric.get("Dimensions", [])
                )
                for metric in metrics
            )
        ]
        dashboards = self.of_type("AWS::CloudWatch::Dashboard")
        if not dashboards:
            problems.append("no AWS::CloudWatch::Dashboard")
        bodies = " ".join(json.dumps(self.properties(dashboard).get("DashboardBody")) for dashboard in dashboards)
        problems += [
            f"{logical_id} ({self.resources[logical_id]['Type']}) is on no AWS::CloudWatch::Dashboard"
            for logical_id in [*functions, *self.of_type("AWS::CloudWatch::Alarm")]
            if dashboards and not re.search(rf"\$\{{{logical_id}[}}.]", bodies)
        ]
        self.assertNoProblems(problems)

    def test_every_dashboard_body_is_json_once_substituted(self):
        """CloudFormation takes the body as a string; CloudWatch refuses the deployment if it is not JSON."""
        for dashboard in self.of_type("AWS::CloudWatch::Dashboard"):
            body = self.properties(dashboard)["DashboardBody"]
            text = body["Fn::Sub"] if isinstance(body, dict) else body
            text = text[0] if isinstance(text, list) else text
            try:
                document = json.loads(re.sub(r"\$\{[^}]+\}", "substituted", text))
            except json.JSONDecodeError as error:
                self.fail(f"{dashboard} (AWS::CloudWatch::Dashboard) DashboardBody: not JSON: {error}")
            self.assertTrue(document.get("widgets"), f"{dashboard} (AWS::CloudWatch::Dashboard) has no widgets")

    def test_only_the_functions_and_operators_read_or_write_raw_objects(self):
        """The raw bucket's policy denies every object read and every object write to all but the consumer's and the
        compactor's roles and OperatorRoleArns, whatever identity policies allow; it allows nothing. (Which writes
        it leaves the compactor, only those of an erasure, is
        test_the_raw_bucket_refuses_the_functions_none_of_their_rights_and_the_compactor_writes_but_to_erase's.)"""
        bucket = self.raw_bucket()
        readers = sorted(
            self.function_role(self.function_named(f"${{Company}}-{name}")) for name in ("consumer", "compactor")
        )
        writers = readers
        policy, found = self.bucket_policy(bucket)
        objects = f"${{{bucket}.Arn}}/*"
        problems = [
            f"{policy} (AWS::S3::BucketPolicy) {statement_label('', statement).lstrip(', ')}: allows"
            for statement in found
            if statement.get("Effect") != "Deny"
        ]
        for kind, actions, roles in (("read", OBJECT_READS, readers), ("write", OBJECT_WRITES, writers)):
            denies = [
                statement
                for statement in found
                if statement.get("Effect") == "Deny"
                and "Condition" in statement
                and "aws:SecureTransport" not in json.dumps(statement["Condition"])
                and any(sub_text(resource) == objects for resource in as_list(statement.get("Resource")))
                and any(matches(statement.get("Action", []), action) for action in actions)
            ]
            for action in actions:
                covering = [statement for statement in denies if matches(statement["Action"], action)]
                if not covering:
                    problems.append(f"{policy} (AWS::S3::BucketPolicy): no Deny of {action} on !Sub {objects!r}")
                    continue
                exceptions = [
                    self.principal_exceptions(
                        f"{policy} (AWS::S3::BucketPolicy) statement {statement.get('Sid')}", statement
                    )
                    for statement in covering
                ]
                problems += [problem for _, _, found in exceptions for problem in found]
                # Denied if any statement denies it: a principal is excepted only if every statement excepts it.
                excepted = set.intersection(*(set(found_roles) for found_roles, _, _ in exceptions))
                operators = set.intersection(*(set(found_operators) for _, found_operators, _ in exceptions))
                label = f"{policy} (AWS::S3::BucketPolicy) {action}"
                # The functions need their own reads and writes: those actions except exactly them.
                if action in ("s3:GetObject", "s3:PutObject") and sorted(excepted) != roles:
                    problems.append(f"{label}: denied to all but {sorted(excepted)}, not {roles}")
                elif not excepted <= set(roles):
                    extra = sorted(excepted - set(roles))
                    problems.append(f"{label}: not denied to {extra}; only {roles} may {kind} raw objects")
                if operators != set(self.operators):
                    problems.append(f"{label}: denied to all operators but {sorted(operators)}, not {self.operators}")
        self.assertNoProblems(problems)

    def queue_policy_exceptions(self, queues, action, role, others, who):
        """Problems with the queues' Deny of `action`: one per queue (not the TLS one), excepting `role` alone and
        the ARNs of `others`, the parameter `who` names."""
        problems = []
        for queue in sorted(queues):
            denies = [
                (policy, statement)
                for policy in self.of_type("AWS::SQS::QueuePolicy")
                if {"Ref": queue} in self.properties(policy).get("Queues", [])
                for statement in statements(self.properties(policy).get("PolicyDocument"))
                if statement.get("Effect") == "Deny"
                and matches(statement.get("Action", []), action)
                and (queue, "Arn") in map(getatt_target, as_list(statement.get("Resource")))
                and "aws:SecureTransport" not in json.dumps(statement.get("Condition", {}))
            ]
            if len(denies) != 1:
                problems.append(f"{queue} (AWS::SQS::Queue): not one Deny of {action} in its policy")
            for policy, statement in denies:
                label = f"{policy} (AWS::SQS::QueuePolicy) statement {statement.get('Sid')}"
                excepted, found_others, found = self.principal_exceptions(label, statement)
                problems += found
                if excepted != [role]:
                    problems.append(f"{label}: excepts {excepted}, not the role {role} alone")
                if found_others != others:
                    problems.append(f"{label}: excepts the {who} {found_others}, not {others}")
        return problems

    def test_only_the_consumer_and_operators_receive_messages(self):
        """Messages are raw records: the queues' policy denies sqs:ReceiveMessage on the queue and its dead-letter
        queue to all but the consumer's role and OperatorRoleArns."""
        consumer = self.function_named("${Company}-consumer")
        role = self.function_role(consumer)
        queues = set(self.consumer_queues(consumer))
        self.assertNoProblems(
            self.queue_policy_exceptions(queues, "sqs:ReceiveMessage", role, self.operators, "OperatorRoleArns")
        )

    def test_only_the_producer_and_senders_send_to_the_queue(self):
        """What is sent lands in every output: the queue's policy denies sqs:SendMessage to all but the producer's
        role and SenderRoleArns."""
        producer = self.function_named("${Company}-producer")
        role = self.function_role(producer)
        queues = {
            getatt_target(statement["Resource"])[0]
            for _, statement in role_statements(self.resources, role)
            if matches(statement.get("Action", []), "sqs:SendMessage")
        }
        problems = [] if queues else [f"{role}: sends to no queue"]
        problems += self.queue_policy_exceptions(queues, "sqs:SendMessage", role, self.senders, "SenderRoleArns")
        self.assertNoProblems(problems)

    def test_the_pseudonym_key_is_read_only_by_the_compactor_and_operators_and_changed_only_by_operators(self):
        compactor = self.function_named("${Company}-compactor")
        secret = self.variable_ref(compactor, "PSEUDONYM_SECRET_ARN", "AWS::SecretsManager::Secret")
        role = self.function_role(compactor)
        policies = [
            logical_id
            for logical_id in self.of_type("AWS::SecretsManager::ResourcePolicy")
            if self.properties(logical_id).get("SecretId") == {"Ref": secret}
        ]
        self.assertEqual(len(policies), 1, f"{secret}: not exactly one AWS::SecretsManager::ResourcePolicy")
        policy = policies[0]
        properties = self.properties(policy)
        problems = []
        if properties.get("BlockPublicPolicy") not in (True, "true"):
            problems.append(f"{policy} (AWS::SecretsManager::ResourcePolicy) BlockPublicPolicy: not true")
        found = statements(properties.get("ResourcePolicy"))
        problems += [
            f"{policy} statement {statement.get('Sid')}: allows; the policy only denies"
            for statement in found
            if statement.get("Effect") != "Deny"
        ]
        denies = [
            statement for statement in found if matches(statement.get("Action", []), "secretsmanager:GetSecretValue")
        ]
        if not denies:
            problems.append(f"{policy} (AWS::SecretsManager::ResourcePolicy): no Deny of secretsmanager:GetSecretValue")
        for statement in denies:
            label = f"{policy} (AWS::SecretsManager::ResourcePolicy) statement {statement.get('Sid')}"
            excepted, operators, found_problems = self.principal_exceptions(label, statement)
            problems += found_problems
            if excepted != [role]:
                problems.append(f"{label}: excepts {excepted}, not the compactor's role {role} alone")
            if operators != self.operators:
                problems.append(f"{label}: excepts the operators {operators}, not OperatorRoleArns {self.operators}")
            if as_list(statement.get("Resource")) != ["*"]:
                problems.append(f"{label}: Resource {json.dumps(statement.get('Resource'))}, not * (the secret)")
        # Putting a key of one's own under a higher version would pass the key ledger as a rotation: only operators
        # (and CloudFormation, deploying the stack) change the secret or its policy.
        changes = [
            "secretsmanager:PutSecretValue",
            "secretsmanager:UpdateSecret",
            "secretsmanager:RotateSecret",
            "secretsmanager:PutResourcePolicy",
            "secretsmanager:DeleteResourcePolicy",
            "secretsmanager:DeleteSecret",
        ]
        for action in changes:
            writers = [statement for statement in found if matches(statement.get("Action", []), action)]
            if len(writers) != 1:
                problems.append(f"{policy}: not one Deny of {action}")
                continue
            statement = writers[0]
            condition = statement.get("Condition", {})
            operators = as_list(dig(condition, ("ArnNotLike", "aws:PrincipalArn")) or [])
            if operators != self.operators:
                problems.append(f"{policy} statement {statement.get('Sid')}: excepts {operators}, not {self.operators}")
            via = dig(condition, ("StringNotEqualsIfExists", "aws:CalledViaFirst"))
            if via != "cloudformation.amazonaws.com" or set(condition) - {"ArnNotLike", "StringNotEqualsIfExists"}:
                problems.append(
                    f"{policy} statement {statement.get('Sid')}: excepts more than operators and CloudFormation"
                )
        # With customer-managed keys the secret is raw data's: the raw bucket's key encrypts it.
        key = self.bucket_key(self.raw_bucket())
        wanted = {"Ref": key} if key else "alias/aws/secretsmanager"
        if self.properties(secret).get("KmsKeyId", "alias/aws/secretsmanager") != wanted:
            problems.append(f"{secret} (AWS::SecretsManager::Secret) KmsKeyId: not {json.dumps(wanted)}")
        self.assertNoProblems(problems)

    def test_data_the_stack_holds_outlives_it(self):
        """Buckets, the pseudonym key's secret and the keys that encrypt them are kept when the stack is deleted
        or they are replaced: raw and curated data, and what re-identifies or decrypts it. So are the bucket
        policies and the secret's resource policy (when the stack is deleted): kept raw data stays refused to all
        but the operators."""
        kept = [*self.of_type("AWS::S3::Bucket"), *self.of_type("AWS::SecretsManager::Secret")]
        kept += [key for key in map(self.bucket_key, self.of_type("AWS::S3::Bucket")) if key]
        kept += [
            secret_key["Ref"]
            for secret in self.of_type("AWS::SecretsManager::Secret")
            if isinstance(secret_key := self.properties(secret).get("KmsKeyId"), dict) and "Ref" in secret_key
        ]
        self.assertIn(self.curated_bucket(), kept)
        if self.customer_managed:
            self.assertEqual(len(set(kept)), 5, f"two buckets, the secret and two keys: {sorted(set(kept))}")
        problems = [
            f"{logical_id} ({self.resources[logical_id]['Type']}) {attribute}:"
            f" {self.resources[logical_id].get(attribute)!r}, not Retain"
            for logical_id in sorted(set(kept))
            for attribute in ("DeletionPolicy", "UpdateReplacePolicy")
            if self.resources[logical_id].get(attribute) != "Retain"
        ]
        guards = [
            *(self.bucket_policy(bucket)[0] for bucket in self.of_type("AWS::S3::Bucket")),
            *self.of_type("AWS::SecretsManager::ResourcePolicy"),
        ]
        problems += [
            f"{guard} ({self.resources[guard]['Type']}) {attribute}: {self.resources[guard].get(attribute)!r}, not"
            " Retain: the data it guards outlives the stack"
            for guard in guards
            for attribute in ("DeletionPolicy", "UpdateReplacePolicy")
            if self.resources[guard].get(attribute) != "Retain"
        ]
        self.assertNoProblems(problems)

    def test_each_bucket_is_encrypted_as_encryption_keys_says(self):
        buckets = {"raw": self.raw_bucket(), "curated": self.curated_bucket()}
        problems = []
        keys = {}
        for data_class, bucket in buckets.items():
            rule = dig(self.properties(bucket), ("BucketEncryption", "ServerSideEncryptionConfiguration"))[0]
            keys[data_class] = self.bucket_key(bucket)
            if self.customer_managed and keys[data_class] is None:
                problems.append(f"{bucket} (AWS::S3::Bucket): SSE-S3 with EncryptionKeys=customer-managed")
            if not self.customer_managed and keys[data_class] is not None:
                problems.append(f"{bucket} (AWS::S3::Bucket): SSE-KMS with EncryptionKeys=s3-managed")
            if rule.get("BucketKeyEnabled") not in (True, "true"):
                problems.append(f"{bucket} (AWS::S3::Bucket) BucketKeyEnabled: not true (a KMS request per object)")
        if self.customer_managed and keys["raw"] == keys["curated"]:
            problems.append(f"both buckets are encrypted with {keys['raw']}; each data class needs a key of its own")
        problems += [
            f"{key} (AWS::KMS::Key) EnableKeyRotation: not true"
            for key in filter(None, keys.values())
            if self.properties(key).get("EnableKeyRotation") not in (True, "true")
        ]
        self.assertNoProblems(problems)

    def test_the_keys_are_used_only_by_who_reads_their_data(self):
        """The account administers each key but gets no use of it from the key policy. The raw key is used by the
        consumer's and the compactor's roles and OperatorRoleArns, named by aws:PrincipalArn, and through Secrets
        Manager for the pseudonym key's secret alone; the curated key only through S3 (IAM decides who)."""
        raw, curated = self.bucket_key(self.raw_bucket()), self.bucket_key(self.curated_bucket())
        if not self.customer_managed:
            self.assertEqual((raw, curated), (None, None))
            return
        roles = sorted(
            self.function_role(self.function_named(f"${{Company}}-{name}")) for name in ("consumer", "compactor")
        )
        secret_arn = (
            "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${Company}-pseudonym-key-*"
        )
        problems = []
        users = set()
        for key, data_class in ((raw, "raw"), (curated, "curated")):
            for statement in statements(self.properties(key).get("KeyPolicy")):
                label = f"{key} (AWS::KMS::Key) statement {statement.get('Sid')}"
                uses = [action for action in KEY_USE if matches(statement.get("Action", []), action)]
                if statement.get("Effect") != "Allow" or not uses:
                    continue
                if "NotAction" in statement or "NotPrincipal" in statement:
                    problems.append(f"{label}: NotAction or NotPrincipal")
                if "kms:CreateGrant" in uses:
                    problems.append(f"{label}: allows kms:CreateGrant, which hands out use of the key")
                condition = statement.get("Condition", {})
                via = dig(condition, ("StringEquals", "kms:ViaService"))
                principals = dig(condition, ("ArnEquals", "aws:PrincipalArn"))
                patterns = dig(condition, ("ArnLike", "aws:PrincipalArn"))
                if data_class == "curated":
                    if sub_text(via) != "s3.${AWS::Region}.amazonaws.com":
                        problems.append(f"{label}: allows {uses} other than through S3")
                elif principals is not None:
                    named = sorted(getatt_target(value)[0] for value in as_list(principals) if getatt_target(value))
                    if named != roles or len(as_list(principals)) != len(roles):
                        problems.append(f"{label}: allows {uses} to {json.dumps(principals)}; only to {roles}")
                    users.add("functions")
                elif patterns is not None:
                    if as_list(patterns) != self.operators:
                        problems.append(f"{label}: allows {uses} to {patterns}, not OperatorRoleArns {self.operators}")
                    users.add("operators")
                elif sub_text(via) == "secretsmanager.${AWS::Region}.amazonaws.com":
                    context = dig(condition, ("StringLike", "kms:EncryptionContext:SecretARN"))
                    if sub_text(context) != secret_arn:
                        problems.append(f"{label}: Secrets Manager may use it for any secret, not only {secret_arn}")
                else:
                    problems.append(f"{label}: allows {uses} without naming who: {json.dumps(condition)}")
        wanted = {"functions", "operators"} if self.operators else {"functions"}
        if users != wanted:
            problems.append(f"{raw} (AWS::KMS::Key): its policy lets {sorted(users)} use it, not {sorted(wanted)}")
        self.assertNoProblems(problems)

    def test_the_analysts_policy_names_nothing_raw(self):
        """AnalystsPolicy (its ARN an output) lets a holder query user_sessions through the analysts' workgroup and
        names no raw resource: not the raw bucket, its key, the landing database or table, the operators' workgroup
        or the pseudonym key; and no S3 action on *."""
        output = self.template["Outputs"].get("AnalystsPolicyArn", {}).get("Value", {})
        policy = output.get("Ref") if isinstance(output, dict) else None
        self.assertIn(
            policy, self.of_type("AWS::IAM::ManagedPolicy"), "the output AnalystsPolicyArn: not a Ref to a policy"
        )
        raw_bucket, lake = self.raw_bucket(), self.curated_bucket()
        landing_table, _ = self.glue_table(LANDING_TABLE)
        landing_database = self.properties(landing_table).get("DatabaseName", {}).get("Ref")
        operators = self.workgroup_named("${Company}-operators")
        analysts = self.workgroup_named("${Company}-analysts")
        compactor = self.function_named("${Company}-compactor")
        secret = self.variable_ref(compactor, "PSEUDONYM_SECRET_ARN", "AWS::SecretsManager::Secret")
        raw = {raw_bucket, landing_table, landing_database, operators, secret, self.bucket_key(raw_bucket)} - {None}
        raw |= {"PartitionPrefix", "ErrorPrefix", "BucketName"}
        document = self.properties(policy).get("PolicyDocument")
        problems = [f"{policy} (AWS::IAM::ManagedPolicy): names {name}" for name in sorted(references(document) & raw)]
        problems += [
            f"{policy} (AWS::IAM::ManagedPolicy): names {text!r}"
            for text in string_leaves(document)
            if LANDING_TABLE in text or "streaming_data" in text
        ]
        granted = set()
        for statement in statements(document):
            label = f"{policy} (AWS::IAM::ManagedPolicy) statement {statement.get('Sid')}"
            if statement.get("Effect") != "Allow" or "NotAction" in statement or "NotResource" in statement:
                problems.append(f"{label}: not a plain Allow")
                continue
            resources = as_list(statement.get("Resource"))
            for action in as_list(statement.get("Action", [])):
                # Every S3 resource is the curated bucket or under it: no *, no other bucket.
                if action.lower().startswith("s3:") or action == "*":
                    problems += [
                        f"{label}: allows {action} on {resource_label(resource)}, not in {lake}"
                        for resource in resources
                        if getatt_target(resource) != (lake, "Arn")
                        and not (sub_text(resource) or "").startswith(f"${{{lake}.Arn}}/")
                    ]
                granted |= {(action.lower(), resource_label(resource)) for resource in resources}
        curated = "${CuratedPrefix}"
        curated_table, _ = self.glue_table(CURATED_TABLE)
        database = self.properties(curated_table).get("DatabaseName", {}).get("Ref")
        arn = "arn:${AWS::Partition}:SERVICE:${AWS::Region}:${AWS::AccountId}:"
        needed = [
            ("athena:startqueryexecution", arn.replace("SERVICE", "athena") + f"workgroup/${{{analysts}}}"),
            ("glue:gettable", arn.replace("SERVICE", "glue") + f"table/${{{database}}}/{CURATED_TABLE}"),
        ]
        needed = [(action, f"!Sub {resource!r}") for action, resource in needed]
        needed += [
            ("s3:getobject", f"!Sub '${{{lake}.Arn}}/{curated}tables/*'"),
            ("s3:getobject", f"!Sub '${{{lake}.Arn}}/{curated}data/*'"),
            ("s3:putobject", f"!Sub '${{{lake}.Arn}}/{RESULTS_PREFIX}*'"),
            ("s3:getobject", f"!Sub '${{{lake}.Arn}}/{RESULTS_PREFIX}*'"),
        ]
        key = self.bucket_key(lake)
        if key:
            needed += [("kms:decrypt", f"!GetAtt {key}.Arn"), ("kms:generatedatakey", f"!GetAtt {key}.Arn")]
        problems += [
            f"{policy} (AWS::IAM::ManagedPolicy): no statement allows {action} on {what}"
            for action, what in needed
            if (action, what) not in granted
        ]
        self.assertNoProblems(problems)

    def workgroup_named(self, text):
        """The AWS::Athena::WorkGroup whose Name is !Sub text."""
        for logical_id in self.of_type("AWS::Athena::WorkGroup"):
            if sub_text(self.properties(logical_id).get("Name")) == text:
                return logical_id
        self.fail(f"no AWS::Athena::WorkGroup has Name !Sub {text!r}")

    def test_each_data_class_has_its_database_and_workgroup(self):
        """The curated table in one Glue database, the landing table in another; the analysts' workgroup writes
        results to the curated bucket and the operators' to the raw bucket; the named queries of each table name its
        database and workgroup."""
        lake, raw = self.curated_bucket(), self.raw_bucket()
        places = {
            CURATED_TABLE: (self.workgroup_named("${Company}-analysts"), lake),
            LANDING_TABLE: (self.workgroup_named("${Company}-operators"), raw),
        }
        problems = []
        databases = {}
        for table, (workgroup, bucket) in places.items():
            logical_id, _ = self.glue_table(table)
            database = self.properties(logical_id).get("DatabaseName", {}).get("Ref")
            if database not in self.of_type("AWS::Glue::Database"):
                problems.append(f"{logical_id} (AWS::Glue::Table {table}) DatabaseName: not a Ref to a database")
            databases[table] = database
            location = dig(
                self.properties(workgroup), ("WorkGroupConfiguration", "ResultConfiguration", "OutputLocation")
            )
            if sub_text(location) != f"s3://${{{bucket}}}/{RESULTS_PREFIX}":
                problems.append(
                    f"{workgroup} (AWS::Athena::WorkGroup) OutputLocation: {json.dumps(location)}, not in {bucket}"
                )
            results = ("WorkGroupConfiguration", "ResultConfiguration", "EncryptionConfiguration")
            encryption = dig(self.properties(workgroup), results)
            key = self.bucket_key(bucket)
            # The results are encrypted as the bucket they are in.
            wanted = {"EncryptionOption": "SSE_KMS", "KmsKey": {"Fn::GetAtt": [key, "Arn"]}} if key else None
            wanted = wanted or {"EncryptionOption": "SSE_S3"}
            if encryption != wanted:
                problems.append(
                    f"{workgroup} (AWS::Athena::WorkGroup) EncryptionConfiguration: {json.dumps(encryption)}, not"
                    f" {json.dumps(wanted)}"
                )
        if len(set(databases.values())) != 2:
            problems.append(f"the two tables share a Glue database: {databases}")
        for query in self.of_type("AWS::Athena::NamedQuery"):
            properties = self.properties(query)
            table = LANDING_TABLE if LANDING_TABLE in properties.get("QueryString", "") else CURATED_TABLE
            wanted = ({"Ref": databases[table]}, {"Ref": places[table][0]})
            if (properties.get("Database"), properties.get("WorkGroup")) != wanted:
                problems.append(
                    f"{query} (AWS::Athena::NamedQuery) over {table}: Database and WorkGroup not {json.dumps(wanted)}"
                )
        self.assertNoProblems(problems)

    def test_raw_data_expires_as_the_parameters_say(self):
        """In the raw bucket the error output and refused erasure requests expire with the landing zone, the sealed
        segments after ArrayRetentionDays if it is above 0 (streaming_data.json never), query results after a day;
        erasure requests (an unfinished one must not vanish), receipts, the erased persons and the pass never. In
        the curated bucket only query results expire: the compactor deletes whole partitions after
        CuratedRetentionDays, so no manifest lists an expired file."""
        raw, lake = self.raw_bucket(), self.curated_bucket()
        compactor = self.function_named("${Company}-compactor")

        def expiring(bucket):
            return {
                json.dumps(rule.get("Prefix", dig(rule, ("Filter", "Prefix")) or "")): rule["ExpirationInDays"]
                for rule in dig(self.properties(bucket), ("LifecycleConfiguration", "Rules")) or []
                if rule.get("Status") == "Enabled" and "ExpirationInDays" in rule
            }

        wanted = {
            json.dumps(RESULTS_PREFIX): RESULTS_DAYS,
            json.dumps({"Ref": "ErrorPrefix"}): {"Ref": "LandingRetentionDays"},
            json.dumps({"Ref": "PartitionPrefix"}): {"Ref": "LandingRetentionDays"},
            json.dumps(ERASURE_REFUSED): {"Ref": "LandingRetentionDays"},
        }
        if int(self.PARAMETERS.get("ArrayRetentionDays", 0)) > 0:
            wanted[json.dumps("streaming_data/")] = {"Ref": "ArrayRetentionDays"}
        problems = []
        for bucket, rules in ((raw, wanted), (lake, {json.dumps(RESULTS_PREFIX): RESULTS_DAYS})):
            found = expiring(bucket)
            if found != rules:
                problems.append(f"{bucket} (AWS::S3::Bucket) expiring prefixes {found}, not {rules}")
            kept = [DATA_KEY, f"{ERASURE_REQUESTS}sample.json", f"{ERASURE_RECEIPTS}sample.json", ERASED, ERASURE_PASS]
            for prefix in map(json.loads, found):
                # A parameter's prefix as this stack has it.
                value = self.parameter_values.get(prefix["Ref"]) if isinstance(prefix, dict) else prefix
                problems += [
                    f"{bucket} (AWS::S3::Bucket): the rule on {json.dumps(prefix)} ({value!r}) would expire {key}"
                    for key in kept
                    if isinstance(value, str) and key.startswith(value)
                ]
        retention = dig(self.properties(compactor), ("Environment", "Variables", "CURATED_RETENTION_DAYS"))
        if retention != {"Ref": "CuratedRetentionDays"}:
            problems.append(
                f"{compactor} CURATED_RETENTION_DAYS: {json.dumps(retention)}, not !Ref CuratedRetentionDays"
            )
        self.assertNoProblems(problems)

    def test_the_landing_zone_and_error_output_are_never_where_erasure_is_kept(self):
        """PartitionPrefix or ErrorPrefix set to erasure/ would have requests, receipts and the erased persons
        rewritten as raw data and expired with it: a rule of the template refuses both at deploy."""
        wanted = {"Fn::Not": [{"Fn::Contains": [[{"Ref": "PartitionPrefix"}, {"Ref": "ErrorPrefix"}], "erasure/"]}]}
        asserts = [
            assertion.get("Assert")
            for rule in self.template.get("Rules", {}).values()
            if "RuleCondition" not in rule
            for assertion in rule.get("Assertions", [])
        ]
        self.assertIn(wanted, asserts, "no unconditional rule refuses PartitionPrefix or ErrorPrefix erasure/")

    def test_scheduled_functions_are_not_retried_by_lambda(self):
        """A scheduled run that failed is replaced by the next one; Lambda's own two retries would only overlap it."""
        problems = []
        for name in ("producer", "compactor"):
            function = self.function_named(f"${{Company}}-{name}")
            configs = [
                self.properties(config)
                for config in self.of_type("AWS::Lambda::EventInvokeConfig")
                if self.properties(config).get("FunctionName") == {"Ref": function}
            ]
            if [config.get("MaximumRetryAttempts") for config in configs] != [0]:
                problems.append(f"{function}: not one AWS::Lambda::EventInvokeConfig with MaximumRetryAttempts 0")
        self.assertNoProblems(problems)

    def test_every_resource_that_takes_tags_has_company_and_data_class(self):
        taggable = taggable_types() - UNTAGGABLE_BY_SAM
        expected = {self.raw_bucket(): "raw", self.curated_bucket(): "curated"}
        for bucket, data_class in list(expected.items()):
            if self.bucket_key(bucket):
                expected[self.bucket_key(bucket)] = data_class
        for workgroup in self.of_type("AWS::Athena::WorkGroup"):
            location = sub_text(
                dig(self.properties(workgroup), ("WorkGroupConfiguration", "ResultConfiguration", "OutputLocation"))
            )
            bucket = re.fullmatch(r"s3://\$\{(\w+)\}/.*", location or "")
            if bucket and bucket[1] in expected:
                expected[workgroup] = expected[bucket[1]]
        for kind, data_class in (
            ("AWS::SQS::Queue", "raw"),
            ("AWS::SecretsManager::Secret", "raw"),
            ("AWS::Lambda::Function", "raw"),
            ("AWS::Logs::LogGroup", "none"),
            ("AWS::CloudWatch::Alarm", "none"),
        ):
            expected.update(dict.fromkeys(self.of_type(kind), data_class))
        problems = []
        for logical_id, resource in self.resources.items():
            if resource["Type"] not in taggable:
                continue
            tags = tags_of(resource.get("Properties", {}))
            label = f"{logical_id} ({resource['Type']}) Tags"
            if tags.get("company") != {"Ref": "Company"}:
                problems.append(f"{label}: company is {json.dumps(tags.get('company'))}, not !Ref Company")
            data_class = tags.get("data-class")
            if data_class not in DATA_CLASSES:
                problems.append(f"{label}: data-class is {json.dumps(data_class)}, not one of {DATA_CLASSES}")
            elif logical_id in expected and data_class != expected[logical_id]:
                problems.append(f"{label}: data-class is {data_class}, not {expected[logical_id]}")
        self.assertTrue(
            taggable & {"AWS::S3::Bucket", "AWS::IAM::Role", "AWS::KMS::Key"},
            "cfn-lint's schemas list no taggable type",
        )
        self.assertNoProblems(problems)


class EveryOptionTest(TranslatedTemplateTest):
    """The same checks on the stack of EVERY_OPTION: customer-managed keys, operators, an alarm address, retention
    days and bucket names given."""

    PARAMETERS = EVERY_OPTION


if __name__ == "__main__":
    unittest.main()
