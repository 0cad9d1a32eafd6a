"""Suppressions in the daemon: no alert while one lasts, a FAILED alert when it expires on a
still-broken control, Alertmanager silenced too, counted in scanner_suppressed_findings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from daemon.polling import run
from daemon.test_scheduler import A, FakeCollect, config, service
from daemon.test_transitions import Run, finding

from scanner.daemon.transitions import Kind
from scanner.errors import ConfigError
from scanner.model import Finding, Status


def suppressed(f: Finding) -> Finding:
    return dataclasses.replace(f, suppressed=True, suppression="accepted (suppressed until x)")


def test_a_suppressed_failure_alerts_nobody_until_the_exception_expires() -> None:
    scans = Run()
    scans.scan([finding(Status.PASS)])  # the baseline
    quiet = scans.scan([suppressed(finding(Status.FAIL))])
    assert quiet.transitions == []
    assert quiet.alerts == []  # Alertmanager is not told either
    expired = scans.scan([finding(Status.FAIL)])
    assert [(t.kind, t.from_status, t.to_status) for t in expired.transitions] == [
        (Kind.FAILED, Status.PASS, Status.FAIL)
    ]
    assert [a.ends_at for a in expired.alerts] == [None]


def test_suppressing_a_firing_control_resolves_it_in_alertmanager() -> None:
    scans = Run()
    scans.scan([finding(Status.PASS)])
    firing = scans.scan([finding(Status.FAIL)])
    assert [a.ends_at for a in firing.alerts] == [None]
    silenced = scans.scan([suppressed(finding(Status.FAIL))])
    assert silenced.transitions == []
    assert [a.ends_at is not None for a in silenced.alerts] == [True]


def test_the_scan_marks_suppressed_findings_and_counts_them(tmp_path: Path) -> None:
    path = tmp_path / "suppressions.yaml"
    path.write_text(
        f"suppressions:\n  - account: '{A}'\n    rule: CloudWatch.4\n"
        "    reason: accepted\n    expires: 2999-12-31\n"
    )
    s = service(config(rules={"suppressions": str(path)}), FakeCollect())

    async def scenario() -> None:
        await s.scan_once()

    run(scenario())
    marked = [f for f in s.findings() if f.suppressed]
    assert [(f.rule, f.status) for f in marked] == [("iam-policy-changes", Status.FAIL)]
    text = s.metrics.exposition().decode()
    assert (
        'scanner_suppressed_findings{rule="iam-policy-changes",severity="high",status="FAIL"} 1.0'
        in text
    )
    # A file that turns bad keeps the last good exceptions (and logs an error).
    path.write_text("suppressions: [")
    run(scenario())
    assert [f.rule for f in s.findings() if f.suppressed] == ["iam-policy-changes"]


def test_a_bad_suppressions_file_stops_the_daemon_at_start(tmp_path: Path) -> None:
    path = tmp_path / "suppressions.yaml"
    path.write_text("suppressions:\n  - {ou: A, rule: nope, reason: r, expires: 2030-01-01}\n")
    with pytest.raises(ConfigError, match=r"suppressions\[0\]\.rule: unknown rule"):
        config(rules={"suppressions": str(path)})
