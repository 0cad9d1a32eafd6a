"""``--suppressions FILE``: accepted exceptions keep their status, are marked, and do not fail
the run; a bad file is one line and exit 2 before any work."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_run import nacl_gaps_inventory, one_error_line, run

from scanner.testing.builders import (
    MANAGEMENT_ACCOUNT_ID,
)
from scanner.testing.emulation import MOTO_ERROR_SHAPE_WARNING

TOMORROW = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
YESTERDAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


@pytest.fixture
def inventory(tmp_path: Path) -> str:
    return nacl_gaps_inventory(tmp_path)


def _file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "suppressions.yaml"
    path.write_text(text)
    return str(path)


def test_suppressed_findings_keep_their_status_and_leave_the_exit_code(
    capsys: pytest.CaptureFixture[str], inventory: str, tmp_path: Path
) -> None:
    suppressions = _file(
        tmp_path,
        f"""suppressions:
  - ou: Workloads
    rule: CloudWatch.11
    reason: the network team alarms on NACLs in its own account
    expires: {TOMORROW}
  - account: "333333333333"
    rule: "*"
    reason: lab account
    expires: {TOMORROW}
""",
    )
    argv = ("evaluate", "--inventory", inventory, "--suppressions", suppressions)
    code, out, _ = run(capsys, *argv)
    assert code == 1  # the management account's FAIL is not suppressed
    assert out.splitlines()[-1].endswith("51 PASS, 3 FAIL, 0 ERROR (2 suppressed)")
    assert f"suppressed: lab account (suppressed until {TOMORROW})" in out
    code, out, _ = run(capsys, *argv, "--format", "json")
    data = json.loads(out)
    failing = {f["account_id"]: f for f in data["findings"] if f["status"] == "FAIL"}
    assert {k: f["suppressed"] for k, f in failing.items()} == {
        MANAGEMENT_ACCOUNT_ID: False,
        "222222222222": True,
        "333333333333": True,
    }
    assert data["summary"]["suppressed"] == 2

    everything = _file(
        tmp_path,
        f"suppressions:\n  - ou: /\n    rule: x\n    reason: r\n    expires: {TOMORROW}\n",
    )
    code, _, err = run(capsys, "evaluate", "--inventory", inventory, "--suppressions", everything)
    assert code == 2
    assert "suppressions[0].ou" in one_error_line(err)


def test_an_ou_id_suppresses_that_ou_and_everything_below_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Workloads is ou-ab12-workload1 (web sits in its Production OU); Sandbox another."""
    data = json.loads(Path(nacl_gaps_inventory(tmp_path)).read_text())
    ids = {
        "222222222222": ["r-ab12", "ou-ab12-workload1", "ou-ab12-producti1"],
        "333333333333": ["r-ab12", "ou-ab12-sandbox11"],
        MANAGEMENT_ACCOUNT_ID: ["r-ab12"],
    }
    for account in data["accounts"]:
        account["ou_ids"] = ids[account["id"]]
    inventory = tmp_path / "with-ids.json"
    inventory.write_text(json.dumps(data))
    suppressions = _file(
        tmp_path,
        f"suppressions:\n  - ou_id: ou-ab12-workload1\n    rule: nacl-changes\n"
        f"    reason: the network team's own alarms\n    expires: {TOMORROW}\n",
    )
    argv = ("evaluate", "--inventory", str(inventory), "--suppressions", suppressions)
    code, out, _ = run(capsys, *argv, "--format", "json")
    assert code == 1  # the management account's FAIL is not covered
    failing = {
        f["account_id"]: f["suppressed"]
        for f in json.loads(out)["findings"]
        if f["status"] == "FAIL"
    }
    assert failing == {MANAGEMENT_ACCOUNT_ID: False, "222222222222": True, "333333333333": False}


def test_when_every_failure_is_suppressed_the_run_passes(
    capsys: pytest.CaptureFixture[str], inventory: str, tmp_path: Path
) -> None:
    entries = "".join(
        f"  - {where}\n    rule: nacl-changes\n    reason: accepted\n    expires: {TOMORROW}\n"
        for where in (f'account: "{MANAGEMENT_ACCOUNT_ID}"', "ou: Workloads", "ou: Sandbox")
    )
    suppressions = _file(tmp_path, "suppressions:\n" + entries)
    code, out, _ = run(capsys, "evaluate", "--inventory", inventory, "--suppressions", suppressions)
    assert code == 0
    assert out.count("  FAIL    nacl-changes") == 3  # still listed: the control is still broken


def test_an_expired_suppression_says_so_and_suppresses_nothing(
    capsys: pytest.CaptureFixture[str], inventory: str, tmp_path: Path
) -> None:
    suppressions = _file(
        tmp_path,
        f"suppressions:\n  - account: '333333333333'\n    rule: nacl-changes\n"
        f"    reason: until the migration\n    expires: {YESTERDAY}\n",
    )
    code, out, _ = run(capsys, "evaluate", "--inventory", inventory, "--suppressions", suppressions)
    assert code == 1
    assert f"suppression expired on {YESTERDAY}: until the migration" in out
    assert "suppressed)" not in out.splitlines()[-1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "suppressions:\n  - account: '111111111111'\n    account: '222222222222'\n",
            "line 3 column 5: duplicate key 'account'",
        ),
        (
            "suppressions:\n  - {account: '1', rule: x, reason: r, expires: 2030-01-01}\n",
            "12-digit",
        ),
        (
            "suppressions:\n  - {ou: A, rule: nope, reason: r, expires: 2030-01-01}\n",
            "suppressions[0].rule: unknown rule or control id 'nope'",
        ),
        (
            "suppressions:\n  - {ou: A, rule: '*', reason: r, expires: soon}\n",
            "suppressions.yaml: line 2: suppressions[0].expires: 'soon' is not a date",
        ),
        (
            "suppressions:\n  - account: '210000000013'\n    rule: '*'\n    reason: r\n"
            "    expires: 2027-02-31\n",
            "suppressions.yaml: line 5: suppressions[0].expires: '2027-02-31' is not a date, "
            "YYYY-MM-DD (day is out of range for month)",
        ),
        (
            "suppressions:\n  - ou: A\n    rule: '*'\n    reason: r\n"
            "    expires: 2027-02-01 10:00:00\n",
            "suppressions.yaml: line 5: suppressions[0].expires: expected a date, YYYY-MM-DD",
        ),
        (
            "suppressions:\n  - {ou: A, account: '111111111111', rule: '*', reason: r}\n",
            "give exactly one of account, ou, ou_id",
        ),
        (
            "suppressions:\n  - {ou_id: Workloads, rule: '*', reason: r, expires: 2030-01-01}\n",
            "suppressions[0].ou_id: 'Workloads' is not an OU id (ou-xxxx-xxxxxxxx) or root id",
        ),
        ("suppressions:\n  - {ou: A, rule: '*', expires: 2030-01-01}\n", "reason: expected"),
        ("suppressions:\n  - {ou: A, rule: '*', reason: r, expires: 2030-01-01, by: me}\n", "by"),
        ("- a\n", "suppressions.yaml: line 1: expected one key, 'suppressions'"),
        ("suppressions: [\n", "suppressions.yaml: line 2 column 1"),
        ("[" * 5000, "suppressions.yaml"),
    ],
    ids=[
        "duplicate-key",
        "bad-account",
        "unknown-rule",
        "bad-date",
        "impossible-date",
        "a-time",
        "account-and-ou",
        "ou-id-not-an-id",
        "no-reason",
        "unknown-key",
        "not-a-mapping",
        "bad-yaml",
        "deep",
    ],
)
def test_a_bad_suppressions_file_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], inventory: str, tmp_path: Path, text: str, expected: str
) -> None:
    path = _file(tmp_path, text)
    code, out, err = run(capsys, "evaluate", "--inventory", inventory, "--suppressions", path)
    assert (code, out) == (2, "")
    line = one_error_line(err)
    assert expected in line
    assert f"config: {path}: line " in line  # the file and the line, whatever is wrong


def test_a_missing_suppressions_file_stops_the_scan_before_any_call(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "scan", "--suppressions", str(tmp_path / "none.yaml"))
    assert (code, out) == (2, "")
    assert "none.yaml: cannot read" in one_error_line(err)


def test_a_rule_the_profile_does_not_run_is_a_warning_naming_the_nearest_one(
    capsys: pytest.CaptureFixture[str], inventory: str, tmp_path: Path
) -> None:
    suppressions = _file(
        tmp_path,
        f"suppressions:\n  - ou: Workloads\n    rule: ssm-actions\n    reason: r\n"
        f"    expires: {TOMORROW}\n",
    )
    argv = ("evaluate", "--inventory", inventory, "--suppressions", suppressions)
    code, out, err = run(capsys, *argv, "--rules-profile", "cis-1.2", "-q")
    assert code == 1 and out.startswith("42 findings")
    assert err == (
        f"scanner: warning: {suppressions}: line 2: suppressions[0]: rule 'ssm-actions' is not "
        "in profile 'cis-1.2', so it suppresses nothing\n"
    )
    code, _, err = run(capsys, *argv, "-q")  # recommended runs it
    assert (code, err) == (1, "")


@pytest.mark.slow
@pytest.mark.filterwarnings(MOTO_ERROR_SHAPE_WARNING)
def test_after_the_listing_an_account_or_ou_not_in_the_organization_is_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The demo lists its organization: Sandbox holds dev-sandbox (210000000011)."""
    suppressions = _file(
        tmp_path,
        f"""suppressions:
  - ou: Sandboxx
    rule: "*"
    reason: the sandbox
    expires: {TOMORROW}
  - account: "210000000099"
    rule: "*"
    reason: a closed account
    expires: {TOMORROW}
  - ou: Sandbox
    rule: "*"
    reason: the sandbox
    expires: {TOMORROW}
""",
    )
    code, out, err = run(capsys, "demo", "-q", "--suppressions", suppressions)
    assert code == 1 and "suppressed" in out
    assert err.splitlines() == [
        f"scanner: warning: {suppressions}: line 2: suppressions[0]: ou 'Sandboxx' holds no "
        "account of the organization, so it suppresses nothing; did you mean 'Sandbox'?",
        f"scanner: warning: {suppressions}: line 6: suppressions[1]: account 210000000099 is "
        "not in the organization, so it suppresses nothing; did you mean '210000000009'?",
    ]
