"""``--format`` on the command line: every format of the table, through ``scanner evaluate``."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_run import one_error_line, run
from report.report_demo import Demo

from scanner.report import FORMATS


def count_csv(text: str) -> int:
    return len(list(csv.DictReader(io.StringIO(text, newline=""))))


def count_jsonl(text: str) -> int:
    """The finding lines (the others define the chains and fixes they name)."""
    return sum(json.loads(line)["type"] == "finding" for line in text.splitlines())


def count_array(text: str) -> int:
    return len(json.loads(text))


def count_junit(text: str) -> int:
    return int(ET.fromstring(text).attrib["tests"])


COUNTERS: dict[str, Callable[[str], int]] = {
    "csv": count_csv,
    "jsonl": count_jsonl,
    "ocsf": count_array,
    "asff": count_array,
    "junit": count_junit,
}


@pytest.fixture
def inventory_file(demo_report: Demo, tmp_path: Path) -> Path:
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(demo_report.inventory.to_json()), encoding="utf-8")
    return path


def test_the_format_option_offers_every_format_of_the_table() -> None:
    assert set(FORMATS) == {"csv", "jsonl", "ocsf", "asff", "junit", "html"}


@pytest.mark.parametrize("name", sorted(COUNTERS))
def test_evaluate_writes_every_finding_in_the_chosen_format(
    capsys: pytest.CaptureFixture[str], demo_report: Demo, inventory_file: Path, name: str
) -> None:
    code, out, err = run(capsys, "evaluate", "--inventory", str(inventory_file), "--format", name)
    assert (code, err) == (1, "")  # the demo fails on purpose: exit 1, as with the table
    assert COUNTERS[name](out) == len(demo_report.findings)


def test_evaluate_writes_the_html_page(
    capsys: pytest.CaptureFixture[str], inventory_file: Path
) -> None:
    code, out, _ = run(capsys, "evaluate", "--inventory", str(inventory_file), "--format", "html")
    assert code == 1
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")


def test_asff_findings_are_for_the_region_of_the_environment(
    capsys: pytest.CaptureFixture[str], inventory_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    _, out, _ = run(capsys, "evaluate", "--inventory", str(inventory_file), "--format", "asff")
    assert {f["ProductArn"].split(":")[3] for f in json.loads(out)} == {"ap-southeast-2"}


def test_the_findings_are_dated_when_the_inventory_was_collected(
    capsys: pytest.CaptureFixture[str], demo_report: Demo, tmp_path: Path
) -> None:
    saved = dataclasses.replace(demo_report.inventory, collected_at="2026-11-30T22:15:00+00:00")
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(saved.to_json()), encoding="utf-8")
    _, out, _ = run(capsys, "evaluate", "--inventory", str(path), "--format", "asff")
    assert {f["CreatedAt"] for f in json.loads(out)} == {"2026-11-30T22:15:00.000Z"}


def test_an_inventory_with_a_bad_collection_time_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], demo_report: Demo, tmp_path: Path
) -> None:
    saved = dataclasses.replace(demo_report.inventory, collected_at="yesterday")
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(saved.to_json()), encoding="utf-8")
    code, _, err = run(capsys, "evaluate", "--inventory", str(path), "--format", "csv")
    assert code == 2
    assert "collected_at 'yesterday'" in one_error_line(err)


def test_severity_and_status_select_what_a_streamed_format_writes_and_the_exit_code(
    capsys: pytest.CaptureFixture[str], demo_report: Demo, inventory_file: Path
) -> None:
    args = ("evaluate", "--inventory", str(inventory_file), "--format", "csv")
    code, out, _ = run(capsys, *args, "--severity", "high+", "--status", "fail,error")
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    high = [f for f in demo_report.findings if f.severity in ("high", "critical")]
    assert {(r["rule"], r["account_id"]) for r in rows} == {
        (f.rule, f.account_id) for f in high if f.status.value != "PASS"
    }
    assert rows  # the demo breaks high-severity rules too
    assert code == 1


def test_an_unknown_format_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], inventory_file: Path
) -> None:
    code, _, err = run(capsys, "evaluate", "--inventory", str(inventory_file), "--format", "pdf")
    assert code == 2
    assert "invalid choice: 'pdf'" in one_error_line(err)
