"""Suppressions in the daemon: no alert while one lasts, a FAILED alert when it expires on a
still-broken control, Alertmanager silenced too, counted in scanner_suppressed_findings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import structlog
from daemon.polling import run
from daemon.test_scheduler import A, FakeCollect, config, service
from daemon.test_transitions import Run, finding

from scanner.aws import CallStats
from scanner.aws.organization import OrgAccount, Organization
from scanner.cli import main
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


IMPOSSIBLE = (
    "suppressions:\n  - account: '210000000013'\n    rule: '*'\n    reason: r\n"
    "    expires: 2027-02-31\n"
)


def test_an_impossible_date_stops_config_check_and_serve_with_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exceptions = tmp_path / "suppressions.yaml"
    exceptions.write_text(IMPOSSIBLE)
    daemon = tmp_path / "scanner.yaml"
    daemon.write_text(f"rules:\n  suppressions: {exceptions}\n")
    expected = (
        f"scanner: error: config: {exceptions}: line 5: suppressions[0].expires: '2027-02-31' "
        "is not a date, YYYY-MM-DD (day is out of range for month)\n"
    )
    for argv in (["config", "check", str(daemon)], ["serve", "--config", str(daemon)]):
        assert main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert (out, err) == ("", expected), argv


def test_config_check_warns_of_a_rule_the_profile_does_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exceptions = tmp_path / "suppressions.yaml"
    exceptions.write_text(
        "suppressions:\n  - ou: Sandbox\n    rule: ssm-actions\n    reason: r\n"
        "    expires: 2030-01-01\n"
    )
    daemon = tmp_path / "scanner.yaml"
    daemon.write_text(f"rules:\n  suppressions: {exceptions}\n  profile: cis-1.2\n")
    assert main(["config", "check", str(daemon)]) == 0
    out, err = capsys.readouterr()
    assert err == (
        f"scanner: warning: {exceptions}: line 2: suppressions[0]: rule 'ssm-actions' is not in "
        "profile 'cis-1.2', so it suppresses nothing\n"
    )
    assert f"  suppressions: 1 in {exceptions} (their accounts and OUs are checked" in out


class Listing:
    """The organization as a listing names it: the caller's own account A, in Sandbox."""

    def __init__(self) -> None:
        self.organization = Organization(
            "o-ab12cdef34",
            A,
            (OrgAccount(A, "own", ou_ids=("r-ab12", "ou-ab12-sandbox11"), ou_names=("Sandbox",)),),
        )

    async def get(self, session: object = None) -> tuple[Organization, CallStats | None]:
        return self.organization, CallStats()

    def age(self) -> float | None:
        return None


def test_the_daemon_warns_of_an_ou_not_in_the_organization_after_each_listing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "suppressions.yaml"
    path.write_text(
        "suppressions:\n  - ou: Sandboxx\n    rule: '*'\n    reason: r\n    expires: 2999-12-31\n"
    )
    s = service(
        config(organization={"enabled": True}, rules={"suppressions": str(path)}), FakeCollect()
    )
    s.accounts = Listing()  # type: ignore[assignment]

    async def scenario() -> None:
        await s.scan_once()

    with structlog.testing.capture_logs() as logs:
        run(scenario())
        run(scenario())
    warned = [e["warning"] for e in logs if e["event"] == "suppression_matches_nothing"]
    assert (
        warned
        == [
            f"{path}: line 2: suppressions[0]: ou 'Sandboxx' holds no account of the organization, "
            "so it suppresses nothing; did you mean 'Sandbox'?"
        ]
        * 2
    )  # once per listing
