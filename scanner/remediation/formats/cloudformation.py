"""The CloudFormation format: one template per account and region, in JSON.

Why JSON. CloudFormation reads JSON as well as YAML, and the core may import no third-party
package (no PyYAML), while writing YAML by hand is how the templates used to break. So each
template is built as data and serialised with the standard library's :mod:`json`: valid by
construction, and the same text for a finding's fix and for ``scanner remediate``. JSON has no
comments, so what a YAML template said in comments is data: which findings a resource fixes and
that it must be imported first go in the resource's ``Metadata``; what the scan cannot know is a
``Parameter`` (and an unknown region is the stack's own, ``AWS::Region``).

What CloudFormation cannot do to a resource it did not create (a KMS key's state or key policy, a
subscription's filter policy) goes in a script beside the templates, ``<account>-commands.sh``:
the AWS CLI commands of those changes, each under its reason; the templates' descriptions say to
run it.

Within a template, a resource the stack creates is referred to (``Ref``, ``Fn::GetAtt``), so
CloudFormation orders the work. A resource that exists already (the trail, the rule's own filter,
an alarm kept by name) is retained on delete, as resource import requires.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from scanner.remediation.account import AccountRemediation, Change
from scanner.remediation.formats import _text, cli
from scanner.remediation.formats._text import (
    Document,
    Names,
    comment,
    file_part,
    fixes,
    has_placeholders,
    title,
)
from scanner.remediation.plan import (
    ASSUME_ROLE_POLICY,
    PLACEHOLDER,
    PLACEHOLDERS,
    REGION,
    Resource,
    logs_policy,
)

Json = dict[str, object]


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text))


class _Template:
    """One stack: logical ids, what it creates (to refer to it), the parameters it needs."""

    def __init__(self, account: AccountRemediation, changes: list[Change]) -> None:
        self.account = account
        self.keys = {change.key for change in changes}
        self.names = Names()
        self.parameters: dict[str, Json] = {}

    def logical(self, change: Change, resource: Resource, suffix: str = "") -> str:
        key = (*change.plan.key(resource), suffix)
        return self.names(key, _LOGICAL[resource](change) + suffix)

    def here(self, change: Change, resource: Resource) -> str | None:
        """The logical id of a resource this stack creates, else ``None``."""
        if change.plan.key(resource) not in self.keys:
            return None
        return self.logical(change, resource)

    def value(self, text: str) -> object:
        """The text, or a reference where it holds a ``<PLACEHOLDER>``."""
        found = PLACEHOLDER.findall(text)
        if not found:
            return text
        if text == REGION:
            return {"Ref": "AWS::Region"}
        if PLACEHOLDER.fullmatch(text):
            return {"Ref": self._parameter(text)}
        sub = text.replace("${", "${!")
        for placeholder in found:
            name = "AWS::Region" if placeholder == REGION else self._parameter(placeholder)
            sub = sub.replace(placeholder, "${" + name + "}")
        return {"Fn::Sub": sub}

    def _parameter(self, placeholder: str) -> str:
        name = _camel(placeholder.strip("<>").lower())
        self.parameters[name] = {"Type": "String", "Description": PLACEHOLDERS[placeholder]}
        return name


def _trail(t: _Template, change: Change) -> Json:
    v = change.plan.values
    group, role = t.here(change, "log_group"), t.here(change, "role")
    return {
        "TrailName": v["trail_name"],
        "S3BucketName": t.value(v["s3_bucket"]),
        "IsLogging": True,
        "IsMultiRegionTrail": True,
        "IncludeGlobalServiceEvents": True,
        "CloudWatchLogsLogGroupArn": {"Fn::GetAtt": [group, "Arn"]}
        if group
        else t.value(v["log_group_arn"]),
        "CloudWatchLogsRoleArn": {"Fn::GetAtt": [role, "Arn"]} if role else t.value(v["role_arn"]),
        "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}],
    }


def _log_group(t: _Template, change: Change) -> Json:
    return {"LogGroupName": t.value(change.plan.values["log_group_name"])}


def _role(t: _Template, change: Change) -> Json:
    v = change.plan.values
    policy = {
        "PolicyName": v["role_policy_name"],
        "PolicyDocument": logs_policy(t.value(v["log_streams_arn"])),
    }
    return {
        "RoleName": v["role_name"],
        "AssumeRolePolicyDocument": ASSUME_ROLE_POLICY,
        "Policies": [policy],
    }


def _filter(t: _Template, change: Change) -> Json:
    v = change.plan.values
    group = t.here(change, "log_group")
    transformation = {
        "MetricName": v["metric_name"],
        "MetricNamespace": v["metric_namespace"],
        "MetricValue": "1",
    }
    return {
        "FilterName": v["filter_name"],
        "LogGroupName": {"Ref": group} if group else t.value(v["log_group_name"]),
        "FilterPattern": v["pattern"],
        "MetricTransformations": [transformation],
    }


def _alarm(t: _Template, change: Change) -> Json:
    v = change.plan.values
    topic = t.here(change, "topic")
    return {
        "AlarmName": v["alarm_name"],
        "AlarmDescription": v["alarm_description"],
        "Namespace": v["metric_namespace"],
        "MetricName": v["metric_name"],
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "ActionsEnabled": True,
        "AlarmActions": [{"Ref": topic} if topic else t.value(v["topic_arn"])],
    }


def _topic(t: _Template, change: Change) -> Json:
    return {"TopicName": change.plan.values["topic_name"]}


def _subscription(t: _Template, change: Change) -> Json:
    v = change.plan.values
    topic = t.here(change, "topic")
    return {
        "TopicArn": {"Ref": topic} if topic else t.value(v["topic_arn"]),
        "Protocol": "email",
        "Endpoint": t.value(v["email"]),
    }


def _topic_encryption(t: _Template, change: Change) -> Json:
    v = change.plan.values
    return {"TopicName": v["topic_name"], "KmsMasterKeyId": t.value(v["key_arn"])}


def _topic_policy(t: _Template, change: Change) -> Json:
    v = change.plan.values
    policy: Json = json.loads(v["topic_policy"])
    return {"PolicyDocument": policy, "Topics": [t.value(v["topic_arn"])]}


# Per resource: its CloudFormation type and the builder of its properties.
_RESOURCES: dict[Resource, tuple[str, Callable[[_Template, Change], Json]]] = {
    "trail": ("AWS::CloudTrail::Trail", _trail),
    "log_group": ("AWS::Logs::LogGroup", _log_group),
    "role": ("AWS::IAM::Role", _role),
    "filter": ("AWS::Logs::MetricFilter", _filter),
    "alarm": ("AWS::CloudWatch::Alarm", _alarm),
    "topic": ("AWS::SNS::Topic", _topic),
    "subscription": ("AWS::SNS::Subscription", _subscription),
    "topic_encryption": ("AWS::SNS::Topic", _topic_encryption),
    "topic_policy": ("AWS::SNS::TopicPolicy", _topic_policy),
}
# Logical ids: the base of each resource's.
_LOGICAL: dict[Resource, Callable[[Change], str]] = {
    "trail": lambda c: "Trail",
    "log_group": lambda c: "CloudTrailLogGroup",
    "role": lambda c: "CloudTrailLogsRole",
    "filter": lambda c: _camel(c.plan.values["rule_id"]) + "Filter",
    "alarm": lambda c: _camel(c.plan.values["rule_id"]) + "Alarm",
    "topic": lambda c: "AlarmTopic",
    "subscription": lambda c: "AlarmTopicSubscription",
    "topic_encryption": lambda c: _camel(c.plan.values["topic_name"]) + "Topic",
    "topic_policy": lambda c: _camel(c.plan.values["topic_name"]) + "TopicPolicy",
}

# What CloudFormation cannot do to a resource it did not create: the changes' AWS CLI commands
# go in a script beside the templates (:data:`COMMANDS`), each under its reason.
_UNDECLARED: dict[Resource, str] = {
    "key": "CloudFormation cannot change the state of a KMS key it did not create.",
    "key_policy": "CloudFormation cannot set the key policy of a KMS key it did not create.",
    "subscription_filter": (
        "CloudFormation cannot change a subscription it did not create, and importing it needs "
        "its protocol and endpoint (not known here)."
    ),
}
COMMANDS = "{account}-commands.sh"
# The existing resources a stack adopts by resource import (retained on delete, as import
# requires). A topic's access policy is not among them: AWS::SNS::TopicPolicy sets the policy of
# the topics it names, whatever they had, so the stack declares it without importing anything.
_IMPORTED: frozenset[Resource] = frozenset({"trail", "filter", "alarm", "topic_encryption"})
# The resources of the topic, changed in the account that owns it.
_TOPIC_END: frozenset[Resource] = frozenset({"topic_encryption", "topic_policy"})


def _resources(t: _Template, change: Change, many: bool) -> Json:
    kind, build = _RESOURCES[change.resource]
    resource: Json = {"Type": kind}
    notes: dict[str, str] = {"Fixes": fixes(change.fixes)} if many else {}
    what = change.plan.exists(change.resource) if change.resource in _IMPORTED else ""
    if what:
        notes["Import"] = f"{what} exists: import it into the stack first (resource import)."
    if what or change.resource == "trail":
        resource |= {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    owner = change.plan.values["topic_elsewhere"]
    if owner and change.resource in _TOPIC_END:
        notes["Account"] = f"Deploy in account {owner}, which owns the topic."
    drop = change.plan.values["topic_policy_drop"]
    if change.resource == "topic_policy" and drop:
        notes["Removes"] = (
            f'The policy leaves out statement "{drop}", which explicitly denies the alarm\'s '
            "publish (an explicit Deny wins over every grant): if it protects something, narrow "
            "it instead (exclude cloudwatch.amazonaws.com)."
        )
    if notes:
        resource["Metadata"] = {"Remediation": notes}
    found: Json = {t.logical(change, change.resource): resource | {"Properties": build(t, change)}}
    if change.resource == "topic":  # a new topic comes with its subscription
        subscription: Json = {
            "Type": _RESOURCES["subscription"][0],
            "Properties": _subscription(t, change),
        }
        found[t.logical(change, "topic", "Subscription")] = subscription
    return found


def _commands(account: AccountRemediation, changes: list[Change], many: bool) -> Document:
    """The bash script of the changes CloudFormation cannot make, each under its reason (it
    stops at the first command that fails)."""
    texts = []
    for change in changes:
        notes = [fixes(change.fixes)] if many else []
        notes.append(_UNDECLARED[change.resource])
        texts.append("\n".join([*(comment(n) for n in notes), cli.commands(change)]))
    head = f"# {title(account)}"
    if has_placeholders(texts):
        head += f"\n# {_text.PLACEHOLDER_NOTE}"
    return _text.script(COMMANDS.format(account=account.account_id), head, texts)


def assemble(account: AccountRemediation) -> tuple[Document, ...]:
    """One template per region the changes act in, each a stack of its own; and the script of
    the changes no template can make."""
    by_region: dict[str, list[Change]] = {}
    undeclared = [c for c in account.resources() if c.resource in _UNDECLARED]
    for change in account.resources():
        if change.resource not in _UNDECLARED:
            by_region.setdefault(change.region, []).append(change)
    many = len(account.findings) > 1
    script = _commands(account, undeclared, many) if undeclared else None
    also = (
        f" Run {script.name} first: it makes what CloudFormation cannot (a KMS key's state or "
        "policy, a subscription's filter policy)."
        if script
        else ""
    )
    documents = []
    for region, changes in by_region.items():
        t = _Template(account, changes)
        resources: Json = {}
        for change in changes:
            resources |= _resources(t, change, many)
        template: Json = {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": f"{title(account)} Stack in region {region}.{also}"[:1024],
        }
        if t.parameters:
            template["Parameters"] = t.parameters
        template["Resources"] = resources
        name = f"{account.account_id}-{file_part(region)}.json"
        documents.append(Document(name, json.dumps(template, indent=2) + "\n"))
    return (*documents, *([script] if script else []))
