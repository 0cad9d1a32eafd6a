"""``scan.confirm`` also reads the chains' alarms' history after each scan: a PASS whose latest
notification failed is a note and a metric, never a changed verdict."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime

from daemon.polling import run
from evaluate.alarm_history_items import action_item

from scanner.aws import CallStats, CollectResult, ScanOptions
from scanner.daemon.config import from_mapping
from scanner.daemon.metrics import Metrics
from scanner.daemon.scheduler import Service
from scanner.daemon.sharding import Shard
from scanner.evaluate import alarm_history
from scanner.evaluate.confirm import Confirmation, apply
from scanner.model import Finding, Inventory, Status
from scanner.testing import MEMBER_ACCOUNT_ID, alarm_arn, healthy_account, single_account, topic_arn

RULE = "iam-policy-changes"


async def healthy(options: ScanOptions) -> CollectResult:
    return CollectResult(single_account(healthy_account(rules=[RULE])), CallStats(), (), 0.0)


class FailingHistory:
    """A pretend DescribeAlarmHistory whose every alarm last failed to notify its topic."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(
        self, options: ScanOptions, inventory: Inventory, findings: Sequence[Finding]
    ) -> tuple[Confirmation, CallStats]:
        self.calls += 1
        lookups = alarm_history.plan(findings)
        stats = CallStats()
        answers = {}
        for i, lookup in enumerate(lookups):
            stats.record(lookup.account_id, "cloudwatch", "DescribeAlarmHistory", 0, None)
            arn = alarm_arn(lookup.account_id, lookup.region, lookup.alarm_name)
            at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
            topic = topic_arn(MEMBER_ACCOUNT_ID)
            answers[i] = alarm_history.read([action_item(arn, topic, at, succeeded=False)])
        evidence = alarm_history.apply(findings, lookups, answers)
        confirmation = dataclasses.replace(
            apply(findings, [], {}),
            findings=evidence.findings,
            lookups=evidence.lookups,
            history_disagreements=evidence.disagreements,
            failed_actions=evidence.failed_actions,
        )
        return confirmation, stats


def service(confirm: bool, history: FailingHistory) -> Service:
    config = from_mapping({"scan": {"confirm": confirm}}, {})
    return Service(config, Shard(), Metrics(), collect_fn=healthy, confirm_fn=history)


def value(text: str, family: str) -> float:
    line = next(x for x in text.splitlines() if x.startswith(f"{family} "))
    return float(line.split()[-1])


def test_a_failed_latest_notification_is_a_note_and_a_metric_and_the_verdict_stays() -> None:
    async def scenario() -> None:
        history = FailingHistory()
        s = service(True, history)
        await s.scan_once()
        assert history.calls == 1
        finding = next(f for f in s.findings() if f.rule == RULE)
        assert finding.status is Status.PASS
        assert any(note.startswith(alarm_history.DISAGREES) for note in finding.notes)
        text = s.metrics.exposition().decode()
        assert value(text, "scanner_alarm_history_disagreements_total") == 1
        assert value(text, "scanner_failed_alarm_actions_total") == 1
        assert 'operation="DescribeAlarmHistory",service="cloudwatch"' in text

    run(scenario())


def test_without_the_option_no_history_is_read() -> None:
    async def scenario() -> None:
        history = FailingHistory()
        s = service(False, history)
        await s.scan_once()
        assert history.calls == 0
        text = s.metrics.exposition().decode()
        assert value(text, "scanner_alarm_history_disagreements_total") == 0
        assert value(text, "scanner_failed_alarm_actions_total") == 0

    run(scenario())
