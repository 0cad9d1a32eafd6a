"""End-to-end: verdicts that match what CloudWatch really does, collected from moto's server.

Each test builds the configuration a user has (boto3 against the server), scans it through the
same code as for AWS and reads the finding. moto has no PutCompositeAlarm: the composite test
routes that operation, in this process, to moto's own alarm storage (which already keeps an
``AlarmRule``) and says so.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from e2e import emulated_org as org
from moto.cloudwatch.responses import CloudWatchResponse

from scanner.aws import ScanOptions, collect
from scanner.aws.scan import CollectResult
from scanner.evaluate import evaluate
from scanner.model import Finding, Inventory, Link, Status
from scanner.testing import event_names

pytestmark = pytest.mark.slow

ROOT = "root-account-usage"
TRAIL_CHANGES = "cloudtrail-config-changes"
FAST = {"organizations": 100.0}


def scan() -> CollectResult:
    # One region: the chains live in us-east-1, and every region more costs a second.
    return asyncio.run(collect(ScanOptions(rate_limits=FAST, regions=("us-east-1",))))


def verdicts(inventory: Inventory) -> dict[str, Finding]:
    return {f.rule: f for f in evaluate(inventory) if f.account_id == org.MANAGEMENT}


def scanned(*rules: str) -> dict[str, Finding]:
    by_rule = verdicts(scan().inventory)
    return {rule: by_rule[rule] for rule in rules}


def alarm(account: org.AccountHandle, rule: str, **changes: Any) -> None:
    """Rewrite the chain's alarm for ``rule`` (PutMetricAlarm replaces the configuration)."""
    params: dict[str, Any] = {
        "AlarmName": f"main-{rule}",
        "MetricName": rule,
        "Namespace": "CISBenchmark",
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "AlarmActions": [],
    }
    params.update(changes)
    account.client("cloudwatch").put_metric_alarm(**params)


def replace_filter(
    account: org.AccountHandle, log_group: str, rule: str, pattern: str, **transformation: Any
) -> None:
    """PutMetricFilter of an existing name replaces it in AWS; moto adds a second one, so the
    old one is deleted first."""
    logs = account.client("logs")
    logs.delete_metric_filter(logGroupName=log_group, filterName=rule)
    logs.put_metric_filter(
        logGroupName=log_group,
        filterName=rule,
        filterPattern=pattern,
        metricTransformations=[
            {"metricName": rule, "metricNamespace": "CISBenchmark", "metricValue": "1"}
            | transformation
        ],
    )


def test_a_trail_excluding_kms_breaks_only_rules_whose_events_can_come_from_kms(aws: str) -> None:
    management = org.management()
    org.chain(management, rules=(ROOT, TRAIL_CHANGES))
    management.client("cloudtrail").put_event_selectors(
        TrailName="main",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "ExcludeManagementEventSources": ["kms.amazonaws.com"],
            }
        ],
    )
    found = scanned(ROOT, TRAIL_CHANGES)
    assert found[TRAIL_CHANGES].status is Status.PASS, found[TRAIL_CHANGES].reason
    assert found[ROOT].status is Status.FAIL
    assert found[ROOT].broken_link is Link.SELECTORS
    assert "kms.amazonaws.com" in found[ROOT].reason


def test_an_alarm_with_a_unit_the_filter_does_not_publish_fails(aws: str) -> None:
    management = org.management()
    chain = org.chain(management, rules=(ROOT,))
    alarm(management, ROOT, Unit="Seconds", AlarmActions=[chain["topic"]])
    finding = scanned(ROOT)[ROOT]
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.ALARM_CONDITION
    assert "asks for unit Seconds" in finding.reason


def test_dimensions_by_value_and_alarms_without_them(aws: str) -> None:
    management = org.management()
    chain = org.chain(management, rules=(TRAIL_CHANGES,))
    replace_filter(
        management,
        chain["log_group"],
        TRAIL_CHANGES,
        org.PATTERNS[TRAIL_CHANGES],
        dimensions={"EventName": "$.eventName"},
    )
    finding = scanned(TRAIL_CHANGES)[TRAIL_CHANGES]
    assert finding.broken_link is Link.ALARM
    assert "without dimensions" in finding.reason

    alarm(
        management,
        TRAIL_CHANGES,
        Dimensions=[{"Name": "EventName", "Value": "StopLogging"}],
        AlarmActions=[chain["topic"]],
    )
    finding = scanned(TRAIL_CHANGES)[TRAIL_CHANGES]
    assert finding.broken_link is Link.ALARM
    assert 'hears only events where $.eventName = "StopLogging"' in finding.reason
    assert {e["eventName"] for e in finding.missed_events} == {
        "CreateTrail",
        "UpdateTrail",
        "DeleteTrail",
        "StartLogging",
    }


def test_three_of_three_on_a_sparse_metric_passes_late_and_with_a_default_value_fails(
    aws: str,
) -> None:
    management = org.management()
    chain = org.chain(management, rules=(ROOT,))
    alarm(management, ROOT, EvaluationPeriods=3, AlarmActions=[chain["topic"]])
    finding = scanned(ROOT)[ROOT]
    assert finding.status is Status.PASS, finding.reason
    assert any("2 periods (600 s) after the event" in note for note in finding.notes)

    replace_filter(management, chain["log_group"], ROOT, org.PATTERNS[ROOT], defaultValue=0.0)
    finding = scanned(ROOT)[ROOT]
    assert finding.broken_link is Link.ALARM_CONDITION
    assert "never fires it" in finding.reason


def test_a_composite_alarm_notifying_for_its_child_makes_a_working_chain(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto gap: no PutCompositeAlarm handler. moto's PutMetricAlarm handler already reads
    # AlarmRule and stores a composite alarm with it, so route the operation to it here.
    monkeypatch.setattr(
        CloudWatchResponse,
        "put_composite_alarm",
        CloudWatchResponse.put_metric_alarm,
        raising=False,
    )
    management = org.management()
    chain = org.chain(management, rules=(ROOT,))
    alarm(management, ROOT, AlarmActions=[])  # the metric alarm notifies nobody itself
    assert scanned(ROOT)[ROOT].broken_link is Link.ACTIONS
    cloudwatch = management.client("cloudwatch")
    cloudwatch.put_composite_alarm(
        AlarmName="security-composite",
        AlarmRule=f'ALARM("main-{ROOT}") OR ALARM("unrelated")',
        AlarmActions=[chain["topic"]],
    )
    finding = scanned(ROOT)[ROOT]
    assert finding.status is Status.PASS, finding.reason
    assert 'composite alarm "security-composite"' in finding.reason

    cloudwatch.put_composite_alarm(
        AlarmName="security-composite",
        AlarmRule=f'ALARM("main-{ROOT}") AND ALARM("unrelated")',
        AlarmActions=[chain["topic"]],
    )
    finding = scanned(ROOT)[ROOT]
    assert finding.broken_link is Link.ACTIONS
    assert "ANDs alarm" in finding.reason

    # Nested: the alarm's composite notifies nobody, a composite above it does. The collector
    # keeps the one above (it names no metric alarm) and the chain goes through both.
    cloudwatch.put_composite_alarm(
        AlarmName="security-composite", AlarmRule=f'ALARM("main-{ROOT}")', AlarmActions=[]
    )
    cloudwatch.put_composite_alarm(
        AlarmName="security-rollup",
        AlarmRule='ALARM("security-composite") OR ALARM("unrelated")',
        AlarmActions=[chain["topic"]],
    )
    finding = scanned(ROOT)[ROOT]
    assert finding.status is Status.PASS, finding.reason
    assert 'composite alarm "security-composite", composite alarm "security-rollup"' in (
        finding.reason
    )


def test_an_over_broad_filter_fails_and_an_alarm_stuck_in_alarm_cannot_notify(aws: str) -> None:
    management = org.management()
    chain = org.chain(management, rules=(ROOT, TRAIL_CHANGES))
    replace_filter(management, chain["log_group"], ROOT, "")
    management.client("cloudwatch").set_alarm_state(
        AlarmName=f"main-{TRAIL_CHANGES}", StateValue="ALARM", StateReason="test"
    )
    inventory = scan().inventory
    assert inventory.collected_at is not None
    found = verdicts(inventory)
    assert found[ROOT].broken_link is Link.FILTER
    assert "over-broad: matches routine events such as" in found[ROOT].reason
    assert found[TRAIL_CHANGES].status is Status.PASS  # in ALARM for seconds only

    a_day_later = datetime.fromisoformat(inventory.collected_at) + timedelta(hours=25)
    later = dataclasses.replace(inventory, collected_at=a_day_later.astimezone(UTC).isoformat())
    finding = verdicts(later)[TRAIL_CHANGES]
    assert finding.broken_link is Link.ALARM_CONDITION
    assert "has been in ALARM since" in finding.reason


def test_a_topic_among_ok_actions_only_is_named(aws: str) -> None:
    management = org.management()
    chain = org.chain(management, rules=(ROOT,))
    alarm(management, ROOT, AlarmActions=[], OKActions=[chain["topic"]])
    finding = scanned(ROOT)[ROOT]
    assert finding.broken_link is Link.ACTIONS
    assert f"topic {chain['topic']} among its OK actions" in finding.reason


def test_a_pattern_split_over_two_filters_each_with_its_alarm_passes(aws: str) -> None:
    rule = "organizations-changes"
    names = event_names(rule)
    management = org.management()
    chain = org.chain(management, rules=())
    halves = (names[: len(names) // 2], names[len(names) // 2 :])
    for i, half in enumerate(halves, start=1):
        either = " || ".join(f'($.eventName = "{name}")' for name in half)
        replace_filter(
            management,
            chain["log_group"],
            f"organizations-{i}",
            f'{{ ($.eventSource = "organizations.amazonaws.com") && ({either}) }}',
        )
        alarm(
            management,
            f"organizations-{i}",
            AlarmName=f"organizations-{i}",
            AlarmActions=[chain["topic"]],
        )
    finding = verdicts(scan().inventory)[rule]
    assert finding.status is Status.PASS, finding.reason
    assert finding.reason.startswith("2 chains together cover")
    assert 'alarm "organizations-1"' in finding.reason
    assert 'alarm "organizations-2"' in finding.reason
