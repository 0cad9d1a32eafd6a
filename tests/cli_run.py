"""Running the command line in a test: exit code and captured output, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.cli import main
from scanner.testing.builders import (
    MANAGEMENT_ACCOUNT_ID,
    member_account,
    organization,
    replace_account,
    with_filter,
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    """The single ``scanner: error: ...`` line a command that cannot run must print."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("scanner: error: ")
    assert "Traceback" not in err
    return lines[0]


def nacl_gaps_inventory(directory: Path) -> str:
    """A saved inventory: the management account (root) and two members, web
    (Workloads/Production) and lab (Sandbox), all on the organization trail, whose NACL filter
    catches one NACL event only, so nacl-changes FAILs in every account with 5 gaps."""
    members = [
        member_account("222222222222", "web", ou_path=("Workloads", "Production")),
        member_account("333333333333", "lab", ou_path=("Sandbox",)),
    ]
    org = organization(members)
    management = org.account(MANAGEMENT_ACCOUNT_ID)
    assert management is not None
    partial = '{ ($.eventSource = "ec2.amazonaws.com") && ($.eventName = "CreateNetworkAcl") }'
    broken = with_filter(management, "NACLChangesFilter", pattern=partial)
    path = directory / "inventory.json"
    path.write_text(json.dumps(replace_account(org, broken).to_json()))
    return str(path)
