"""The Terraform format: one configuration per account, every resource declared once.

The configuration is built as data (resource type, label, attributes, nested blocks) and written
by one small HCL writer, so it is well-formed by construction: strings are HCL literals with
``${`` and ``%{`` escaped (nothing in a name or pattern is interpolated), labels are unique per
resource type (:class:`~scanner.remediation.formats._text.Names`), and a resource the
configuration creates is referred to, not spelled out, so Terraform orders the work. Each region
gets a provider alias. What the scan cannot know is a variable, declared with what it stands for.

A configuration is a root module that ``terraform init`` and ``terraform plan`` take as it is: its
``terraform`` block names the versions it needs (:data:`REQUIRED_TERRAFORM`,
:data:`REQUIRED_AWS`), and a resource that exists already (the trail, the rule's own filter, an
alarm kept by name, the topic whose key changes, a topic's access policy, a key's policy) is
adopted by an ``import`` block (Terraform 1.5+) with the id the plan knows, so that ``terraform
plan`` shows the change to it rather than the creation of a second one. What Terraform cannot
declare without taking over more than the fix changes (a key's state, a key policy not known
here, a subscription's filter policy) is given as the AWS CLI commands, commented out, with the
reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from scanner.remediation.account import AccountRemediation, Change
from scanner.remediation.formats import cli
from scanner.remediation.formats._text import (
    Document,
    Names,
    alias,
    comment,
    fixes,
    title,
)
from scanner.remediation.plan import ASSUME_ROLE_POLICY, PLACEHOLDER, PLACEHOLDERS, Resource


@dataclass(frozen=True, slots=True)
class Expr:
    """An HCL expression written as it is: a reference, a function call, a keyword."""

    text: str


Value: TypeAlias = "str | int | bool | Expr | list[Value]"
Body: TypeAlias = "dict[str, Value | Body]"  # a nested dict is a nested block


def _variable(placeholder: str) -> str:
    return placeholder.strip("<>").lower()


def quote(value: str) -> str:
    """An HCL string literal; ``${`` and ``%{`` are escaped so nothing is interpolated."""
    text = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + text.replace("${", "$${").replace("%{", "%%{") + '"'


def _value(value: Value) -> str:
    if isinstance(value, Expr):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if PLACEHOLDER.fullmatch(value):
        return f"var.{_variable(value)}"
    return _variables(quote(value))


def _variables(template: str) -> str:
    """Each ``<PLACEHOLDER>`` in an HCL string template interpolates its variable."""
    return PLACEHOLDER.sub(lambda m: "${var." + _variable(m.group()) + "}", template)


def _block(head: str, body: Body, pad: str = "") -> list[str]:
    inner = pad + "  "
    attributes = [(name, value) for name, value in body.items() if not isinstance(value, dict)]
    width = max((len(name) for name, _ in attributes), default=0)
    lines = [f"{pad}{head} {{"]
    lines += [
        f"{inner}{name.ljust(width)} = {_value(value).replace(chr(10), chr(10) + inner)}"
        for name, value in attributes
    ]
    for name, value in body.items():
        if isinstance(value, dict):
            lines += ["", *_block(name, value, inner)]
    return [*lines, f"{pad}}}"]


def _jsonencode(document: object) -> Expr:
    """A policy document as ``jsonencode(...)`` of its JSON, which is an HCL object too."""
    text = json.dumps(document, indent=2).replace("${", "$${").replace("%{", "%%{")
    return Expr(f"jsonencode({_variables(text)})")


def _label(name: str) -> str:
    label = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return label if label[:1].isalpha() or label[:1] == "_" else f"r_{label}"


# --------------------------------------------------------------------------------------------
# The resources, as data.

Declared = list[tuple[str, str, Body]]  # (resource type, label, attributes)


class _Config:
    """One account's configuration: labels, and what it creates (to refer to it)."""

    def __init__(self, account: AccountRemediation) -> None:
        self.account = account
        self.names: dict[str, Names] = {}

    def label(self, kind: str, key: tuple[str, ...], base: str) -> str:
        return self.names.setdefault(kind, Names("_"))(key, _label(base))

    def ref(
        self, change: Change, resource: Resource, attribute: str, kind: str | None = None
    ) -> str | None:
        """``type.label.attribute`` of a resource this configuration creates, else ``None``.

        ``kind`` names a companion type (the role's policy) instead of the resource's own.
        """
        key = change.plan.key(resource)
        if not self.account.creates(key):
            return None
        own, base = _LABELS[resource]
        kind = kind or own
        return f"{kind}.{self.label(kind, key, base(change))}.{attribute}"

    def declare(self, change: Change) -> Declared:
        """The resource (and its companion) a change declares: type, label, attributes."""
        own, base = _LABELS[change.resource]
        companion = _COMPANIONS.get(change.resource)
        kinds = (own, companion) if companion else (own,)
        labels = [self.label(kind, change.key, base(change)) for kind in kinds]
        provider: Body = {"provider": Expr(f"aws.{alias(change.region)}")}
        bodies = _BUILDERS[change.resource](self, change, labels[0])
        return [(k, label, provider | b) for k, label, b in zip(kinds, labels, bodies, strict=True)]


def _trail(config: _Config, change: Change, _: str) -> list[Body]:
    v = change.plan.values
    group = config.ref(change, "log_group", "arn")
    role = config.ref(change, "role", "arn")
    body: Body = {
        "name": v["trail_name"],
        "s3_bucket_name": v["s3_bucket"],
        "is_multi_region_trail": True,
        "include_global_service_events": True,
        "enable_logging": True,
        "cloud_watch_logs_group_arn": Expr(f'"${{{group}}}:*"') if group else v["log_group_arn"],
        "cloud_watch_logs_role_arn": Expr(role) if role else v["role_arn"],
    }
    policy = config.ref(change, "role", "id", kind=_COMPANIONS["role"])
    if policy:
        body["depends_on"] = [Expr(policy.removesuffix(".id"))]
    body["event_selector"] = {"read_write_type": "All", "include_management_events": True}
    return [body]


def _log_group(config: _Config, change: Change, _: str) -> list[Body]:
    return [{"name": change.plan.values["log_group_name"]}]


def _role(config: _Config, change: Change, label: str) -> list[Body]:
    v = change.plan.values
    role: Body = {"name": v["role_name"], "assume_role_policy": _jsonencode(ASSUME_ROLE_POLICY)}
    policy: Body = {
        "name": v["role_policy_name"],
        "role": Expr(f"aws_iam_role.{label}.id"),
        "policy": _jsonencode(json.loads(v["logs_policy"])),
    }
    return [role, policy]


def _filter(config: _Config, change: Change, _: str) -> list[Body]:
    v = change.plan.values
    group = config.ref(change, "log_group", "name")
    return [
        {
            "name": v["filter_name"],
            "log_group_name": Expr(group) if group else v["log_group_name"],
            "pattern": v["pattern"],
            "metric_transformation": {
                "name": v["metric_name"],
                "namespace": v["metric_namespace"],
                "value": "1",
            },
        }
    ]


def _alarm(config: _Config, change: Change, _: str) -> list[Body]:
    v = change.plan.values
    topic = config.ref(change, "topic", "arn")
    return [
        {
            "alarm_name": v["alarm_name"],
            "alarm_description": v["alarm_description"],
            "namespace": v["metric_namespace"],
            "metric_name": v["metric_name"],
            "statistic": "Sum",
            "period": 300,
            "evaluation_periods": 1,
            "datapoints_to_alarm": 1,
            "threshold": 1,
            "comparison_operator": "GreaterThanOrEqualToThreshold",
            "treat_missing_data": "notBreaching",
            "actions_enabled": True,
            "alarm_actions": [Expr(topic) if topic else v["topic_arn"]],
        }
    ]


def _topic(config: _Config, change: Change, label: str) -> list[Body]:
    v = change.plan.values
    subscription = _subscription(config, change, label)[0]
    return [{"name": v["topic_name"]}, subscription | {"topic_arn": Expr(f"{_TOPIC}.{label}.arn")}]


def _subscription(config: _Config, change: Change, _: str) -> list[Body]:
    v = change.plan.values
    return [{"topic_arn": v["topic_arn"], "protocol": "email", "endpoint": v["email"]}]


def _topic_encryption(config: _Config, change: Change, _: str) -> list[Body]:
    v = change.plan.values
    return [{"name": v["topic_name"], "kms_master_key_id": v["key_arn"]}]


def _topic_policy(config: _Config, change: Change, _: str) -> list[Body]:
    v = change.plan.values
    return [{"arn": v["topic_arn"], "policy": _jsonencode(json.loads(v["topic_policy"]))}]


def _key_policy(config: _Config, change: Change, _: str) -> list[Body]:
    v = change.plan.values
    return [{"key_id": v["key_arn"], "policy": _jsonencode(json.loads(v["key_policy"]))}]


_TOPIC = "aws_sns_topic"
_SUBSCRIPTION = "aws_sns_topic_subscription"

# Per resource: its Terraform type and the base of its label; the builder of its bodies (a second
# body is a companion resource: the role's policy, the new topic's subscription).
_LABELS: dict[Resource, tuple[str, Callable[[Change], str]]] = {
    "trail": ("aws_cloudtrail", lambda c: c.plan.values["trail_name"]),
    "log_group": ("aws_cloudwatch_log_group", lambda c: "cloudtrail"),
    "role": ("aws_iam_role", lambda c: "cloudtrail_to_cloudwatch_logs"),
    "filter": ("aws_cloudwatch_log_metric_filter", lambda c: c.plan.values["rule_id"]),
    "alarm": ("aws_cloudwatch_metric_alarm", lambda c: c.plan.values["rule_id"]),
    "topic": (_TOPIC, lambda c: "alarms"),
    "subscription": (_SUBSCRIPTION, lambda c: "alarms"),
    "topic_encryption": (_TOPIC, lambda c: c.plan.values["topic_name"]),
    "topic_policy": ("aws_sns_topic_policy", lambda c: c.plan.values["topic_name"]),
    "key_policy": ("aws_kms_key_policy", lambda c: "topic_key"),
}
_COMPANIONS: dict[Resource, str] = {"role": "aws_iam_role_policy", "topic": _SUBSCRIPTION}
_BUILDERS: dict[Resource, Callable[[_Config, Change, str], list[Body]]] = {
    "trail": _trail,
    "log_group": _log_group,
    "role": _role,
    "filter": _filter,
    "alarm": _alarm,
    "topic": _topic,
    "subscription": _subscription,
    "topic_encryption": _topic_encryption,
    "topic_policy": _topic_policy,
    "key_policy": _key_policy,
}

# What Terraform cannot declare without taking over more than the fix changes: the change's AWS
# CLI commands are given, commented out, with the reason.
_UNDECLARED: dict[Resource, str] = {
    "key": (
        "Terraform sets a KMS key's state only by managing the whole key (aws_kms_key, which "
        "would then own its rotation and its deletion): run these AWS CLI commands instead."
    ),
    "key_policy": (
        "The key's current policy is not known here, and aws_kms_key_policy replaces the whole "
        "policy: merge the statement with these AWS CLI commands instead."
    ),
    "subscription_filter": (
        "A filter policy is an argument of aws_sns_topic_subscription, which needs the "
        "subscription's protocol and endpoint (not known here): import the subscription and "
        "remove filter_policy, or run these AWS CLI commands."
    ),
}


# The resources of the topic and its key, changed in the account that owns the topic.
_TOPIC_END: frozenset[Resource] = frozenset({"topic_encryption", "topic_policy", "key_policy"})


def _declared(change: Change) -> bool:
    """Whether Terraform declares the change (else its commands are given, commented out)."""
    if change.resource == "key_policy":
        return bool(change.plan.values["key_policy"])
    return change.resource not in _UNDECLARED


# --------------------------------------------------------------------------------------------
# The configuration.

_VARIABLES_NOTE = "Set the variables first: they stand for what the scan cannot know."

# The versions a configuration needs. Terraform 1.5 is the first with ``import`` blocks (their
# ``provider`` argument came with them: hashicorp/terraform pull request 33175). The AWS
# provider: every resource type written here is older than its 5.0 release (the newest,
# aws_kms_key_policy, came in the 4.x line, in 2023: terraform-provider-aws pull request 29923;
# aws_cloudtrail, aws_cloudwatch_log_group, aws_iam_role, aws_iam_role_policy,
# aws_cloudwatch_log_metric_filter, aws_cloudwatch_metric_alarm, aws_sns_topic,
# aws_sns_topic_subscription and aws_sns_topic_policy long before), and the import ids below
# are those its 5.x documentation gives.
REQUIRED_TERRAFORM = ">= 1.5"
REQUIRED_AWS = ">= 5.0"

# The import id of each type an existing resource is declared as, as the provider documents it;
# the plan's ``existing`` holds exactly these (:class:`~scanner.remediation.plan.FindingPlan`):
#
# * aws_cloudtrail: the trail's ARN (read with DescribeTrails, which takes a name or an ARN; the
#   ARN also finds an organization trail from a delegated administrator);
# * aws_cloudwatch_log_metric_filter: ``<log group name>:<filter name>``;
# * aws_cloudwatch_metric_alarm: the alarm's name;
# * aws_sns_topic (the topic whose KmsMasterKeyId changes): the topic's ARN;
# * aws_sns_topic_policy: the topic's ARN;
# * aws_kms_key_policy: the key's id (``1234abcd-12ab-34cd-56ef-1234567890ab``).


def _terraform_block() -> str:
    """The ``terraform`` block: the Terraform and AWS provider versions the configuration needs."""
    aws = f'{{ source = "hashicorp/aws", version = {quote(REQUIRED_AWS)} }}'
    body: Body = {
        "required_version": REQUIRED_TERRAFORM,
        "required_providers": {"aws": Expr(aws)},
    }
    return "\n".join(_block("terraform", body))


def _import(kind: str, label: str, change: Change) -> str:
    """The ``import`` block that adopts the existing resource ``kind.label`` with the plan's id,
    through the resource's own provider (Terraform 1.5 would take the default one)."""
    body: Body = {
        "to": Expr(f"{kind}.{label}"),
        "id": Expr(quote(change.plan.existing[change.resource])),
        "provider": Expr(f"aws.{alias(change.region)}"),
    }
    return "\n".join(_block("import", body))


def _commands(change: Change, many: bool) -> str:
    notes = [comment(fixes(change.fixes))] if many else []
    notes.append(comment(_UNDECLARED[change.resource]))
    lines = cli.commands(change).splitlines()
    return "\n".join([*notes, *(f"# {line}".rstrip() for line in lines)])


def _resource(config: _Config, change: Change, many: bool) -> list[str]:
    if not _declared(change):
        return [_commands(change, many)]
    bodies = config.declare(change)
    kind, label, _ = bodies[0]
    notes = [comment(fixes(change.fixes))] if many else []
    owner = change.plan.values["topic_elsewhere"]
    if owner and change.resource in _TOPIC_END:
        notes.append(comment(f"Apply with a provider of account {owner}, which owns the topic."))
    what = change.plan.exists(change.resource)
    if what:
        notes.append(comment(f"{what} exists: this import block adopts it, to change in place."))
        notes.append(_import(kind, label, change))
    blocks = ["\n".join(_block(f'resource "{k}" "{lb}"', body)) for k, lb, body in bodies]
    return ["\n".join([*notes, blocks[0]]), *blocks[1:]]


def assemble(account: AccountRemediation) -> tuple[Document, ...]:
    """One configuration per account: the versions it needs, variables, one provider per
    region, the resources (each existing one after its ``import`` block)."""
    config = _Config(account)
    changes = account.resources()
    many = len(account.findings) > 1
    resources = [text for change in changes for text in _resource(config, change, many)]
    regions = dict.fromkeys(change.region for change in changes if _declared(change))
    providers = [
        "\n".join(_block('provider "aws"', {"alias": alias(region), "region": region}))
        for region in regions
    ]
    texts = [*providers, *resources]
    used = dict.fromkeys(re.findall(r"\bvar\.([a-z0-9_]+)", "\n".join(texts)))
    described = {_variable(p): about for p, about in PLACEHOLDERS.items()}
    variables = [
        "\n".join(_block(f'variable "{name}"', {"type": Expr("string"), "description": about}))
        for name, about in described.items()
        if name in used
    ]
    head = f"# {title(account)}" + (f"\n# {_VARIABLES_NOTE}" if variables else "")
    text = "\n\n".join([head, _terraform_block(), *variables, *texts]) + "\n"
    return (Document(f"{account.account_id}.tf", text),)
