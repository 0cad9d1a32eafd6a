"""``scanner scan`` and ``scanner remediate`` against the demo organization, as a user runs them.

moto's server (shared by the process) holds the demo organization; the commands reach it the
standard way, through ``AWS_ENDPOINT_URL`` and fake credentials in the environment.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import one_error_line, run

from scanner.testing import demo, emulation

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(emulation.MOTO_ERROR_SHAPE_WARNING)]

REGIONS = ",".join(demo.REGIONS)
FAST_ORGANIZATIONS = "organizations=100"  # the emulator has no quota; AWS's default is 2/s
DEV_SANDBOX = "210000000011"
ORDERS_PROD = "210000000003"
# The management account holds the organization trail that covers the members: a scan of some
# members names it too, or the members' findings lack the trail.
MANAGEMENT = emulation.MANAGEMENT_ACCOUNT_ID


@pytest.fixture
def aws(aws: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The demo's emulator (tests/conftest.py), colours allowed: some tests ask for them."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    return aws


def test_the_management_account_alone_passes_and_exits_0(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "scan", "--regions", REGIONS)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "(no FAIL or ERROR finding to list; --status all lists every one)"
    code, out, err = run(capsys, "scan", "--regions", REGIONS, "--status", "all")
    lines = out.splitlines()
    # Without --organization the account is named by its id (no Organizations call).
    assert lines[0] == f"{emulation.MANAGEMENT_ACCOUNT_ID}  {emulation.MANAGEMENT_ACCOUNT_ID}"
    assert "\033[" not in out  # not a terminal: no colour
    # Only the region its resources live in is read (trails are listed once, in the home region).
    assert lines[-2].startswith("Scanned 1 account in 1 region for 18 rules: ")
    assert lines[-1] == "18 findings in 1 account (profile recommended): 18 PASS, 0 FAIL, 0 ERROR"


def test_the_organization_as_json_exits_1_with_findings_and_summary(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        "scan",
        "--organization",
        "--regions",
        REGIONS,
        "--rate-limit",
        FAST_ORGANIZATIONS,
        "--format",
        "json",
    )
    assert (code, err) == (1, "")
    data = json.loads(out)
    summary = data["summary"]
    active = [a for a in demo.ORGANIZATION.accounts if not a.suspended]
    assert summary["accounts"] == len(active) == 18
    assert summary["rules"] == 18
    assert summary["findings"] == 18 * 18
    assert summary["PASS"] + summary["FAIL"] + summary["ERROR"] == summary["findings"]
    # The account whose role cannot be assumed, and only it, for the rules the organization
    # trail does not decide.
    assert summary["ERROR"] == len(demo.MEMBER_RULES)
    assert summary["regions"] == ["us-east-1"]  # where the demo's resources live
    assert summary["api_calls"] > 15
    assert summary["suspended"] == [
        {"account_id": "210000000015", "account_name": "retired-project", "status": "SUSPENDED"}
    ]
    assert list(summary["account_errors"]) == ["210000000014"]
    assert "AccessDenied" in summary["account_errors"]["210000000014"][0]
    finding = next(
        f for f in data["findings"] if f["account_id"] == DEV_SANDBOX and f["rule"] == "ssm-actions"
    )
    assert (finding["account_name"], finding["status"]) == ("dev-sandbox", "FAIL")
    # The verdict and its chain are written once in the report's tables; the finding names them.
    verdict = data["verdicts"][finding["verdict"]]
    assert verdict["broken_link"] == "actions"
    assert "actions disabled" in verdict["reason"]
    resources = [link["resource"] for link in data["chains"][verdict["chain"]]]
    assert f"arn:aws:cloudwatch:us-east-1:{DEV_SANDBOX}:alarm:SSMActionsAlarm" in resources


def test_filters_narrow_the_accounts_and_the_table_groups_by_account(
    aws: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = tmp_path / "report.txt"
    code, out, err = run(
        capsys,
        "scan",
        "--organization",
        "--accounts",
        f"{MANAGEMENT},{ORDERS_PROD}",
        "--regions",
        REGIONS,
        "--rate-limit",
        FAST_ORGANIZATIONS,
        "--output",
        str(report),
    )
    assert (code, out) == (1, "")
    lines = report.read_text().splitlines()
    orders = lines.index(f"{ORDERS_PROD}  orders-prod  (Workloads/Production)")
    assert lines[orders + 1].split()[:4] == ["STATUS", "RULE", "BROKEN", "LINK"]
    assert lines[-1] == (
        "36 findings in 2 accounts (profile recommended): 27 PASS, 9 FAIL, 0 ERROR"
    )
    assert err == f"scanner: wrote 36 findings (table, 9 listed) to {report}\n"


def test_a_saved_inventory_evaluates_offline_and_remediate_prints_the_fix(
    aws: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inventory = tmp_path / "inventory.json"
    code, _, err = run(
        capsys,
        "scan",
        "--organization",
        "--accounts",
        f"{MANAGEMENT},{DEV_SANDBOX}",
        "--regions",
        REGIONS,
        "--rate-limit",
        FAST_ORGANIZATIONS,
        "--rules-profile",
        "cloudguard",
        "--save-inventory",
        str(inventory),
    )
    assert code == 1
    saved = json.loads(inventory.read_text())["accounts"]
    assert err.endswith(f"scanner: wrote the inventory of {len(saved)} accounts to {inventory}\n")
    code, out, _ = run(capsys, "evaluate", "--inventory", str(inventory), "--format", "json")
    assert code == 1
    failing = [f["rule"] for f in json.loads(out)["findings"] if f["status"] == "FAIL"]
    assert failing == ["ssm-actions"]

    code, out, err = run(
        capsys, "remediate", "--inventory", str(inventory), "--account", DEV_SANDBOX
    )
    assert (code, err) == (0, "")
    assert out.startswith(f"# {DEV_SANDBOX} (dev-sandbox) ssm-actions: ")
    assert (
        "aws cloudwatch enable-alarm-actions --region us-east-1 --alarm-names SSMActionsAlarm"
        in out
    )
    assert out.rstrip().endswith("# 1 failing finding to fix")

    code, out, _ = run(capsys, "remediate", "--inventory", str(inventory), "--format", "terraform")
    assert code == 0
    assert 'resource "aws_cloudwatch_metric_alarm"' in out
    assert "actions_enabled" in out


def test_remediate_scans_when_no_inventory_is_given(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "remediate",
        "--organization",
        "--accounts",
        "210000000014",
        "--regions",
        REGIONS,
        "--rate-limit",
        FAST_ORGANIZATIONS,
    )
    assert code == 0
    assert out.splitlines() == [
        "# 0 failing findings to fix; 9 ERROR findings could not be decided (see 'scanner scan')"
    ]


def test_no_credentials_exit_2_with_one_line(
    aws: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, out, err = run(capsys, "scan", "--regions", REGIONS)
    assert (code, out) == (2, "")
    assert "no AWS credentials" in one_error_line(err)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("scan", "--regions", "us-east-1,"), "empty name in list"),
        (("scan", "--rate-limit", "cloudtrail"), "expected SERVICE=N"),
        (("scan", "--rules-profile", "cis-9"), "cis-9"),
        (("remediate", "--format", "pdf"), "invalid choice: 'pdf'"),
    ],
    ids=["empty-region", "bad-rate", "unknown-profile", "bad-format"],
)
def test_bad_arguments_exit_2_before_any_call(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], expected: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert expected in one_error_line(err)


def test_demo_prints_the_report_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "demo")
    assert (code, err) == (1, "")
    lines = out.splitlines()
    # FAIL and ERROR only, by default: the healthy management account is not listed.
    assert lines[0] == "210000000003  orders-prod  (Workloads/Production)"
    assert f"{emulation.MANAGEMENT_ACCOUNT_ID}  management" not in lines
    assert all(line.split()[0] in ("FAIL", "ERROR") for line in lines if "account-trail" in line)
    assert "210000000015  retired-project  suspended: not scanned" in lines
    # The listed findings of the account that cannot be entered share one reason: said once.
    assert any(
        line.startswith("  ERROR  all ") and "account 210000000014 could not be scanned" in line
        for line in lines
    )
    by_rule = lines.index("By rule (accounts)")
    assert lines[by_rule + 1].split() == ["RULE", "FAIL", "ERROR", "PASS"]
    by_ou = lines.index("By OU (findings)")
    production = next(line for line in lines[by_ou:] if "Workloads/Production" in line)
    assert production.split()[:3] == ["Workloads/Production", "6", "45"]
    assert lines[-1].startswith("Demo: an emulated organization (moto on http://127.0.0.1:")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("--accounts", "999999999999"), "--accounts: not in the organization: '999999999999'"),
        (("--exclude-accounts", "999999999998"), "--exclude-accounts: not in the organization"),
        (("--ous", "ou-zzzz-zzzzzzzz"), "--ous: no account of the organization is under"),
        (
            ("--accounts", DEV_SANDBOX, "--exclude-accounts", DEV_SANDBOX),
            "the account and OU filters leave no account",
        ),
    ],
    ids=["unknown-account", "unknown-excluded-account", "unknown-ou", "nothing-left"],
)
def test_ids_outside_the_organization_exit_2_before_any_account_is_entered(
    aws: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], expected: str
) -> None:
    code, out, err = run(
        capsys,
        "scan",
        "--organization",
        "--regions",
        REGIONS,
        "--rate-limit",
        FAST_ORGANIZATIONS,
        *argv,
    )
    assert (code, out) == (2, "")
    assert expected in one_error_line(err)
