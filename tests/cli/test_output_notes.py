"""A report written with ``--output FILE`` says so on stderr (the terminal stays empty
otherwise), unless ``--quiet``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import nacl_gaps_inventory, run


def test_evaluate_output_says_what_it_wrote(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inventory = nacl_gaps_inventory(tmp_path)
    report = tmp_path / "report.json"
    code, out, err = run(
        capsys, "evaluate", "--inventory", inventory, "--format", "json", "--output", str(report)
    )
    assert (code, out) == (1, "")
    findings = len(json.loads(report.read_text())["findings"])
    assert err == f"scanner: wrote {findings} findings (json) to {report}\n"


def test_the_table_says_how_many_findings_it_lists_of_those_it_counts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inventory = nacl_gaps_inventory(tmp_path)
    report = tmp_path / "report.txt"
    code, _, err = run(
        capsys,
        "evaluate",
        "--inventory",
        inventory,
        "--rules",
        "nacl-changes,vpc-changes",
        "--output",
        str(report),
    )
    assert code == 1
    # Three accounts: nacl-changes FAILs in each, vpc-changes PASSes (not listed by default).
    assert err == f"scanner: wrote 6 findings (table, 3 listed) to {report}\n"
    code, _, err = run(
        capsys,
        "evaluate",
        "--inventory",
        inventory,
        "--format",
        "csv",
        "--status",
        "fail",
        "--output",
        str(report),
    )
    assert err.startswith("scanner: wrote 54 findings (csv, 3 listed) to ")


def test_quiet_says_nothing_but_the_report_in_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inventory = nacl_gaps_inventory(tmp_path)
    report = tmp_path / "report.txt"
    code, out, err = run(
        capsys, "evaluate", "--inventory", inventory, "-q", "--output", str(report)
    )
    assert (code, out, err) == (1, "", "")
    assert report.read_text().startswith("54 findings in 3 accounts")
