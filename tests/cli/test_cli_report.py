"""The readable report: what needs action first, summaries by rule and OU, filters, width."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from cli_run import nacl_gaps_inventory, run

from scanner.cli import main
from scanner.cli.output import ProgressBar
from scanner.report.compact import expand, expand_lines
from scanner.testing import event_names

NACL_EVENTS = event_names("nacl-changes")


@pytest.fixture
def inventory(tmp_path: Path) -> str:
    return nacl_gaps_inventory(tmp_path)


def test_the_table_lists_fail_and_error_then_sums_up_by_rule_and_ou(
    capsys: pytest.CaptureFixture[str], inventory: str
) -> None:
    code, out, _ = run(capsys, "evaluate", "--inventory", inventory)
    assert code == 1
    lines = out.splitlines()
    rows = [line for line in lines if line.startswith(("  FAIL", "  PASS"))]
    assert len(rows) == 3
    assert all(row.split()[:3] == ["FAIL", "nacl-changes", "filter"] for row in rows)
    by_rule = lines.index("By rule (accounts)")
    assert lines[by_rule + 2].split() == ["nacl-changes", "3", "0", "0"]
    by_ou = lines.index("By OU (findings)")
    assert [line.split() for line in lines[by_ou + 1 : by_ou + 5]] == [
        ["OU", "ACCOUNTS", "FAIL", "ERROR", "PASS"],
        ["(root)", "1", "1", "0", "17"],
        ["Sandbox", "1", "1", "0", "17"],
        ["Workloads/Production", "1", "1", "0", "17"],
    ]
    assert lines[-1] == "54 findings in 3 accounts (profile recommended): 51 PASS, 3 FAIL, 0 ERROR"


def test_a_reason_with_several_gaps_gives_each_its_own_line(
    capsys: pytest.CaptureFixture[str], inventory: str
) -> None:
    _, out, _ = run(capsys, "evaluate", "--inventory", inventory)
    lines = out.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("  FAIL"))
    column = lines[row].index("metric filter")
    gaps = lines[row + 1 : row + len(NACL_EVENTS)]
    assert len(gaps) == len(NACL_EVENTS) - 1  # every NACL event but the one caught
    for gap, event in zip(gaps, NACL_EVENTS[1:], strict=True):
        assert gap.index("- ") == column
        assert f'eventName is "{event}"' in gap


NACL_PATTERN = '{ ($.eventSource = "ec2.amazonaws.com") && ($.eventName = "CreateNetworkAcl") }'


def test_verbose_prints_the_judged_pattern_under_each_failing_finding(
    capsys: pytest.CaptureFixture[str], inventory: str
) -> None:
    """What the missed events were compared with: the filter's pattern, as written."""
    _, quiet, _ = run(capsys, "evaluate", "--inventory", inventory)
    assert "pattern:" not in quiet
    for flag in ("--verbose", "-v"):
        _, out, _ = run(capsys, "evaluate", "--inventory", inventory, flag)
        lines = out.splitlines()
        shown = [line.split("pattern: ", 1)[1] for line in lines if "pattern: " in line]
        assert shown == [NACL_PATTERN] * 3  # one per failing account


def test_json_and_jsonl_carry_the_judged_pattern(
    capsys: pytest.CaptureFixture[str], inventory: str
) -> None:
    _, out, _ = run(capsys, "evaluate", "--inventory", inventory, "--format", "json")
    failed = [f for f in expand(json.loads(out))["findings"] if f["status"] == "FAIL"]
    assert [f["patterns"] for f in failed] == [[NACL_PATTERN]] * 3
    _, out, _ = run(capsys, "evaluate", "--inventory", inventory, "--format", "jsonl")
    findings = list(expand_lines(json.loads(line) for line in out.splitlines()))
    assert [f["patterns"] for f in findings if f["status"] == "FAIL"] == [[NACL_PATTERN]] * 3


def test_status_all_lists_every_finding_and_status_pass_only_passes(
    capsys: pytest.CaptureFixture[str], inventory: str
) -> None:
    _, out, _ = run(capsys, "evaluate", "--inventory", inventory, "--status", "all")
    statuses = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    assert statuses.count("PASS") == 51
    _, out, _ = run(capsys, "evaluate", "--inventory", inventory, "--status", "pass", "-q")
    assert out.splitlines() == [
        "54 findings in 3 accounts (profile recommended): 51 PASS, 3 FAIL, 0 ERROR"
    ]


def test_severity_and_rules_select_what_the_summary_and_exit_code_cover(
    capsys: pytest.CaptureFixture[str], inventory: str
) -> None:
    code, out, _ = run(capsys, "evaluate", "--inventory", inventory, "--severity", "high+", "-q")
    assert code == 0  # nacl-changes is medium: the high-and-critical gate passes
    assert (
        out.strip() == "27 findings in 3 accounts (profile recommended): 27 PASS, 0 FAIL, 0 ERROR"
    )
    code, out, _ = run(
        capsys,
        "evaluate",
        "--inventory",
        inventory,
        "--rules",
        "CloudWatch.11,4.1",
        "--format",
        "json",
    )
    assert code == 1
    data = json.loads(out)
    assert {f["rule"] for f in data["findings"]} == {"nacl-changes", "unauthorized-api-calls"}
    assert data["summary"]["findings"] == 6  # json lists every status unless --status is given
    _, out, _ = run(
        capsys, "evaluate", "--inventory", inventory, "--status", "fail", "--format", "json"
    )
    assert [f["status"] for f in json.loads(out)["findings"]] == ["FAIL"] * 3


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("--rules", "nope"), "unknown rule or control id 'nope'"),
        (("-r", "cis-1.2", "--rules", "organizations-changes"), "not in profile cis-1.2"),
        (("--status", "fine"), "unknown status 'FINE'"),
        (("--severity", "urgent"), "unknown severity 'urgent'"),
    ],
)
def test_bad_report_options_exit_2(
    capsys: pytest.CaptureFixture[str], inventory: str, argv: tuple[str, ...], expected: str
) -> None:
    code, out, err = run(capsys, "evaluate", "--inventory", inventory, *argv)
    assert (code, out) == (2, "")
    assert expected in err


def test_output_writes_the_report_to_a_file(
    capsys: pytest.CaptureFixture[str], inventory: str, tmp_path: Path
) -> None:
    report = tmp_path / "report.txt"
    code, out, _ = run(capsys, "evaluate", "--inventory", inventory, "--output", str(report))
    assert (code, out) == (1, "")
    assert report.read_text().splitlines()[-1].startswith("54 findings in 3 accounts")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_reasons_wrap_to_its_width(
    monkeypatch: pytest.MonkeyPatch, inventory: str
) -> None:
    monkeypatch.setenv("COLUMNS", "72")
    monkeypatch.setenv("NO_COLOR", "1")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main(["evaluate", "--inventory", inventory]) == 1
    table = [line for line in terminal.getvalue().splitlines() if line.startswith("  ")]
    assert max(len(line) for line in table) <= 72
    text = " ".join(" ".join(table).split())
    assert "misses 5 events (CreateNetworkAclEntry, DeleteNetworkAcl" in text


def test_the_progress_bar_says_how_long_is_left() -> None:
    stream = _Terminal()
    now = [100.0]
    bar = ProgressBar(stream, clock=lambda: now[0])
    bar.say("starting")
    bar(1, 5)
    now[0] += 10.0
    bar(3, 5)
    assert stream.getvalue().endswith(
        "scanning accounts [##################            ] 3/5  0:10 left"
    )
    bar.close()
    assert stream.getvalue().endswith("\r\033[K")


@pytest.mark.slow
def test_the_demo_says_something_on_a_terminal_before_the_emulator_is_up() -> None:
    """Seeding the emulator takes seconds; the first line must not wait for it."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "scanner", "demo"],
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env={**os.environ, "NO_COLOR": "1"},
    )
    os.close(follower)
    try:
        ready, _, _ = select.select([leader], [], [], 60)
        first = os.read(leader, 4096).decode() if ready else ""
        assert "demo: starting the emulator (moto)" in first
        assert "scanning accounts" not in first
        assert process.wait(timeout=120) == 1
    finally:
        process.kill()
        os.close(leader)
