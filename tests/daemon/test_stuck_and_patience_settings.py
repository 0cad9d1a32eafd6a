"""``rules.stuck_after`` and ``limits.patience``: the daemon judges and retries as configured, and
tells the collector the same threshold its plan must use."""

from __future__ import annotations

import pytest
from daemon.config.refusals import assert_refused
from daemon.polling import run
from evaluate import stuck_alarm
from evaluate.stuck_alarm import RULE

from scanner.aws import CallStats, CollectResult, ScanOptions
from scanner.daemon.config import from_mapping, parse
from scanner.daemon.metrics import Metrics
from scanner.daemon.scheduler import Service, scan_options
from scanner.daemon.sharding import Shard
from scanner.model import Link, Status


async def alarm_in_alarm_for_three_hours(options: ScanOptions) -> CollectResult:
    return CollectResult(stuck_alarm.alarm_in_alarm_for_three_hours(), CallStats(), (), 0.0)


@pytest.mark.parametrize(("stuck_after", "status"), [(None, Status.PASS), ("1h", Status.FAIL)])
def test_an_alarm_stuck_in_alarm_breaks_the_chain_after_rules_stuck_after(
    stuck_after: str | None, status: Status
) -> None:
    rules = {"stuck_after": stuck_after} if stuck_after else {}
    config = from_mapping({"rules": rules}, {})
    service = Service(config, Shard(), Metrics(), collect_fn=alarm_in_alarm_for_three_hours)

    async def scenario() -> None:
        await service.scan_once()

    run(scenario())
    (finding,) = [f for f in service.findings() if f.rule == RULE]
    assert finding.status is status
    if status is Status.FAIL:
        assert finding.broken_link is Link.ALARM_CONDITION
        assert "more than 1 h before the scan" in finding.reason


def test_the_collector_plans_and_retries_with_the_configured_values() -> None:
    config = parse("rules: {stuck_after: 2h}\nlimits: {patience: 10m}\n", {})
    options = scan_options(config)
    assert (options.stuck_after_hours, options.patience) == (2.0, 600.0)
    defaults = scan_options(from_mapping({}, {}))
    assert (defaults.stuck_after_hours, defaults.patience) == (24.0, 180.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("limits: {patience: 0s}", "config: limits.patience:"),
        ("rules: {stuck_after: forever}", "config: rules.stuck_after:"),
    ],
)
def test_bad_values_are_refused_naming_the_field(text: str, message: str) -> None:
    assert_refused(text, {}, message)
