"""The chain of links that makes a monitoring control work, as a table, and the verdict words.

Data first: :data:`LINKS` lists the links in chain order, what each one checks and what its failure
means. Findings, the CLI, the metrics and the remediation all speak in these link names; adding a
link means adding a row here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Link(enum.StrEnum):
    """One link of the chain that makes a monitoring control work, in chain order."""

    TRAIL = "trail"
    LOGGING = "logging"
    SELECTORS = "selectors"
    LOG_GROUP = "log_group"
    FILTER = "filter"
    ALARM = "alarm"
    ALARM_CONDITION = "alarm_condition"
    ACTIONS = "actions"
    TOPIC = "topic"
    SUBSCRIBER = "subscriber"
    TOPIC_KEY = "topic_key"
    TOPIC_POLICY = "topic_policy"
    DELIVERY = "delivery"

    @property
    def position(self) -> int:
        """0 for the trail, 12 for delivery: how far along the chain the link sits."""
        return _LINK_ORDER[self]


@dataclass(frozen=True, slots=True)
class LinkSpec:
    link: Link
    checks: str
    failure_means: str


LINKS: tuple[LinkSpec, ...] = (
    LinkSpec(
        Link.TRAIL,
        "a CloudTrail trail records events of every region (multi-region)",
        "events in the other regions are never recorded",
    ),
    LinkSpec(
        Link.LOGGING,
        "the trail is logging (not stopped)",
        "no event is recorded at all",
    ),
    LinkSpec(
        Link.SELECTORS,
        "the trail records every management event the rule can watch: its event sources (any "
        "source for root usage and unauthorized calls), read and write unless all are writes",
        "some events the control watches are never recorded",
    ),
    LinkSpec(
        Link.LOG_GROUP,
        "the trail delivers to a CloudWatch Logs group that exists",
        "recorded events never reach a metric filter",
    ),
    LinkSpec(
        Link.FILTER,
        "a metric filter on that log group (or several whose chains work, together) covers the "
        "control's reference, and matches no routine event (over-broad)",
        "some events the control watches produce no metric datapoint",
    ),
    LinkSpec(
        Link.ALARM,
        "a CloudWatch alarm in the log group's region watches the filter's metric, with its "
        "dimensions (an alarm on some values hears only those events)",
        "the metric is counted but nobody looks at it",
    ),
    LinkSpec(
        Link.ALARM_CONDITION,
        "the alarm goes to ALARM on one single matching event (statistic, unit, threshold, "
        "datapoints; M of N late on a sparse metric) and is not sitting in ALARM",
        "a single event (or the quiet state) does not change the alarm's state",
    ),
    LinkSpec(
        Link.ACTIONS,
        "the alarm has actions enabled and an SNS topic among its ALARM actions, or notifies "
        "through a composite alarm that goes to ALARM with it",
        "the alarm changes state silently",
    ),
    LinkSpec(
        Link.TOPIC,
        "the SNS topic of the alarm action exists",
        "notifications are published nowhere",
    ),
    LinkSpec(
        Link.SUBSCRIBER,
        "the topic has at least one confirmed subscription",
        "notifications reach nobody",
    ),
    LinkSpec(
        Link.TOPIC_KEY,
        "the topic is not encrypted, or with a KMS key CloudWatch may use: a customer managed key "
        "that is enabled and whose key policy lets cloudwatch.amazonaws.com use it "
        "(kms:Decrypt, kms:GenerateDataKey*); never the AWS managed key alias/aws/sns",
        "CloudWatch cannot publish to the topic: every notification is lost",
    ),
    LinkSpec(
        Link.TOPIC_POLICY,
        "the topic's access policy lets the alarm publish (an explicit Deny wins; a topic in "
        "another account needs a grant to cloudwatch.amazonaws.com or to the alarm's account)",
        "the alarm's sns:Publish is refused: the notification never enters the topic",
    ),
    LinkSpec(
        Link.DELIVERY,
        "some confirmed subscription's filter policy accepts the alarm's notification (attribute "
        "scope: alarms carry no message attributes; body scope: the alarm's JSON)",
        "the topic drops the notification before it reaches anyone",
    ),
)

_LINK_ORDER: dict[Link, int] = {spec.link: i for i, spec in enumerate(LINKS)}
LINK_SPECS: dict[Link, LinkSpec] = {spec.link: spec for spec in LINKS}


class LinkStatus(enum.StrEnum):
    OK = "ok"
    BROKEN = "broken"  # definitively broken: the data say so
    UNKNOWN = "unknown"  # a datum is missing because a call failed, or cannot be proven
    MISSING = "missing"  # not reached: an earlier link leaves nothing to look at


class Status(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
