"""Alarms as CloudWatch really evaluates them: units, dimensions, M of N on a sparse metric, an
alarm stuck in ALARM, over-broad filters, actions on other states, composite alarms."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from evaluate.iam_chain import ALARM, FILTER, METRIC, NAMESPACE, RULE, TOPIC

from scanner.evaluate import composites, evaluate
from scanner.model import (
    Account,
    CompositeAlarm,
    Finding,
    Inventory,
    Link,
    LinkStatus,
    MetricQuery,
    MetricStat,
    Status,
)
from scanner.testing import (
    MEMBER_ACCOUNT_ID,
    event_names,
    healthy_account,
    single_account,
    with_alarm,
    with_filter,
    with_region,
    with_transformation,
)

ALARM_ARN = f"arn:aws:cloudwatch:us-east-1:{MEMBER_ACCOUNT_ID}:alarm:{ALARM}"
SCANNED_AT = "2026-03-10T12:00:00+00:00"


def healthy() -> Account:
    return healthy_account(rules=[RULE])


def check(account: Account, collected_at: str | None = SCANNED_AT) -> Finding:
    inventory = dataclasses.replace(single_account(account), collected_at=collected_at)
    return next(f for f in evaluate(inventory) if f.rule == RULE)


def evaluated(inventory: Inventory) -> Finding:
    return next(f for f in evaluate(inventory) if f.rule == RULE)


def link(finding: Finding, which: Link) -> tuple[LinkStatus, str]:
    found = next(r for r in finding.chain if r.link is which)
    return found.status, found.detail


def assert_fails(finding: Finding, which: Link, reason: str) -> None:
    assert finding.status is Status.FAIL, finding.reason
    assert finding.broken_link is which
    assert finding.reason == reason


# --------------------------------------------------------------------------------------------
# Units.


def test_an_alarm_asking_for_a_unit_the_filter_does_not_publish_hears_nothing() -> None:
    finding = check(with_alarm(healthy(), ALARM, unit="Seconds"))
    assert_fails(
        finding,
        Link.ALARM_CONDITION,
        f'alarm "{ALARM}" asks for unit Seconds but the metric filter publishes '
        f"{NAMESPACE}/{METRIC} with unit None, so the alarm never sees a datapoint",
    )
    # PutMetricAlarm replaces the whole configuration: the fix rewrites the alarm without one.
    assert "put-metric-alarm" in finding.remediation["cli"]
    assert "--unit" not in finding.remediation["cli"]


@pytest.mark.parametrize(("alarm_unit", "filter_unit"), [("None", None), ("Count", "Count")])
def test_an_alarm_asking_for_the_published_unit_passes(
    alarm_unit: str, filter_unit: str | None
) -> None:
    account = with_transformation(healthy(), FILTER, unit=filter_unit)
    assert check(with_alarm(account, ALARM, unit=alarm_unit)).status is Status.PASS


def test_a_metric_math_query_asking_for_another_unit_hears_nothing() -> None:
    queries = (
        MetricQuery("m1", metric_stat=MetricStat(NAMESPACE, METRIC, "Sum", 300, unit="Bytes")),
        MetricQuery("e1", expression="FILL(m1, 0)", return_data=True),
    )
    account = with_alarm(
        healthy(), ALARM, metric_name=None, namespace=None, statistic=None, metrics=queries
    )
    finding = check(account)
    assert finding.broken_link is Link.ALARM_CONDITION
    assert "asks for unit Bytes" in finding.reason


# --------------------------------------------------------------------------------------------
# Dimensions.


def with_event_name_dimension(account: Account) -> Account:
    return with_transformation(account, FILTER, dimensions={"EventName": "$.eventName"})


def test_an_alarm_on_one_dimension_value_hears_only_that_event() -> None:
    account = with_event_name_dimension(healthy())
    finding = check(with_alarm(account, ALARM, dimensions={"EventName": "PutUserPolicy"}))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.ALARM
    assert finding.reason.startswith(
        f'alarm "{ALARM}" hears only events where $.eventName = "PutUserPolicy": it misses 15 '
        "events ("
    )
    missed = {e["eventName"] for e in finding.missed_events}
    assert missed == set(event_names(RULE)) - {"PutUserPolicy"}
    assert link(finding, Link.FILTER)[0] is LinkStatus.OK  # the filter itself covers the rule


def test_an_alarm_on_a_dimension_value_that_is_the_whole_rule_passes() -> None:
    account = with_filter(
        healthy(),
        FILTER,
        pattern='{ ($.eventSource = "iam.amazonaws.com") && '
        '($.eventName = "PutUserPolicy" || $.eventName = "DeleteUserPolicy") }',
    )
    account = with_transformation(account, FILTER, dimensions={"Source": "$.eventSource"})
    finding = check(with_alarm(account, ALARM, dimensions={"Source": "iam.amazonaws.com"}))
    # The alarm hears every IAM event of the filter; the filter itself misses events.
    assert finding.broken_link is Link.FILTER


def test_an_alarm_without_the_filters_dimensions_hears_nothing_and_says_so() -> None:
    finding = check(with_event_name_dimension(healthy()))
    assert_fails(
        finding,
        Link.ALARM,
        f'alarm "{ALARM}" watches {NAMESPACE}/{METRIC} without dimensions, but metric filter '
        f'"{FILTER}" publishes it only with the dimensions EventName ($.eventName), one metric '
        "per value, so the alarm hears nothing",
    )


# --------------------------------------------------------------------------------------------
# M of N on a sparse metric (AWS Knowledge Center, cloudwatch-alarm-single-data-point).


def test_three_of_three_treating_missing_data_as_missing_fires_two_periods_late() -> None:
    account = with_alarm(healthy(), ALARM, evaluation_periods=3, treat_missing_data=None)
    finding = check(account)
    assert finding.status is Status.PASS, finding.reason
    status, detail = link(finding, Link.ALARM_CONDITION)
    assert status is LinkStatus.OK
    assert "notifies 2 periods (600 s) after the event" in detail
    assert any("notifies 2 periods (600 s) after the event" in note for note in finding.notes)


def test_m_of_n_with_a_default_value_never_fires() -> None:
    account = with_alarm(healthy(), ALARM, evaluation_periods=3, treat_missing_data="missing")
    finding = check(with_transformation(account, FILTER, default_value=0.0))
    assert_fails(
        finding,
        Link.ALARM_CONDITION,
        f'alarm "{ALARM}" needs 3 of 3 datapoints breaching, but the periods after the event '
        "are not missing: they give Sum = 0, not breaching (the metric filter's default value, "
        "or a filled value), so one event never fires it",
    )


def test_m_of_n_ignoring_missing_data_cannot_be_proven() -> None:
    account = with_alarm(healthy(), ALARM, evaluation_periods=2, treat_missing_data="ignore")
    finding = check(account)
    assert finding.broken_link is Link.ALARM_CONDITION
    assert finding.reason.startswith(f'cannot prove alarm "{ALARM}" fires')


def test_a_percentile_ignoring_low_sample_counts_never_sees_one_event() -> None:
    account = with_alarm(
        healthy(),
        ALARM,
        statistic=None,
        extended_statistic="p90",
        evaluate_low_sample_count_percentile="ignore",
    )
    finding = check(account)
    assert finding.broken_link is Link.ALARM_CONDITION
    assert "EvaluateLowSampleCountPercentile=ignore" in finding.reason
    evaluated_anyway = with_alarm(account, ALARM, evaluate_low_sample_count_percentile="evaluate")
    assert check(evaluated_anyway).status is Status.PASS


# --------------------------------------------------------------------------------------------
# An alarm that sits in ALARM cannot notify.


def test_an_alarm_in_alarm_for_days_cannot_notify_a_new_event() -> None:
    since = "2026-03-07T08:00:00+00:00"
    account = with_alarm(healthy(), ALARM, state_value="ALARM", state_updated=since)
    finding = check(account)
    assert_fails(
        finding,
        Link.ALARM_CONDITION,
        f'alarm "{ALARM}" has been in ALARM since {since} (more than 24 h before the scan), '
        "and CloudWatch notifies only when the state changes, so it cannot notify a new event",
    )


def test_an_alarm_in_alarm_for_an_hour_still_counts() -> None:
    account = with_alarm(
        healthy(), ALARM, state_value="ALARM", state_updated="2026-03-10T11:00:00+00:00"
    )
    assert check(account).status is Status.PASS


def test_the_limit_is_a_parameter_and_the_scan_time_is_data() -> None:
    account = with_alarm(
        healthy(), ALARM, state_value="ALARM", state_updated="2026-03-10T11:00:00+00:00"
    )
    inventory = dataclasses.replace(single_account(account), collected_at=SCANNED_AT)
    strict = evaluate(inventory, stuck_after_hours=0.5)
    assert next(f for f in strict if f.rule == RULE).broken_link is Link.ALARM_CONDITION
    unknown_time = dataclasses.replace(inventory, collected_at=None)
    assert evaluated(unknown_time).status is Status.PASS


# --------------------------------------------------------------------------------------------
# Over-broad filters.


@pytest.mark.parametrize(
    "pattern",
    [
        "",
        '{ ($.eventSource = "iam.amazonaws.com") || ($.eventName != "StopLogging") }',
    ],
    ids=["empty", "or-not-equal"],
)
def test_an_over_broad_filter_does_not_count(pattern: str) -> None:
    finding = check(with_filter(healthy(), FILTER, pattern=pattern))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.FILTER
    assert finding.reason == (
        f'metric filter "{FILTER}" on log group "aws-cloudtrail-logs" is over-broad: matches '
        "routine events such as DescribeInstances; its alarm stays in ALARM"
    )


# --------------------------------------------------------------------------------------------
# Actions on other states.


def test_a_topic_among_ok_actions_is_named_and_why_it_does_not_notify() -> None:
    account = with_alarm(healthy(), ALARM, alarm_actions=(), ok_actions=(TOPIC,))
    assert_fails(
        check(account),
        Link.ACTIONS,
        f'alarm "{ALARM}" has no SNS topic among its alarm actions; topic {TOPIC} among its OK '
        "actions, which run only when it returns to OK, not when an event sends it to ALARM",
    )


def test_a_topic_among_insufficient_data_actions_is_named_too() -> None:
    account = with_alarm(healthy(), ALARM, alarm_actions=(), insufficient_data_actions=(TOPIC,))
    finding = check(account)
    assert finding.broken_link is Link.ACTIONS
    assert f"topic {TOPIC} among its INSUFFICIENT_DATA actions" in finding.reason


# --------------------------------------------------------------------------------------------
# Composite alarms.


def composite(rule: str, **changes: Any) -> CompositeAlarm:
    name = "security-composite"
    base = CompositeAlarm(
        name=name,
        arn=f"arn:aws:cloudwatch:us-east-1:{MEMBER_ACCOUNT_ID}:alarm:{name}",
        alarm_rule=rule,
        alarm_actions=(TOPIC,),
    )
    return dataclasses.replace(base, **changes)


def with_composite(rule: str, **changes: Any) -> Account:
    account = with_alarm(healthy(), ALARM, alarm_actions=())
    return with_region(account, "us-east-1", composite_alarms=(composite(rule, **changes),))


@pytest.mark.parametrize(
    "rule",
    [
        f'ALARM("{ALARM}")',
        f"ALARM({ALARM}) OR ALARM(RootAccountUsageAlarm)",
        f"(ALARM(OtherAlarm) OR (ALARM('{ALARM_ARN}')))",
    ],
    ids=["bare", "or", "arn-in-parentheses"],
)
def test_a_metric_alarm_notifying_through_a_composite_passes(rule: str) -> None:
    finding = check(with_composite(rule))
    assert finding.status is Status.PASS, finding.reason
    assert 'composite alarm "security-composite"' in finding.reason


def test_a_composite_that_ands_the_alarm_with_another_does_not_count() -> None:
    rule = f"ALARM({ALARM}) AND ALARM(OtherAlarm)"
    finding = check(with_composite(rule))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.ACTIONS


def test_a_composite_without_sns_actions_does_not_count() -> None:
    finding = check(with_composite(f"ALARM({ALARM})", alarm_actions=()))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.ACTIONS


def nested(outer_rule: str, **inner_changes: Any) -> Account:
    """alarm (no actions) -> "per-control" composite (no actions) -> "security-rollup" composite."""
    inner = dataclasses.replace(
        composite(f"ALARM({ALARM})", alarm_actions=()),
        name="per-control",
        arn=f"arn:aws:cloudwatch:us-east-1:{MEMBER_ACCOUNT_ID}:alarm:per-control",
        **inner_changes,
    )
    outer = dataclasses.replace(
        composite(outer_rule),
        name="security-rollup",
        arn=f"arn:aws:cloudwatch:us-east-1:{MEMBER_ACCOUNT_ID}:alarm:security-rollup",
    )
    account = with_alarm(healthy(), ALARM, alarm_actions=())
    return with_region(account, "us-east-1", composite_alarms=(inner, outer))


def test_a_metric_alarm_notifying_through_a_composite_of_composites_passes() -> None:
    finding = check(nested("ALARM(per-control) OR ALARM(OtherControl)"))
    assert finding.status is Status.PASS, finding.reason
    assert 'composite alarm "per-control", composite alarm "security-rollup"' in finding.reason


@pytest.mark.parametrize(
    ("outer_rule", "inner_changes", "why"),
    [
        (
            "ALARM(per-control) AND ALARM(OtherControl)",
            {},
            'composite alarm "security-rollup" goes to ALARM only when '
            '"ALARM(per-control) AND ALARM(OtherControl)" holds: it ANDs composite alarm '
            '"per-control" with other conditions',
        ),
        (
            "ALARM(per-control)",
            {"state_value": "ALARM", "state_updated": "2026-03-01T00:00:00+00:00"},
            'composite alarm "per-control" has been in ALARM since 2026-03-01T00:00:00+00:00',
        ),
    ],
    ids=["outer-ands", "inner-stuck"],
)
def test_a_path_of_composites_counts_only_if_each_goes_to_alarm_with_the_one_below(
    outer_rule: str, inner_changes: dict[str, Any], why: str
) -> None:
    finding = check(nested(outer_rule, **inner_changes))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.ACTIONS
    assert why in finding.reason


def test_composites_watching_each_other_do_not_loop() -> None:
    account = nested("ALARM(per-control)")
    region = account.regions["us-east-1"]
    inner, outer = region.composite_alarms or ()
    looped = dataclasses.replace(inner, alarm_rule=f"ALARM({ALARM}) OR ALARM(security-rollup)")
    finding = check(with_region(account, "us-east-1", composite_alarms=(looped, outer)))
    assert finding.status is Status.PASS, finding.reason


def test_the_collector_keeps_composites_above_composites_and_nothing_else() -> None:
    account = nested("ALARM(per-control)")
    region = account.regions["us-east-1"]
    inner, outer = region.composite_alarms or ()
    unrelated = dataclasses.replace(outer, name="billing", alarm_rule="ALARM(BillingAlarm)")
    kept = composites.above(region.alarms or (), [unrelated, outer, inner])
    assert [c.name for c in kept] == ["per-control", "security-rollup"]


def test_the_fix_for_an_alarm_deaf_to_the_filters_dimensions_drops_them() -> None:
    finding = check(with_event_name_dimension(healthy()))
    cli = finding.remediation["cli"]
    # Not the same useless alarm again: the filter is rewritten as one metric without
    # dimensions, and the alarm on it.
    assert "aws logs put-metric-filter" in cli
    assert "without dimensions" in cli
    assert '"dimensions"' not in cli
    assert "put-metric-alarm" in cli
    narrowed = with_alarm(
        with_event_name_dimension(healthy()), ALARM, dimensions={"EventName": "PutUserPolicy"}
    )
    assert "aws logs put-metric-filter" in check(narrowed).remediation["cli"]
