"""``scanner scan --confirm`` reads the chains' alarms' history from moto's server through the
call gateway: failed notifications become notes and counts, never changed verdicts.

moto (5.x) has no DescribeAlarmHistory and records no action executions: the tests add the
operation to moto's CloudWatch handler in this process (``confirm_fakes.history``), answering
from the Action items each test writes (AWS's own texts, see ``evaluate/alarm_history_items.py``)
filtered by the request's AlarmName, HistoryItemType and StartDate as CloudWatch does.
TestMetricFilter (also missing from moto) answers with the scanner's own matcher, so AWS's engine
agrees and adds nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cli_run import run
from e2e import confirm_fakes as fakes
from e2e import emulated_org as org
from e2e import faults
from e2e.confirm_fakes import engine
from evaluate.alarm_history_items import action_item, failed_summary
from moto.cloudwatch.responses import CloudWatchResponse

from scanner.aws import ScanOptions, collect
from scanner.aws.confirm import confirm
from scanner.evaluate import evaluate
from scanner.evaluate.alarm_history import DISAGREES, HISTORY
from scanner.model import Link, Status
from scanner.patterns import matches
from scanner.report.compact import expand

pytestmark = pytest.mark.slow

ROOT = "root-account-usage"
TRAIL_CHANGES = "cloudtrail-config-changes"
OPTIONS = ScanOptions(rate_limits={"organizations": 100.0}, regions=("us-east-1",))


def alarm(account_id: str, name: str) -> str:
    return f"arn:aws:cloudwatch:us-east-1:{account_id}:alarm:{name}"


def history(
    monkeypatch: pytest.MonkeyPatch, items: Mapping[str, Sequence[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """AWS's alarm history from ``items``; AWS's engine agrees with the scanner's matcher."""
    engine(monkeypatch, matches)
    return fakes.history(monkeypatch, items)


def ago(hours: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours)


def test_a_pass_whose_latest_notification_failed_is_a_disagreement_never_a_new_verdict(
    aws: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chain = org.chain(org.management(), rules=(ROOT,))
    name = f"main-{ROOT}"
    arn = alarm(org.MANAGEMENT, name)
    requests = history(
        monkeypatch,
        {
            name: [
                action_item(arn, chain["topic"], ago(30), succeeded=True),
                action_item(arn, chain["topic"], ago(2), succeeded=False),
                # Older than the 14 days the lookup asks for: CloudWatch does not return it.
                action_item(arn, chain["topic"], ago(24 * 20), succeeded=False),
            ]
        },
    )
    _, out, err = run(capsys, "scan", "--regions", "us-east-1", "--confirm", "--format", "json")
    report = expand(json.loads(out))
    assert err == ""
    assert requests == [
        {"account": org.MANAGEMENT, "region": "us-east-1", "name": name, "kind": "Action"}
    ]
    summary = report["summary"]
    assert (summary["alarm_history_disagreements"], summary["failed_alarm_actions"]) == (1, 1)
    assert summary["engine_disagreements"] == 0
    root = next(
        f for f in report["findings"] if f["rule"] == ROOT and f["account_id"] == org.MANAGEMENT
    )
    assert root["status"] == Status.PASS.value  # the verdict stays
    (note,) = [n for n in root["notes"] if n.startswith(DISAGREES)]
    assert note.startswith(f'{DISAGREES}: alarm "{name}" failed to notify topic {chain["topic"]}')
    assert failed_summary(arn, chain["topic"]) in note
    assert "is not authorized to perform: SNS:Publish" in note
    # The table's summary says it too.
    _, table, _ = run(capsys, "scan", "--regions", "us-east-1", "--confirm")
    assert (
        "AWS's alarm history (DescribeAlarmHistory) holds 1 failed notification, and disagrees "
        "with the scanner on 1 path: see the findings' notes"
    ) in table


def test_a_fail_with_a_failed_notification_carries_awss_text_and_time(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    management = org.management()
    quiet = org.topic(management, "quiet", confirmed=False)
    org.chain(management, rules=(ROOT,), topic_arn=quiet)
    name = f"main-{ROOT}"
    arn = alarm(org.MANAGEMENT, name)
    failed_at = ago(5)
    history(monkeypatch, {name: [action_item(arn, quiet, failed_at, succeeded=False)]})
    inventory = asyncio.run(collect(OPTIONS)).inventory
    findings = evaluate(inventory)
    result, stats = asyncio.run(confirm(OPTIONS, inventory, findings))
    root = next(f for f in result.findings if f.rule == ROOT)
    assert root.status is Status.FAIL and root.broken_link is Link.SUBSCRIBER
    assert (result.lookups, result.failed_actions, result.history_disagreements) == (1, 1, 0)
    assert root.notes[-1] == (
        f'{HISTORY}: alarm "{name}" failed to notify topic {quiet} at {failed_at.isoformat()} '
        f"(DescribeAlarmHistory in us-east-1): {failed_summary(arn, quiet)}"
    )
    assert stats.by_operation()[("cloudwatch", "DescribeAlarmHistory")].calls == 1


def test_a_history_that_cannot_be_read_is_a_note_and_the_verdict_stays(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    org.chain(org.management(), rules=(ROOT,))
    history(monkeypatch, {})
    denied = faults.inject(
        monkeypatch, CloudWatchResponse, "describe_alarm_history", "AccessDenied", "not allowed"
    )
    inventory = asyncio.run(collect(OPTIONS)).inventory
    findings = evaluate(inventory)
    result, _ = asyncio.run(confirm(OPTIONS, inventory, findings))
    assert denied[0] == 1  # AccessDenied is not retried
    root = next(f for f in result.findings if f.rule == ROOT)
    before = next(f for f in findings if f.rule == ROOT)
    assert root.status is before.status is Status.PASS
    assert root.notes[-1].startswith(f'the history of alarm "main-{ROOT}" could not be read: ')
    assert "AccessDenied" in root.notes[-1]
    assert (result.lookup_failures, result.history_disagreements) == (1, 0)


def test_without_confirm_no_history_is_read(
    aws: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chain = org.chain(org.management(), rules=(ROOT,))
    name = f"main-{ROOT}"
    failed = action_item(alarm(org.MANAGEMENT, name), chain["topic"], ago(1), succeeded=False)
    requests = history(monkeypatch, {name: [failed]})
    _, out, _ = run(capsys, "scan", "--regions", "us-east-1", "--format", "json")
    report = expand(json.loads(out))
    assert requests == []
    assert "alarm_history_disagreements" not in report["summary"]
    assert not any(n.startswith(DISAGREES) for f in report["findings"] for n in f["notes"])


def test_one_lookup_per_alarm_in_its_owners_account_however_many_findings_share_it(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = org.organization("alpha", "beta")
    management = org.management()
    shared = org.chain(management, name="org", organization_trail=True, rules=(ROOT,))
    own = org.chain(org.enter(ids["beta"]), name="own", rules=(TRAIL_CHANGES,))
    shared_arn = alarm(org.MANAGEMENT, f"org-{ROOT}")
    own_arn = alarm(ids["beta"], f"own-{TRAIL_CHANGES}")
    requests = history(
        monkeypatch,
        {
            f"org-{ROOT}": [action_item(shared_arn, shared["topic"], ago(3), succeeded=False)],
            f"own-{TRAIL_CHANGES}": [action_item(own_arn, own["topic"], ago(3), succeeded=True)],
        },
    )
    options = dataclasses.replace(OPTIONS, organization=True)
    inventory = asyncio.run(collect(options)).inventory
    findings = evaluate(inventory)
    result, stats = asyncio.run(confirm(options, inventory, findings))
    assert sorted((r["account"], r["name"]) for r in requests) == sorted(
        [(org.MANAGEMENT, f"org-{ROOT}"), (ids["beta"], f"own-{TRAIL_CHANGES}")]
    )
    assert stats.by_operation()[("cloudwatch", "DescribeAlarmHistory")].calls == 2
    roots = [f for f in result.findings if f.rule == ROOT]
    assert {f.account_id for f in roots} == {org.MANAGEMENT, *ids.values()}
    for finding in roots:
        assert finding.status is Status.PASS
        assert any(n.startswith(f'{DISAGREES}: alarm "org-{ROOT}"') for n in finding.notes)
    # One failed notification and one disagreeing path, however many findings it is noted on.
    assert (result.history_disagreements, result.failed_actions) == (1, 1)
    beta = next(
        f for f in result.findings if f.rule == TRAIL_CHANGES and f.account_id == ids["beta"]
    )
    assert beta.status is Status.PASS
    assert not any(n.startswith(HISTORY) for n in beta.notes)  # a success is quiet
