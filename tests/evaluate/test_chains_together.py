"""Chains that work may share a rule: together their patterns must cover a reference.

CloudWatch limits a filter pattern to 1,024 characters, so people split a long one (the
organizations rule) over two filters on the same log group, each with its own alarm.
"""

from __future__ import annotations

import dataclasses

from scanner.evaluate import evaluate
from scanner.model import Account, Alarm, Finding, Link, LinkStatus, MetricFilter, Status
from scanner.testing import (
    LOG_GROUP_NAME,
    MEMBER_ACCOUNT_ID,
    event_names,
    healthy_account,
    single_account,
    with_alarm,
    with_log_group,
    with_region,
    with_transformation,
)

RULE = "organizations-changes"
SOURCE = "organizations.amazonaws.com"
EVENTS = event_names(RULE)


def pattern(names: tuple[str, ...]) -> str:
    either = " || ".join(f'($.eventName = "{name}")' for name in names)
    return f'{{ ($.eventSource = "{SOURCE}") && ({either}) }}'


def split(*parts: tuple[str, ...], disabled: tuple[int, ...] = ()) -> Account:
    """The rule's filter and alarm, split in as many filters and alarms as ``parts``."""
    account = healthy_account(rules=[RULE])
    region = account.regions["us-east-1"]
    group = region.log_groups[LOG_GROUP_NAME]
    assert group.metric_filters is not None and region.alarms is not None
    template_filter, template_alarm = group.metric_filters[0], region.alarms[0]
    filters: list[MetricFilter] = []
    alarms: list[Alarm] = []
    for i, names in enumerate(parts, start=1):
        t = dataclasses.replace(
            template_filter.transformations[0], metric_name=f"OrganizationsChanges{i}"
        )
        filters.append(
            dataclasses.replace(
                template_filter,
                name=f"OrganizationsChanges{i}",
                pattern=pattern(names),
                transformations=(t,),
            )
        )
        alarms.append(
            dataclasses.replace(
                template_alarm,
                name=f"OrganizationsChanges{i}Alarm",
                arn=template_alarm.arn.replace("OrganizationsChangesAlarm", f"Part{i}"),
                metric_name=t.metric_name,
                actions_enabled=i not in disabled,
            )
        )
    account = with_log_group(account, metric_filters=tuple(filters))
    return with_region(account, "us-east-1", alarms=tuple(alarms))


def check(account: Account) -> Finding:
    return next(f for f in evaluate(single_account(account)) if f.rule == RULE)


HALF = len(EVENTS) // 2


def test_a_pattern_split_over_two_working_chains_passes_and_names_both() -> None:
    finding = check(split(EVENTS[:HALF], EVENTS[HALF:]))
    assert finding.status is Status.PASS, finding.reason
    assert finding.reason.startswith("2 chains together cover cis_v1.3.0+: (1) ")
    assert 'metric filter "OrganizationsChanges1", alarm "OrganizationsChanges1Alarm"' in (
        finding.reason
    )
    assert 'metric filter "OrganizationsChanges2", alarm "OrganizationsChanges2Alarm"' in (
        finding.reason
    )
    filter_link = next(r for r in finding.chain if r.link is Link.FILTER)
    assert filter_link.status is LinkStatus.OK
    assert filter_link.detail == (
        'metric filters "OrganizationsChanges1", "OrganizationsChanges2" together cover cis_v1.3.0+'
    )


def test_a_part_whose_alarm_does_not_notify_does_not_count() -> None:
    finding = check(split(EVENTS[:HALF], EVENTS[HALF:], disabled=(2,)))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.FILTER
    assert {e["eventName"] for e in finding.missed_events} == set(EVENTS[HALF:])


def test_the_gaps_of_the_union_are_what_a_failure_names() -> None:
    finding = check(split(EVENTS[:HALF], EVENTS[HALF:-2]))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.FILTER
    assert {e["eventName"] for e in finding.missed_events} == set(EVENTS[-2:])
    assert finding.reason == (
        'metric filters "OrganizationsChanges1", "OrganizationsChanges2", whose chains work, '
        f"together miss 2 events ({EVENTS[-2]}, {EVENTS[-1]}) of cis_v1.3.0+"
    )


def test_alarms_on_each_dimension_value_together_hear_every_event() -> None:
    rule = "cloudtrail-config-changes"
    names = event_names(rule)
    account = healthy_account(rules=[rule])
    account = with_transformation(
        account, "CloudTrailConfigChangesFilter", dimensions={"EventName": "$.eventName"}
    )
    template = account.regions["us-east-1"].alarms
    assert template
    per_value = tuple(
        dataclasses.replace(
            template[0],
            name=f"Trail{name}",
            arn=f"arn:aws:cloudwatch:us-east-1:{MEMBER_ACCOUNT_ID}:alarm:Trail{name}",
            dimensions={"EventName": name},
        )
        for name in names
    )
    findings = {f.rule: f for f in evaluate(single_account(account))}
    assert findings[rule].broken_link is Link.ALARM  # no dimensions: hears nothing
    some = with_region(account, "us-east-1", alarms=per_value[:-1])
    missing = {f.rule: f for f in evaluate(single_account(some))}[rule]
    assert [e["eventName"] for e in missing.missed_events] == [names[-1]]
    every = with_region(account, "us-east-1", alarms=per_value)
    finding = {f.rule: f for f in evaluate(single_account(every))}[rule]
    assert finding.status is Status.PASS, finding.reason
    assert finding.reason.startswith(f"{len(names)} chains together cover")


def test_one_chain_that_holds_is_still_reported_alone() -> None:
    account = with_alarm(split(EVENTS), "OrganizationsChanges1Alarm")
    finding = check(account)
    assert finding.status is Status.PASS
    assert finding.reason.startswith("monitored through trail")


def test_a_finding_carries_the_pattern_of_each_filter_it_judged() -> None:
    """What the user compares the missed events with: each working chain's pattern text."""
    passed = check(split(EVENTS[:HALF], EVENTS[HALF:]))
    assert passed.patterns == (pattern(EVENTS[:HALF]), pattern(EVENTS[HALF:]))
    failed = check(split(EVENTS[:HALF], EVENTS[HALF:-2]))
    assert failed.patterns == (pattern(EVENTS[:HALF]), pattern(EVENTS[HALF:-2]))
    alone = check(split(EVENTS[:-1]))
    assert alone.status is Status.FAIL
    assert alone.patterns == (pattern(EVENTS[:-1]),)
