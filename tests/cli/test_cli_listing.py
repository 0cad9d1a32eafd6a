"""``scanner scan`` when Organizations will not list everything, and with a saved listing.

moto's server (shared by the process) holds the demo organization. moto has no fault injection:
:func:`e2e.faults.hook` patches its dispatch in this process so that Organizations answers
TooManyRequestsException for the calls a test chooses, serialised as AWS does; the retries end
at a short ``--patience`` instead of the default three minutes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import one_error_line, run
from e2e import faults

from scanner.testing import demo, emulation

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(emulation.MOTO_ERROR_SHAPE_WARNING)]

REGIONS = ",".join(demo.REGIONS)
SCAN = ("scan", "--organization", "--regions", REGIONS, "--rate-limit", "organizations=100")
ACTIVE_ACCOUNTS = len([a for a in demo.ORGANIZATION.accounts if not a.suspended])


def throttle_one_ou(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """ListAccountsForParent of the first OU the scan asks about is throttled, always; the OU's
    id is appended to the returned list when it is chosen."""
    chosen: list[str] = []

    def decide(call: faults.Call) -> faults.Fault | None:
        if call.service != "organizations" or call.operation != "ListAccountsForParent":
            return None
        parent = str(call.params.get("ParentId", ""))
        if not chosen and parent.startswith("ou-"):
            chosen.append(parent)
        return faults.THROTTLED_ORGANIZATIONS if chosen and parent == chosen[0] else None

    faults.hook(monkeypatch, decide)
    return chosen


def test_an_ou_whose_listing_is_throttled_out_leaves_a_partial_report_that_says_so(
    aws: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chosen = throttle_one_ou(monkeypatch)

    code, out, _ = run(capsys, *SCAN, "--patience", "1s", "--format", "json")

    assert chosen, "the organization has an OU"
    assert code == 1  # as any ERROR: accounts under that OU have no verdict
    summary = json.loads(out)["summary"]
    (gap,) = summary["listing_incomplete"]
    assert gap["parent"] == chosen[0]
    assert gap["operation"] == "ListAccountsForParent"
    assert "TooManyRequestsException" in gap["error"]
    # Every account listed was scanned: more than the management account, fewer than all.
    assert 1 < summary["accounts"] < ACTIVE_ACCOUNTS
    # The listing's retries share the patience: the partial report comes out soon after it.
    assert summary["duration_seconds"] < 10

    code, out, _ = run(capsys, *SCAN, "--patience", "1s")
    lines = out.splitlines()
    assert code == 1
    assert any(
        line.startswith(f"ERROR  organization listing incomplete: {chosen[0]} (organizations ")
        and "TooManyRequestsException" in line
        for line in lines
    ), out
    assert lines[-1].endswith("; organization listing incomplete: 1 parent not listed")


def test_a_saved_listing_scans_the_organization_without_listing_it(
    aws: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    saved = tmp_path / "listing.json"
    code, calm, _ = run(capsys, *SCAN, "--format", "json", "--save-listing", str(saved))
    assert code == 1
    listing = json.loads(saved.read_text())
    assert len(listing["accounts"]) == len(demo.ORGANIZATION.accounts)
    assert listing["incomplete"] == []

    # `accounts list --output` writes the same listing.
    listed = tmp_path / "accounts.json"
    code, _, err = run(capsys, "accounts", "list", "--output", str(listed))
    accounts = len(demo.ORGANIZATION.accounts)
    assert code == 0
    assert err == f"scanner: wrote the listing of {accounts} accounts to {listed}\n"
    assert json.loads(listed.read_text()) == listing

    # With Organizations refusing every call, the saved listing still gives the calm report.
    refused: list[faults.Call] = []

    def deny(call: faults.Call) -> faults.Fault | None:
        if call.service != "organizations":
            return None
        refused.append(call)
        return faults.DENIED

    faults.hook(monkeypatch, deny)
    code, out, _ = run(capsys, *SCAN, "--format", "json", "--accounts-from", str(saved))
    assert code == 1
    assert refused == []  # no Organizations call at all
    calm_data, data = json.loads(calm), json.loads(out)
    assert data["findings"] == calm_data["findings"]
    assert "listing_incomplete" not in data["summary"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read organization listing"),
        ("{not json", "is not valid JSON: line 1 column 2"),
        ('{"accounts": []}', "is not an organization listing: format must be"),
        (
            '{"format": "scanner.organization-listing/1", "id": null, '
            '"management_account_id": null, "accounts": [{"id": "42", "name": "x"}]}',
            "'42' is not a 12-digit id",
        ),
        (
            '{"format": "scanner.organization-listing/1", "id": null, '
            '"management_account_id": null, "accounts": []}',
            "holds no account: nothing to scan",
        ),
    ],
)
def test_a_bad_listing_file_is_one_line_and_exit_2_before_any_call(
    aws: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    *,
    content: str | None,
    problem: str,
) -> None:
    path = tmp_path / "listing.json"
    if content is not None:
        path.write_text(content)
    calls: list[faults.Call] = []

    def count(call: faults.Call) -> None:
        calls.append(call)  # every call is answered as usual; none should be made

    faults.hook(monkeypatch, count)

    code, out, err = run(capsys, "scan", "--accounts-from", str(path), "--regions", REGIONS)

    assert (code, out) == (2, "")
    assert problem in one_error_line(err)
    assert calls == []


def test_accounts_list_prints_a_partial_listing_and_exits_1(
    aws: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chosen = throttle_one_ou(monkeypatch)

    code, out, err = run(capsys, "accounts", "list", "--patience", "1s", "--format", "json")

    assert code == 1
    listing = json.loads(out)
    (gap,) = listing["incomplete"]
    assert gap["resource"] == chosen[0] and gap["code"] == "TooManyRequestsException"
    assert 1 < len(listing["accounts"]) < len(demo.ORGANIZATION.accounts)
    assert err.startswith(f"organization listing incomplete: {chosen[0]} (organizations ")
