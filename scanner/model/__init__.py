"""The model layer: plain values every other layer shares. Pure; imports nothing outside the core.

* :mod:`~scanner.model.chain`: the chain's links as a table, link and finding statuses.
* :mod:`~scanner.model.inventory`: what a scan collects (accounts, regions, trails, filters,
  alarms, topics, failed calls).
* :mod:`~scanner.model.findings`: what the evaluator derives (one finding per account and rule).
* :mod:`~scanner.model.arns`: every ARN parse and build.
* :mod:`~scanner.model.codec`: the one dataclass <-> JSON converter.

This module only re-exports.
"""

from __future__ import annotations

from scanner.errors import InventoryError
from scanner.model.arns import (
    AWS_MANAGED_SNS_KEY,
    alarm_arn,
    arn_account,
    arn_partition,
    arn_parts,
    arn_region,
    arn_resource_name,
    arn_service,
    is_aws_managed_sns_key,
    is_sns_topic,
    log_group_arn,
    log_group_of,
    role_arn,
    topic_arn,
    trail_arn,
)
from scanner.model.chain import LINK_SPECS, LINKS, Link, LinkSpec, LinkStatus, Status
from scanner.model.codec import decode, encode, encode_object
from scanner.model.findings import Finding, LinkResult
from scanner.model.inventory import (
    ACCOUNT_ACTIVE,
    ACCOUNT_SUSPENDED,
    Account,
    AdvancedEventSelector,
    Alarm,
    CollectionError,
    CompositeAlarm,
    EventSelector,
    FieldSelector,
    Inventory,
    KmsKey,
    LogGroup,
    MetricFilter,
    MetricQuery,
    MetricStat,
    Region,
    Subscription,
    SubscriptionFilter,
    Topic,
    TopicAccess,
    Trail,
    Transformation,
)

__all__ = [
    "ACCOUNT_ACTIVE",
    "ACCOUNT_SUSPENDED",
    "AWS_MANAGED_SNS_KEY",
    "LINKS",
    "LINK_SPECS",
    "Account",
    "AdvancedEventSelector",
    "Alarm",
    "CollectionError",
    "CompositeAlarm",
    "EventSelector",
    "FieldSelector",
    "Finding",
    "Inventory",
    "InventoryError",
    "KmsKey",
    "Link",
    "LinkResult",
    "LinkSpec",
    "LinkStatus",
    "LogGroup",
    "MetricFilter",
    "MetricQuery",
    "MetricStat",
    "Region",
    "Status",
    "Subscription",
    "SubscriptionFilter",
    "Topic",
    "TopicAccess",
    "Trail",
    "Transformation",
    "alarm_arn",
    "arn_account",
    "arn_partition",
    "arn_parts",
    "arn_region",
    "arn_resource_name",
    "arn_service",
    "decode",
    "encode",
    "encode_object",
    "is_aws_managed_sns_key",
    "is_sns_topic",
    "log_group_arn",
    "log_group_of",
    "role_arn",
    "topic_arn",
    "trail_arn",
]
