"""``scanner scan --confirm`` against moto's server: the questions reach CloudWatch Logs' API as
``TestMetricFilter`` calls and the answers become notes.

moto has no TestMetricFilter: the tests add the operation to moto's Logs handler in this
process (``confirm_fakes.engine``) and say what engine stands behind it. One answers with the
scanner's own matcher (the plumbing is checked: AWS agrees, nothing is noted); the other pretends
AWS matches every event, so that a disagreement must be reported and must not change the
verdict. DescribeAlarmHistory, which ``--confirm`` also calls and moto also lacks, answers with
an empty history (``confirm_fakes.history``).
"""

from __future__ import annotations

import asyncio
import json

import pytest
from cli_run import run
from e2e import emulated_org as org
from e2e.confirm_fakes import engine, history

from scanner.aws import ScanOptions, collect
from scanner.aws.confirm import confirm
from scanner.evaluate import evaluate
from scanner.evaluate.confirm import DISAGREES
from scanner.model import Link, Status
from scanner.patterns import matches
from scanner.report.compact import expand

pytestmark = pytest.mark.slow

ROOT = "root-account-usage"
OPTIONS = ScanOptions(rate_limits={"organizations": 100.0}, regions=("us-east-1",))


def broken_root_filter() -> None:
    management = org.management()
    chain = org.chain(management, rules=(ROOT,))
    logs = management.client("logs")
    logs.delete_metric_filter(logGroupName=chain["log_group"], filterName=ROOT)
    logs.put_metric_filter(
        logGroupName=chain["log_group"],
        filterName=ROOT,
        filterPattern='{ $.userIdentity.type = "Root" && $.eventType = "AwsConsoleSignIn" }',
        metricTransformations=[
            {"metricName": ROOT, "metricNamespace": "CISBenchmark", "metricValue": "1"}
        ],
    )


def test_when_aws_agrees_nothing_is_noted(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = engine(monkeypatch, matches)
    history(monkeypatch, {})
    broken_root_filter()
    inventory = asyncio.run(collect(OPTIONS)).inventory
    findings = evaluate(inventory)
    result, stats = asyncio.run(confirm(OPTIONS, inventory, findings))
    assert calls[0] == result.checks >= 1
    assert stats.by_operation()[("logs", "TestMetricFilter")].calls == calls[0]
    assert (result.disagreements, result.failures) == (0, 0)
    assert result.findings == findings


def test_a_disagreement_is_a_note_and_a_count_never_a_new_verdict(
    aws: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine(monkeypatch, lambda pattern, event: True)  # a pretend AWS that matches everything
    history(monkeypatch, {})
    broken_root_filter()
    code, out, err = run(capsys, "scan", "--regions", "us-east-1", "--confirm", "--format", "json")
    report = expand(json.loads(out))
    assert code == 1 and err == ""
    assert report["summary"]["engine_disagreements"] >= 1
    root = next(
        f for f in report["findings"] if f["rule"] == ROOT and f["account_id"] == org.MANAGEMENT
    )
    assert root["status"] == Status.FAIL.value
    assert root["broken_link"] == Link.FILTER.value
    assert any(
        note.startswith(f'{DISAGREES}: metric filter "{ROOT}" matches the')
        for note in root["notes"]
    )
