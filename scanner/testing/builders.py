"""Emulated accounts and organizations with healthy monitoring chains, for tests and demos.

Our own tests, the demo and our users' tests build inventories with this one module, so what
"healthy" means is written once. A healthy account has, for every rule asked for, the chain the
evaluator wants: a multi-region, logging trail recording all management events into a log
group; on it a metric filter with the rule's preferred reference pattern (``metric_value`` 1,
no default value); an alarm ``Sum >= 1`` over one period on that metric with actions enabled;
an SNS topic with one confirmed e-mail subscription. Resource names are the rule's remediation
names from the catalog, so findings and remediation read like the real thing.

Every builder returns plain :mod:`scanner.model` values; the ``with_*`` helpers return a changed
copy (values are immutable), which is how a test breaks exactly one link::

    account = healthy_account(rules=["root-account-usage"])
    broken = with_trail(account, is_logging=False)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from typing import Any

from scanner.catalog import Catalog, Rule, load_catalog
from scanner.model import (
    Account,
    Alarm,
    CollectionError,
    EventSelector,
    Finding,
    Inventory,
    Link,
    LogGroup,
    MetricFilter,
    Region,
    Status,
    Subscription,
    SubscriptionFilter,
    Topic,
    TopicAccess,
    Trail,
    Transformation,
    arns,
)
from scanner.patterns import Comparison, Op, atoms, render
from scanner.patterns.ast import StringValue
from scanner.remediation.grants import cloudwatch_publish_statement, with_statement

MANAGEMENT_ACCOUNT_ID = "111111111111"
MEMBER_ACCOUNT_ID = "222222222222"
ORGANIZATION_ID = "o-exampleorgid"
HOME_REGION = "us-east-1"
OTHER_REGIONS = ("eu-west-1",)
TRAIL_NAME = "management-events"
LOG_GROUP_NAME = "aws-cloudtrail-logs"
TOPIC_NAME = "security-alerts"
SUBSCRIBER = "security@example.com"


def trail_arn(account_id: str, region: str = HOME_REGION, name: str = TRAIL_NAME) -> str:
    """:func:`scanner.model.arns.trail_arn` with this module's defaults."""
    return arns.trail_arn(account_id, region, name)


def log_group_arn(account_id: str, region: str = HOME_REGION, name: str = LOG_GROUP_NAME) -> str:
    return arns.log_group_arn(account_id, region, name)


def topic_arn(account_id: str, region: str = HOME_REGION, name: str = TOPIC_NAME) -> str:
    return arns.topic_arn(account_id, region, name)


def alarm_arn(account_id: str, region: str, name: str) -> str:
    return arns.alarm_arn(account_id, region, name)


def rules_for(
    rules: Iterable[str] | None, profile: str | None, catalog: Catalog | None
) -> tuple[Rule, ...]:
    """The catalog rules named (all of the profile's when ``rules`` is ``None``)."""
    catalog = catalog or load_catalog()
    if rules is None:
        return catalog.rules_in(catalog.profile(profile))
    return tuple(catalog.rule(rule_id) for rule_id in rules)


def healthy_filter(rule: Rule, profile: str, log_group: str = LOG_GROUP_NAME) -> MetricFilter:
    names = rule.remediation
    pattern = render(rule.accepted_in(profile)[0].pattern)
    transformation = Transformation(names.metric_name, names.metric_namespace, "1")
    return MetricFilter(names.filter_name, log_group, pattern, (transformation,))


def healthy_alarm(rule: Rule, account_id: str, region: str, topic: str) -> Alarm:
    names = rule.remediation
    return Alarm(
        name=names.alarm_name,
        arn=alarm_arn(account_id, region, names.alarm_name),
        comparison_operator="GreaterThanOrEqualToThreshold",
        evaluation_periods=1,
        metric_name=names.metric_name,
        namespace=names.metric_namespace,
        statistic="Sum",
        period=300,
        threshold=1.0,
        treat_missing_data="notBreaching",
        alarm_actions=(topic,),
    )


def default_topic_policy(arn: str) -> str:
    """The access policy SNS gives a new topic: the owner account only (``AWS:SourceOwner``)."""
    policy = {
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [
            {
                "Sid": "__default_statement_ID",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "SNS:GetTopicAttributes",
                    "SNS:SetTopicAttributes",
                    "SNS:AddPermission",
                    "SNS:RemovePermission",
                    "SNS:DeleteTopic",
                    "SNS:Subscribe",
                    "SNS:ListSubscriptionsByTopic",
                    "SNS:Publish",
                ],
                "Resource": arn,
                "Condition": {"StringEquals": {"AWS:SourceOwner": arns.arn_account(arn)}},
            }
        ],
    }
    return json.dumps(policy)


def organization_publish_policy(arn: str, organization_id: str) -> str:
    """The default policy plus the grant a central topic needs: CloudWatch may publish for any
    account of the organization (``aws:SourceOrgID``)."""
    grant = cloudwatch_publish_statement(arn, organization_id=organization_id)
    return with_statement(default_topic_policy(arn), grant)


def healthy_topic(arn: str, endpoint: str = SUBSCRIBER) -> Topic:
    """A topic as SNS creates it (default access policy, no encryption) with one confirmed
    e-mail subscription without a filter policy."""
    subscription = Subscription(
        f"{arn}:0f1e2d3c", "email", endpoint, confirmed=True, filter=SubscriptionFilter()
    )
    return Topic(arn, subscriptions=(subscription,), access=TopicAccess(default_topic_policy(arn)))


def healthy_account(
    account_id: str = MEMBER_ACCOUNT_ID,
    name: str = "workload",
    *,
    rules: Iterable[str] | None = None,
    profile: str | None = None,
    catalog: Catalog | None = None,
    home_region: str = HOME_REGION,
    other_regions: Iterable[str] = OTHER_REGIONS,
    organization_trail: bool = False,
    ou_path: tuple[str, ...] = (),
) -> Account:
    """An account whose own trail, filters, alarms and topic make every chosen rule PASS."""
    catalog = catalog or load_catalog()
    profile_name = catalog.profile(profile).name
    chosen = rules_for(rules, profile_name, catalog)
    topic = topic_arn(account_id, home_region)
    trail = Trail(
        name=TRAIL_NAME,
        arn=trail_arn(account_id, home_region),
        home_region=home_region,
        is_multi_region=True,
        is_organization_trail=organization_trail,
        is_logging=True,
        event_selectors=(EventSelector("All", True),),
        advanced_event_selectors=(),
        log_group_arn=log_group_arn(account_id, home_region),
    )
    filters = tuple(healthy_filter(rule, profile_name) for rule in chosen)
    home = Region(
        trails=(trail,),
        log_groups={LOG_GROUP_NAME: LogGroup(LOG_GROUP_NAME, metric_filters=filters)},
        alarms=tuple(healthy_alarm(rule, account_id, home_region, topic) for rule in chosen),
        topics={topic: healthy_topic(topic)},
    )
    regions = {home_region: home}
    regions.update({region: Region(trails=(trail,)) for region in other_regions})
    return Account(account_id, name, ou_path=ou_path, regions=regions)


def member_account(
    account_id: str = MEMBER_ACCOUNT_ID,
    name: str = "workload",
    *,
    management_account_id: str = MANAGEMENT_ACCOUNT_ID,
    home_region: str = HOME_REGION,
    regions: Iterable[str] = (HOME_REGION, *OTHER_REGIONS),
    ou_path: tuple[str, ...] = ("Workloads",),
) -> Account:
    """A member with no monitoring of its own: DescribeTrails shows the organization trail."""
    org_trail = Trail(
        name=TRAIL_NAME,
        arn=trail_arn(management_account_id, home_region),
        home_region=home_region,
        is_multi_region=True,
        is_organization_trail=True,
        log_group_arn=log_group_arn(management_account_id, home_region),
    )
    return Account(
        account_id,
        name,
        ou_path=ou_path,
        regions={region: Region(trails=(org_trail,)) for region in regions},
    )


def organization(
    members: Iterable[Account] | int = 1,
    *,
    rules: Iterable[str] | None = None,
    profile: str | None = None,
    catalog: Catalog | None = None,
    management_account_id: str = MANAGEMENT_ACCOUNT_ID,
) -> Inventory:
    """An organization whose management account's organization trail covers every member.

    ``members`` is a list of accounts or how many :func:`member_account` to make.
    """
    if isinstance(members, int):
        count = members
        members = [
            member_account(f"{int(MEMBER_ACCOUNT_ID) + i:012d}", f"workload-{i + 1}")
            for i in range(count)
        ]
    management = healthy_account(
        management_account_id,
        "management",
        rules=rules,
        profile=profile,
        catalog=catalog,
        organization_trail=True,
        ou_path=(),
    )
    return Inventory(management_account_id, ORGANIZATION_ID, (management, *members))


def single_account(account: Account | None = None) -> Inventory:
    """An inventory of one stand-alone account (healthy for every rule by default)."""
    return Inventory(accounts=(account or healthy_account(),))


# --------------------------------------------------------------------------------------------
# Changing one thing.


def with_regions(account: Account, change: Callable[[str, Region], Region]) -> Account:
    """A copy with ``change(name, region)`` applied to every region."""
    regions = {name: change(name, region) for name, region in account.regions.items()}
    return dataclasses.replace(account, regions=regions)


def with_region(account: Account, region: str, **changes: Any) -> Account:
    """A copy with fields of one region replaced (e.g. ``alarms=None``)."""

    def change(name: str, found: Region) -> Region:
        return dataclasses.replace(found, **changes) if name == region else found

    return with_regions(account, change)


def _changed(items: tuple[Any, ...] | None, name: str, changes: dict[str, Any]) -> Any:
    """``items`` with the one(s) called ``name`` changed; ``None`` (unknown) stays unknown."""
    if items is None:
        return None
    return tuple(dataclasses.replace(i, **changes) if i.name == name else i for i in items)


def _changed_at(mapping: dict[str, Any], key: str, changes: dict[str, Any]) -> dict[str, Any]:
    if key not in mapping:
        return mapping
    return {**mapping, key: dataclasses.replace(mapping[key], **changes)}


def with_trail(account: Account, name: str = TRAIL_NAME, **changes: Any) -> Account:
    """A copy where every copy of trail ``name`` (in every region) has ``changes``."""
    return with_regions(
        account,
        lambda _, r: dataclasses.replace(r, trails=_changed(r.trails, name, changes)),
    )


def with_log_group(account: Account, name: str = LOG_GROUP_NAME, **changes: Any) -> Account:
    return with_regions(
        account,
        lambda _, r: dataclasses.replace(r, log_groups=_changed_at(r.log_groups, name, changes)),
    )


def with_filter(account: Account, name: str, **changes: Any) -> Account:
    """A copy where the metric filter ``name`` has ``changes`` (e.g. ``pattern=...``)."""

    def change(_: str, region: Region) -> Region:
        groups = {
            key: dataclasses.replace(g, metric_filters=_changed(g.metric_filters, name, changes))
            for key, g in region.log_groups.items()
        }
        return dataclasses.replace(region, log_groups=groups)

    return with_regions(account, change)


def with_transformation(account: Account, filter_name: str, **changes: Any) -> Account:
    """A copy where the metric filter's transformations have ``changes``."""
    for region in account.regions.values():
        for group in region.log_groups.values():
            for found in group.metric_filters or ():
                if found.name == filter_name:
                    transformations = tuple(
                        dataclasses.replace(t, **changes) for t in found.transformations
                    )
                    return with_filter(account, filter_name, transformations=transformations)
    raise KeyError(f"no metric filter {filter_name!r} in account {account.id}")


def with_alarm(account: Account, name: str, **changes: Any) -> Account:
    """A copy where the alarm ``name`` has ``changes`` (e.g. ``threshold=2.0``)."""
    return with_regions(
        account,
        lambda _, r: dataclasses.replace(r, alarms=_changed(r.alarms, name, changes)),
    )


def with_topic(account: Account, arn: str, **changes: Any) -> Account:
    """A copy where the topic ``arn`` has ``changes`` (e.g. ``exists=False``)."""
    return with_regions(
        account,
        lambda _, r: dataclasses.replace(r, topics=_changed_at(r.topics, arn, changes)),
    )


def with_errors(account: Account, *errors: CollectionError) -> Account:
    """A copy that also records ``errors`` as failed calls."""
    return dataclasses.replace(account, errors=(*account.errors, *errors))


def replace_account(inventory: Inventory, account: Account) -> Inventory:
    """A copy of the inventory where the account with ``account.id`` is ``account``."""
    accounts = tuple(account if a.id == account.id else a for a in inventory.accounts)
    return dataclasses.replace(inventory, accounts=accounts)


def synthetic_finding(
    status: Status,
    account_id: str = MANAGEMENT_ACCOUNT_ID,
    rule: str = "root-account-usage",
    broken_link: Link = Link.FILTER,
    remediation: dict[str, str] | None = None,
) -> Finding:
    """A finding made up for a test of what consumes findings (state, transitions, alerts,
    metrics), without an inventory behind it; ``broken_link`` applies to a FAIL only."""
    return Finding(
        account_id=account_id,
        account_name=f"name-{account_id}",
        rule=rule,
        title=f"title of {rule}",
        severity="high",
        profile="recommended",
        status=status,
        reason=f"{rule} is {status.value}",
        broken_link=broken_link if status is Status.FAIL else None,
        remediation=dict(remediation or {}),
    )


def event_names(rule_id: str, profile: str = "recommended") -> tuple[str, ...]:
    """The event names a rule's preferred reference lists, in its order: test data taken from
    the catalog rather than copied by hand."""
    reference = load_catalog().rule(rule_id).accepted_in(profile)[0]
    return tuple(
        dict.fromkeys(
            atom.value.text
            for atom in atoms(reference.pattern.expr)
            if isinstance(atom, Comparison)
            and atom.op is Op.EQ
            and isinstance(atom.value, StringValue)
            and atom.selector.dotted() == "eventName"
        )
    )


def event_name_pattern(names: Iterable[str], joiner: str = "||") -> str:
    """``{ ($.eventName = A) || ($.eventName = B) ... }``; ``joiner="&&"`` gives the classic
    mistake that can never match."""
    return "{ " + f" {joiner} ".join(f"($.eventName = {name})" for name in names) + " }"
