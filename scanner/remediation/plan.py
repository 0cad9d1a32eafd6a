"""Which steps repair a failing finding, and every value the fix is written with.

Theory of operation. A FAIL finding names its broken link. The fix repairs that link and every
later link of the finding's chain that is not ok (a trail that delivers nowhere has no filter,
alarm or topic either). Each link becomes one or more *steps* (:func:`_steps_for`); each step
changes some *resources* (:data:`CHANGES`), and each resource acts in the region of its *role*
(:data:`ROLE_OF`: the trail's home region, the log group's, the topic's). This module decides
that, and resolves the values once into a :class:`FindingPlan`; the formats only write it down.

Invariants:

* Pure: no I/O. The plan comes from the finding, the rule, the reference and the context the
  evaluator passes (``account_id``, ``partition``, ``region`` and the names it knows).
* The filter pattern is the canonical text of the reference's meaning, and of its intended
  reading when the published text is broken: the fix must be right, not faithful to a typo.
* What the scan cannot know is an explicit ``<PLACEHOLDER>`` (the e-mail address, the trail's S3
  bucket, the role of an existing delivery, the region of an account without any trail), never a
  guess. Everything else is the account's own: its log group, its topic, its region.
* Nothing is overwritten that may serve something else: an existing metric filter is rewritten only
  when it carries the rule's own filter name, since the filter that came closest may belong to
  another control; otherwise a filter and an alarm with the rule's names are added beside it.
* Alarms notify a topic in their own region (CloudWatch accepts no other): the alarm's current
  topic, else the context's topic with a confirmed subscriber in that region, else a new topic.
* At the notification end (``topic_key``, ``topic_policy``, ``delivery``) only a link the data
  decide broken is repaired (an unknown is no failure), and a policy is written whole: the current
  one with the CloudWatch grant of :mod:`.grants` added once, without the statement that denies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Literal, cast, get_args

from scanner.catalog import Reference, Rule
from scanner.model import (
    Finding,
    Link,
    LinkResult,
    LinkStatus,
    arn_account,
    arn_parts,
    arn_region,
    is_aws_managed_sns_key,
)
from scanner.patterns import render
from scanner.remediation.grants import (
    KEY_SID,
    PUBLISH_SID,
    cloudwatch_key_statement,
    cloudwatch_publish_statement,
    with_statement,
)

# Where a resource lives: the trail's home region, the region of the log group and its alarms,
# or the region of the topic the alarm notifies.
Role = Literal["trail", "monitoring", "topic"]

Step = Literal[
    "new_trail",
    "trail",
    "logging",
    "selectors",
    "log_group",
    "filter",
    "topic",
    "subscriber",
    "topic_key",
    "topic_policy",
    "delivery",
    "alarm",
    "actions",
]
# The order the steps run in (that of the Literal): what a later step uses exists by then.
STEP_ORDER: tuple[Step, ...] = get_args(Step)

# What a fix creates or changes. ``topic`` is a new topic with its subscription; ``subscription``
# a subscription to a topic that exists. At the notification end: ``key`` is the state of the
# topic's KMS key (enabled, not pending deletion), ``key_policy`` its key policy,
# ``topic_encryption`` the topic's KmsMasterKeyId, ``topic_policy`` its access policy, and
# ``subscription_filter`` the filter policies of its subscriptions that drop the alarms.
Resource = Literal[
    "trail",
    "log_group",
    "role",
    "filter",
    "alarm",
    "topic",
    "subscription",
    "key",
    "key_policy",
    "topic_encryption",
    "topic_policy",
    "subscription_filter",
]

ROLE_OF: dict[Resource, Role] = {
    "trail": "trail",
    "role": "trail",  # IAM is global; the role goes with the trail that assumes it
    "log_group": "monitoring",
    "filter": "monitoring",
    "alarm": "monitoring",
    "topic": "topic",
    "subscription": "topic",
    # The topic's key is in the topic's region (SNS accepts no key of another region).
    "key": "topic",
    "key_policy": "topic",
    "topic_encryption": "topic",
    "topic_policy": "topic",
    "subscription_filter": "topic",
}

# The resources each step changes, in the order they are declared. Every trail step changes the
# one trail resource, which is why declarative formats declare the trail once. ``topic_key``
# changes some of its resources, as the key's repair calls for (:data:`KEY_FIXES`).
CHANGES: dict[Step, tuple[Resource, ...]] = {
    "new_trail": ("trail",),
    "trail": ("trail",),
    "logging": ("trail",),
    "selectors": ("trail",),
    "log_group": ("log_group", "role", "trail"),
    "filter": ("filter",),
    "topic": ("topic",),
    "subscriber": ("subscription",),
    "topic_key": ("key", "key_policy", "topic_encryption"),
    "topic_policy": ("topic_policy",),
    "delivery": ("subscription_filter",),
    "alarm": ("alarm",),
    "actions": ("alarm",),
}

# How the topic's key is repaired, and the resources each repair changes:
#
# * ``replace``: the topic uses the AWS managed key alias/aws/sns (whose policy is AWS's and grants
#   CloudWatch nothing), or a key that does not exist: point the topic at a customer managed key
#   whose policy grants CloudWatch (the key's policy first, then the topic's attribute);
# * ``enable``: a customer managed key that is not enabled (cancel its deletion first if pending);
# * ``policy``: a customer managed key whose policy does not let CloudWatch use it.
KeyFix = Literal["replace", "enable", "policy"]
KEY_FIXES: dict[KeyFix, tuple[Resource, ...]] = {
    "replace": ("key_policy", "topic_encryption"),
    "enable": ("key",),
    "policy": ("key_policy",),
}

# What the scan cannot know.
EMAIL = "<EMAIL_ADDRESS>"
S3_BUCKET = "<S3_BUCKET_NAME>"
LOGS_ROLE_ARN = "<CLOUDTRAIL_LOGS_ROLE_ARN>"
REGION = "<REGION>"
LOG_GROUP = "<LOG_GROUP_NAME>"
KMS_KEY_ARN = "<KMS_KEY_ARN>"
PLACEHOLDER = re.compile(r"<[A-Z0-9_]+>")
# What each one stands for (Terraform variables and CloudFormation parameters say so).
PLACEHOLDERS: dict[str, str] = {
    EMAIL: "The e-mail address the alarms notify (confirm the subscription it is sent).",
    S3_BUCKET: "The S3 bucket the trail writes to (its policy must let CloudTrail write).",
    LOGS_ROLE_ARN: "The role the trail assumes to deliver to CloudWatch Logs (its current one).",
    REGION: "The region to monitor from (the account has no trail to go by).",
    LOG_GROUP: "The log group the trail delivers to.",
    KMS_KEY_ARN: (
        "The ARN of a customer managed KMS key to encrypt the topic with, in the topic's region "
        "(CloudWatch cannot use the AWS managed key alias/aws/sns): its key policy must let "
        "cloudwatch.amazonaws.com use it, with the statement this fix adds."
    ),
}

# Names of what remediation creates beyond the rule's own filter, metric and alarm.
NEW_TRAIL_NAME = "management-events"
NEW_TOPIC_NAME = "cloudtrail-monitoring-alarms"
ROLE_NAME = "CloudTrailToCloudWatchLogs"
ROLE_POLICY_NAME = "cloudtrail-to-cloudwatch-logs"

# The role CloudTrail assumes to deliver to CloudWatch Logs.
ASSUME_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def logs_policy(log_streams_arn: object) -> dict[str, object]:
    """The policy that lets CloudTrail write to the log group's streams."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": log_streams_arn,
            }
        ],
    }


def compact_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class RemediationContext:
    """What the scan knows about the chain the finding describes (names, never resources).

    ``region`` is the log group's region, or the trail's home region when there is no log group;
    ``topic_arn`` is a topic of the account with a confirmed subscriber, reused when it is in the
    alarm's region.

    The notification end of the chain (its topic is the alarm's; every field ``""`` when unknown):

    * ``topic_owner``: the account that owns the chain's topic (its policies are changed there);
    * ``organization_id``: the organization of the accounts (the topic policy's grant is scoped
      to the alarm's account all the same: least privilege; the fix mentions the organization-wide
      ``aws:SourceOrgID`` condition as the alternative for a topic shared by many accounts);
    * ``key_arn``: the topic's KMS key ARN, or its KmsMasterKeyId as configured when the key was
      not described;
    * ``key_manager``: ``AWS`` or ``CUSTOMER`` as DescribeKey says; anything but ``CUSTOMER`` (the
      AWS managed key, a key that does not exist) makes the fix point the topic at another key;
    * ``key_state``: ``Enabled``, ``Disabled``, ``PendingDeletion``, ...;
    * ``key_policy``: the key's current key policy, JSON text (the fix adds to it; unknown, the
      fix gives the statement to merge);
    * ``topic_policy``: the topic's current access policy, JSON text (``""``: it has none);
    * ``denying_statement``: the ``Sid``, or ``statement N`` (1-based), of the statement that
      explicitly denies in the policy the broken link judges (the key policy for ``topic_key``,
      the access policy for ``topic_policy``): the new policy leaves it out;
    * ``filtered_subscriptions``: the ARNs, comma-separated, of the confirmed subscriptions whose
      filter policy drops the alarm's notification.
    """

    account_id: str
    partition: str = "aws"
    region: str | None = None
    trail_name: str | None = None
    trail_home_region: str | None = None
    log_group_name: str | None = None
    log_group_region: str | None = None
    filter_name: str | None = None
    metric_name: str | None = None
    metric_namespace: str | None = None
    alarm_name: str | None = None
    topic_arn: str | None = None
    # The dimension keys the filter's metric is published with, comma-separated: an alarm
    # without them hears nothing, and one on some values hears only those events; the fix
    # drops them.
    filter_dimensions: str = ""
    topic_owner: str = ""
    organization_id: str = ""
    key_arn: str = ""
    key_manager: str = ""
    key_state: str = ""
    key_policy: str = ""
    topic_policy: str = ""
    denying_statement: str = ""
    filtered_subscriptions: str = ""

    @classmethod
    def of(cls, values: Mapping[str, str]) -> RemediationContext:
        """From the evaluator's mapping; an unknown key is a caller's error (``ValueError``)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown remediation context key {unknown[0]!r}")
        if "account_id" not in values:
            raise ValueError("remediation context lacks 'account_id'")
        return cls(**values)


@dataclass(frozen=True, slots=True)
class FindingPlan:
    """The fix of one FAIL finding: its steps (in :data:`STEP_ORDER`) and their values.

    ``values`` are unquoted; each format quotes them its own way. ``existing`` names the declared
    resources that already exist, with the id a tool adopts (imports) each by: ``trail`` (its
    ARN), ``filter`` (``<log group>:<filter name>``), ``alarm`` (its name), ``topic_encryption``
    (the topic's ARN), ``topic_policy`` (the topic's ARN: every topic has an access policy) and
    ``key_policy`` (the key's id: every key has a key policy). These are the import ids of the
    Terraform AWS provider, which the Terraform format uses as they are.
    """

    finding: Finding
    steps: tuple[Step, ...]
    regions: dict[Role, str]
    values: dict[str, str]
    existing: dict[Resource, str]

    @property
    def account_id(self) -> str:
        """The account the fix acts in (for an organization trail's member: the management's)."""
        return self.values["account_id"]

    def region(self, resource: Resource) -> str:
        return self.regions[ROLE_OF[resource]]

    def changes(self, step: Step) -> tuple[Resource, ...]:
        """The resources ``step`` changes in this plan (``topic_key``: as the key's fix says)."""
        if step == "topic_key":
            return KEY_FIXES[cast(KeyFix, self.values["key_fix"])]
        return CHANGES[step]

    def exists(self, resource: Resource) -> str:
        """How a declared resource that exists is named (``Trail "main"``); ``""`` if it is new."""
        if not self.existing.get(resource):
            return ""
        kind, name = _DESCRIBED[resource]
        return f'{kind} "{self.values[name]}"'

    def key(self, resource: Resource) -> tuple[str, ...]:
        """What a change acts on: the fixes of two findings that change it are one fix."""
        # IAM is global: one role of that name per account, whichever region its trail is in.
        region = "" if resource == "role" else self.region(resource)
        return (resource, region, *(self.values[name] for name in _KEY[resource]))


# The values that tell one resource from another of its kind in a region.
_KEY: dict[Resource, tuple[str, ...]] = {
    "trail": ("trail_name",),
    "log_group": ("log_group_name",),
    "role": ("role_name",),
    "filter": ("log_group_name", "filter_name"),
    "alarm": ("alarm_name",),
    "topic": ("topic_arn",),
    "subscription": ("topic_arn",),
    "key": ("key_arn",),
    "key_policy": ("key_arn",),
    "topic_encryption": ("topic_arn",),
    "topic_policy": ("topic_arn",),
    "subscription_filter": ("topic_arn", "filtered_subscriptions"),
}

# How a resource that may exist is named: its kind and the value holding its name.
_DESCRIBED: dict[Resource, tuple[str, str]] = {
    "trail": ("Trail", "trail_name"),
    "filter": ("Metric filter", "filter_name"),
    "alarm": ("Alarm", "alarm_name"),
    "topic_encryption": ("Topic", "topic_name"),
    "topic_policy": ("The access policy of topic", "topic_name"),
    "key_policy": ("The key policy of key", "key_arn"),
}

# --------------------------------------------------------------------------------------------
# Which steps apply.


@dataclass(frozen=True, slots=True)
class _Choices:
    trail_exists: bool
    filter_in_place: bool
    metric_known: bool
    filter_dimensions: bool = False
    filtered_subscriptions: bool = False


def _links(finding: Finding) -> dict[Link, LinkResult]:
    return {result.link: result for result in finding.chain}


def _status(links: Mapping[Link, LinkResult], link: Link) -> LinkStatus:
    found = links.get(link)
    return found.status if found is not None else LinkStatus.MISSING


def _alarm_topic(links: Mapping[Link, LinkResult]) -> str | None:
    """The SNS topic among the alarm's actions, when the chain got that far."""
    found = links.get(Link.TOPIC)
    if found is None or found.status is LinkStatus.MISSING or not found.resource:
        return None
    return found.resource


# The links whose repair is always the same one step.
_ONE_STEP: dict[Link, tuple[Step, ...]] = {
    Link.LOGGING: ("logging",),
    Link.SELECTORS: ("selectors",),
    Link.LOG_GROUP: ("log_group",),
    Link.ALARM_CONDITION: ("alarm",),
}


# The links at the notification end, judged from what the scan read of the topic and its key.
_NOTIFICATION = (Link.TOPIC_KEY, Link.TOPIC_POLICY, Link.DELIVERY)


def _steps_for(link: Link, links: Mapping[Link, LinkResult], c: _Choices) -> tuple[Step, ...]:
    """The steps that repair one link not ok; the few exceptions to "one link, one step"."""
    if link is Link.TRAIL:
        return ("trail",) if c.trail_exists else ("new_trail",)
    if link is Link.FILTER:
        return ("filter",) if c.filter_in_place else ("filter", "alarm")
    if link is Link.ALARM:
        return ("alarm",) if c.metric_known else ("filter", "alarm")
    if link is Link.ACTIONS:
        # The alarm has an SNS action (the chain reached the topic): its actions are disabled.
        return ("actions",) if _alarm_topic(links) else ("alarm",)
    if link is Link.TOPIC:
        return ("topic",) if _alarm_topic(links) else ()
    if link is Link.SUBSCRIBER:
        return ("subscriber",) if _alarm_topic(links) else ()
    if link in _NOTIFICATION and (
        not _alarm_topic(links) or _status(links, link) is not LinkStatus.BROKEN
    ):
        # Not reached, or not decided: nothing says what to repair (an unknown is no failure).
        return ()
    if link is Link.TOPIC_KEY:
        return ("topic_key",)
    if link is Link.TOPIC_POLICY:
        return ("topic_policy",)
    if link is Link.DELIVERY:
        # Which subscriptions drop the alarms is known: lift their filters; else someone who
        # reads the topic without a filter.
        return ("delivery",) if c.filtered_subscriptions else ("subscriber",)
    return _ONE_STEP[link]


def _plan_steps(finding: Finding, c: _Choices, new_topic: bool) -> tuple[Step, ...]:
    assert finding.broken_link is not None
    links = _links(finding)
    todo = [
        spec_link
        for spec_link in Link
        if spec_link.position >= finding.broken_link.position
        and (spec_link is finding.broken_link or _status(links, spec_link) is not LinkStatus.OK)
    ]
    steps: set[Step] = {step for link in todo for step in _steps_for(link, links, c)}
    if "alarm" in steps and c.filter_dimensions:
        # The new alarm has no dimensions: the filter is rewritten without them too (one
        # metric, every event), or a new one is added beside it.
        steps.add("filter")
    if "alarm" in steps:
        steps.discard("actions")  # put-metric-alarm enables the actions it sets
        if new_topic:
            steps.add("topic")
    if "topic" in steps:
        # The new topic gets its subscription, no key and the default access policy.
        steps -= {"subscriber", "topic_key", "topic_policy", "delivery"}
    return tuple(step for step in STEP_ORDER if step in steps)


# --------------------------------------------------------------------------------------------
# The values.


def _intended(rule: Rule, reference: Reference, profile: str) -> Reference:
    """The reference to create: its intended reading when the published text is broken."""
    if reference.broken is None:
        return reference
    for candidate in rule.references:
        if candidate.kind == "intended" and reference.name in candidate.reading_of:
            return candidate
    return rule.accepted_in(profile)[0]


def _regions(
    links: Mapping[Link, LinkResult], ctx: RemediationContext, alarm_topic: str | None
) -> tuple[str, str]:
    """The trail's home region and the region of the log group and its alarms."""
    trail_link = links.get(Link.TRAIL)
    trail = (trail_link.region if trail_link and ctx.trail_name else None) or (
        ctx.trail_home_region or ctx.region
    )
    monitoring = ctx.log_group_region or ctx.region or trail
    if monitoring is None and (alarm_topic or ctx.topic_arn):
        # No trail at all: settle where the account already reads notifications.
        monitoring = arn_region(alarm_topic or ctx.topic_arn or "") or None
    monitoring = monitoring or REGION
    return trail or monitoring, monitoring


def resource_name(arn: str) -> str:
    """The last part of an ARN's resource (a topic's name); the text itself if not an ARN."""
    try:
        return arn_parts(arn)[4].rsplit(":", 1)[-1]
    except ValueError:
        return arn


def key_id(key: str) -> str:
    """A KMS key's id (``1234abcd-...``) from its ARN; any other text as it is."""
    try:
        resource = arn_parts(key)[4]
    except ValueError:
        return key
    return resource.removeprefix("key/")


def _key_fix(ctx: RemediationContext) -> KeyFix:
    """How the topic's key is repaired (see :data:`KEY_FIXES`)."""
    if ctx.key_manager != "CUSTOMER" or is_aws_managed_sns_key(ctx.key_arn):
        return "replace"
    return "enable" if ctx.key_state and ctx.key_state != "Enabled" else "policy"


def _notification_values(
    ctx: RemediationContext, broken: Link | None, topic_arn: str
) -> dict[str, str]:
    """The values of the ``topic_key``, ``topic_policy`` and ``delivery`` steps.

    ``key_policy`` and ``topic_policy`` are the complete new policies (the current one with the
    CloudWatch statement, without the denying statement of the broken link's policy);
    ``key_policy`` is ``""`` when the current key policy is unknown (the statement alone is given,
    to merge). Flags are ``""`` when false, for the formats' conditional blocks."""
    key_fix = _key_fix(ctx)
    key_drop = ctx.denying_statement if broken is Link.TOPIC_KEY else ""
    topic_drop = ctx.denying_statement if broken is Link.TOPIC_POLICY else ""
    owner = ctx.topic_owner or arn_account(topic_arn) or ctx.account_id
    key_statement = cloudwatch_key_statement()
    key_policy = (
        with_statement(ctx.key_policy, key_statement, drop=key_drop or None)
        if key_fix == "policy" and ctx.key_policy
        else ""
    )
    publish = cloudwatch_publish_statement(topic_arn, ctx.account_id)
    return {
        "key_fix": key_fix,
        "key_arn": KMS_KEY_ARN if key_fix == "replace" else ctx.key_arn,
        "key_state": ctx.key_state,
        "key_pending_deletion": "yes" if ctx.key_state == "PendingDeletion" else "",
        "key_sid": KEY_SID,
        "key_statement": compact_json(key_statement),
        "key_policy": key_policy,
        "key_policy_drop": key_drop,
        "topic_policy": with_statement(ctx.topic_policy, publish, drop=topic_drop or None),
        "topic_policy_drop": topic_drop,
        "publish_sid": PUBLISH_SID,
        "publish_statement": compact_json(publish),
        "topic_owner": owner,
        "topic_elsewhere": owner if owner != ctx.account_id else "",
        "organization_id": ctx.organization_id,
        "filtered_subscriptions": ctx.filtered_subscriptions,
    }


def plan_finding(
    finding: Finding, rule: Rule, reference: Reference, ctx: RemediationContext
) -> FindingPlan:
    """The plan of a FAIL finding (its ``broken_link`` set)."""
    names = rule.remediation
    links = _links(finding)
    account, partition = ctx.account_id, ctx.partition
    alarm_topic = _alarm_topic(links)
    trail_region, monitoring = _regions(links, ctx, alarm_topic)

    # The topic to notify: the alarm's own, else a subscribed one in its region, else a new one.
    known = ctx.topic_arn if ctx.topic_arn and arn_region(ctx.topic_arn) == monitoring else None
    topic_arn = alarm_topic or known
    new_topic = topic_arn is None
    topic_arn = topic_arn or f"arn:{partition}:sns:{monitoring}:{account}:{NEW_TOPIC_NAME}"

    filter_in_place = ctx.filter_name == names.filter_name
    choices = _Choices(
        trail_exists=ctx.trail_name is not None,
        filter_in_place=filter_in_place,
        metric_known=ctx.metric_name is not None and ctx.metric_namespace is not None,
        filter_dimensions=bool(ctx.filter_dimensions),
        filtered_subscriptions=bool(ctx.filtered_subscriptions),
    )
    steps = _plan_steps(finding, choices, new_topic)

    # The metric and alarm: kept when the existing filter stays (or is ours), the rule's otherwise.
    keep = not (("filter" in steps and not filter_in_place) or not choices.metric_known)
    metric_name = (ctx.metric_name if keep else None) or names.metric_name
    namespace = (ctx.metric_namespace if keep else None) or names.metric_namespace
    alarm_name = (ctx.alarm_name if keep else None) or names.alarm_name
    log_group = ctx.log_group_name or (
        f"aws-cloudtrail-logs-{account}" if "log_group" in steps else LOG_GROUP
    )
    log_group_arn = f"arn:{partition}:logs:{monitoring}:{account}:log-group:{log_group}"
    filter_name = ctx.filter_name if filter_in_place and ctx.filter_name else names.filter_name
    values = {
        "account_id": account,
        "rule_id": rule.id,
        "rule_title": rule.title,
        "broken_link": str(finding.broken_link),
        "trail_name": ctx.trail_name or NEW_TRAIL_NAME,
        "s3_bucket": S3_BUCKET,
        "log_group_name": log_group,
        "log_group_arn": log_group_arn + ":*",
        "log_streams_arn": log_group_arn + ":log-stream:*",
        "role_name": ROLE_NAME,
        "role_policy_name": ROLE_POLICY_NAME,
        "role_arn": f"arn:{partition}:iam::{account}:role/{ROLE_NAME}"
        if "log_group" in steps
        else LOGS_ROLE_ARN,
        "assume_role_policy": compact_json(ASSUME_ROLE_POLICY),
        "logs_policy": compact_json(logs_policy(log_group_arn + ":log-stream:*")),
        "filter_name": filter_name,
        "pattern": render(_intended(rule, reference, finding.profile).pattern),
        "metric_name": metric_name,
        "metric_namespace": namespace,
        "metric_transformations": compact_json(
            [{"metricName": metric_name, "metricNamespace": namespace, "metricValue": "1"}]
        ),
        "alarm_name": alarm_name,
        "alarm_description": names.alarm_description,
        "topic_arn": topic_arn,
        "topic_name": resource_name(topic_arn) if alarm_topic else NEW_TOPIC_NAME,
        "email": EMAIL,
        **_notification_values(ctx, finding.broken_link, topic_arn),
    }
    existing: dict[Resource, str] = {}
    trail_link = links.get(Link.TRAIL)
    if ctx.trail_name and trail_link is not None:
        existing["trail"] = trail_link.resource
    if filter_in_place:
        existing["filter"] = f"{log_group}:{filter_name}"
    if ctx.alarm_name == alarm_name:
        existing["alarm"] = alarm_name
    if "topic_key" in steps and values["key_fix"] == "replace":
        existing["topic_encryption"] = topic_arn
    if "topic_policy" in steps:
        existing["topic_policy"] = topic_arn
    if "topic_key" in steps and values["key_policy"]:  # the whole policy is known: declared
        existing["key_policy"] = key_id(values["key_arn"])
    regions: dict[Role, str] = {
        "trail": trail_region,
        "monitoring": monitoring,
        "topic": arn_region(topic_arn) or monitoring,
    }
    return FindingPlan(finding, steps, regions, values, existing)


__all__ = [
    "CHANGES",
    "EMAIL",
    "KEY_FIXES",
    "KMS_KEY_ARN",
    "LOGS_ROLE_ARN",
    "LOG_GROUP",
    "NEW_TOPIC_NAME",
    "NEW_TRAIL_NAME",
    "PLACEHOLDER",
    "PLACEHOLDERS",
    "REGION",
    "ROLE_NAME",
    "ROLE_OF",
    "S3_BUCKET",
    "STEP_ORDER",
    "FindingPlan",
    "KeyFix",
    "RemediationContext",
    "Resource",
    "Role",
    "Step",
    "plan_finding",
]
