"""Test support for our tests and our users': inventories, emulated organizations, the demo.

* :mod:`~scanner.testing.builders`: healthy accounts and organizations as model values, and the
  ``with_*`` helpers that break exactly one link (re-exported here).
* :mod:`~scanner.testing.emulation`: an organization described as data, seeded into moto's
  backends in process and served over HTTP, so the real collector can scan it.
* :mod:`~scanner.testing.demo`: the demo organization, every way a control breaks.

This module only re-exports the builders; import the other two by name (they need moto).
"""

from __future__ import annotations

from scanner.testing.builders import (
    HOME_REGION,
    LOG_GROUP_NAME,
    MANAGEMENT_ACCOUNT_ID,
    MEMBER_ACCOUNT_ID,
    ORGANIZATION_ID,
    OTHER_REGIONS,
    SUBSCRIBER,
    TOPIC_NAME,
    TRAIL_NAME,
    alarm_arn,
    event_name_pattern,
    event_names,
    healthy_account,
    healthy_alarm,
    healthy_filter,
    healthy_topic,
    log_group_arn,
    member_account,
    organization,
    replace_account,
    rules_for,
    single_account,
    synthetic_finding,
    topic_arn,
    trail_arn,
    with_alarm,
    with_errors,
    with_filter,
    with_log_group,
    with_region,
    with_regions,
    with_topic,
    with_trail,
    with_transformation,
)

__all__ = [
    "HOME_REGION",
    "LOG_GROUP_NAME",
    "MANAGEMENT_ACCOUNT_ID",
    "MEMBER_ACCOUNT_ID",
    "ORGANIZATION_ID",
    "OTHER_REGIONS",
    "SUBSCRIBER",
    "TOPIC_NAME",
    "TRAIL_NAME",
    "alarm_arn",
    "event_name_pattern",
    "event_names",
    "healthy_account",
    "healthy_alarm",
    "healthy_filter",
    "healthy_topic",
    "log_group_arn",
    "member_account",
    "organization",
    "replace_account",
    "rules_for",
    "single_account",
    "synthetic_finding",
    "topic_arn",
    "trail_arn",
    "with_alarm",
    "with_errors",
    "with_filter",
    "with_log_group",
    "with_region",
    "with_regions",
    "with_topic",
    "with_trail",
    "with_transformation",
]
