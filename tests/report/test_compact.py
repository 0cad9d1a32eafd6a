"""Compact reports: each distinct chain and fix once, findings naming them; ``--detail full`` and
:func:`expand` give back the inline shape; ``--output FILE.gz`` compresses any format."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest
from cli_run import one_error_line, run
from report.report_demo import Demo

from scanner.catalog import load_catalog
from scanner.cli.output import Out
from scanner.cli.report import report
from scanner.errors import InventoryError
from scanner.model import Status
from scanner.report.compact import COMPACT, FULL, content_id, expand, expand_lines


def json_report(demo: Demo, detail: str, **options: Any) -> str:
    stream = io.StringIO()
    profile = load_catalog().profile()
    report(
        Out(stream), demo.findings, profile, demo.inventory, fmt="json", detail=detail, **options
    )
    return stream.getvalue()


def references(document: dict[str, Any]) -> tuple[set[str], set[str]]:
    findings = document["findings"]
    chains = {f["chain"] for f in findings if f["chain"] is not None}
    fixes = {f["remediation"] for f in findings if f["remediation"] is not None}
    return chains, fixes


@pytest.fixture
def inventory_file(demo_report: Demo, tmp_path: Path) -> str:
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(demo_report.inventory.to_json()), encoding="utf-8")
    return str(path)


def test_the_compact_report_expands_to_the_full_one_byte_for_byte(demo_report: Demo) -> None:
    compact = json.loads(json_report(demo_report, COMPACT))
    full_text = json_report(demo_report, FULL)
    full = json.loads(full_text)
    assert list(compact) == ["findings", "chains", "fixes", "summary"]
    assert list(full) == ["findings", "summary"]  # today's shape: nothing inline is missing
    assert full["findings"] == [f.to_json() for f in demo_report.findings]
    assert expand(compact) == full
    assert json.dumps(expand(compact), indent=2, ensure_ascii=False) + "\n" == full_text
    assert expand(full) == full  # a full document reads as it is


def test_each_table_holds_exactly_the_entries_the_findings_name(demo_report: Demo) -> None:
    document = json.loads(json_report(demo_report, COMPACT))
    chains, fixes = references(document)
    assert set(document["chains"]) == chains
    assert set(document["fixes"]) == fixes
    # Shared: the demo's members on the organization trail share its chains, one fix a rule.
    assert len(chains) < len(document["findings"])
    assert all(f["remediation"] is None for f in document["findings"] if f["status"] == "PASS")
    failing = [f for f in document["findings"] if f["status"] == "FAIL"]
    assert failing and all(f["chain"] and f["remediation"] for f in failing)
    # Everything else of a finding stays in it.
    first = next(f for f in demo_report.findings if f.status is Status.FAIL and f.missed_events)
    (mine,) = [
        f
        for f in document["findings"]
        if (f["account_id"], f["rule"]) == (first.account_id, first.rule)
    ]
    assert mine["reason"] == first.reason
    assert mine["broken_link"] == first.broken_link
    assert len(mine["missed_events"]) == len(first.missed_events)
    assert mine["controls"] == first.controls


def test_a_table_holds_only_what_the_listed_findings_name(demo_report: Demo) -> None:
    """``--status fail`` lists fewer findings: the tables shrink with them."""
    from scanner.cli.selection import Selection

    chosen = Selection(shown=frozenset({Status.FAIL}))
    document = json.loads(json_report(demo_report, COMPACT, selection=chosen))
    assert {f["status"] for f in document["findings"]} == {"FAIL"}
    chains, fixes = references(document)
    assert (set(document["chains"]), set(document["fixes"])) == (chains, fixes)
    assert len(document["chains"]) < len(json.loads(json_report(demo_report, COMPACT))["chains"])


def test_ids_are_the_same_in_every_run_and_on_every_machine(demo_report: Demo) -> None:
    assert json_report(demo_report, COMPACT) == json_report(demo_report, COMPACT)
    document = json.loads(json_report(demo_report, COMPACT))
    for ident, links in document["chains"].items():
        assert ident == content_id(links)
    # A hash of the canonical JSON, not of Python's per-process hash: pinned here.
    assert content_id({"cli": "aws cloudtrail start-logging --name t"}) == "af13957ea0b6345d"
    assert content_id({"b": 1, "a": 2}) == content_id({"a": 2, "b": 1})


def test_a_reference_to_a_missing_entry_is_an_error_naming_the_finding() -> None:
    document = {"findings": [{"rule": "r", "chain": "0" * 16, "remediation": None}], "chains": {}}
    with pytest.raises(InventoryError, match=r"findings\[0\]\.chain: no chain '0{16}'"):
        expand(document)
    lines = [{"type": "finding", "rule": "r", "chain": None, "remediation": "abc"}]
    with pytest.raises(InventoryError, match=r"line 1\.remediation: no fix 'abc'"):
        list(expand_lines(lines))


def test_detail_on_the_command_line(
    capsys: pytest.CaptureFixture[str], inventory_file: str
) -> None:
    args = ("evaluate", "--inventory", inventory_file, "--format")
    _, compact, _ = run(capsys, *args, "json")
    _, full, _ = run(capsys, *args, "json", "--detail", "full")
    assert expand(json.loads(compact)) == json.loads(full)
    assert len(compact) < len(full)
    _, explicit, _ = run(capsys, *args, "json", "--detail", "compact")
    assert explicit == compact  # compact is the default
    _, lines, _ = run(capsys, *args, "jsonl", "--detail", "full")
    assert {"type"} & set(json.loads(lines.splitlines()[0])) == set()


def test_detail_with_a_format_it_does_not_shape_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], inventory_file: str
) -> None:
    code, out, err = run(
        capsys, "evaluate", "--inventory", inventory_file, "--format", "csv", "--detail", "full"
    )
    assert (code, out) == (2, "")
    assert "--detail applies to --format json and jsonl only, not csv" in one_error_line(err)


@pytest.mark.parametrize("name", ["json", "jsonl", "csv", "ocsf", "asff", "junit", "html", "table"])
def test_an_output_ending_in_gz_is_the_same_report_gzipped(
    capsys: pytest.CaptureFixture[str], inventory_file: str, tmp_path: Path, name: str
) -> None:
    args = ("evaluate", "--inventory", inventory_file, "--format", name, "--output")
    plain, zipped = tmp_path / f"report.{name}", tmp_path / f"report.{name}.gz"
    assert run(capsys, *args, str(plain))[0] == 1
    code, _, err = run(capsys, *args, str(zipped))
    assert code == 1
    assert err.startswith("scanner: wrote 324 findings") and err.rstrip().endswith(str(zipped))
    assert gzip.decompress(zipped.read_bytes()) == plain.read_bytes()
    if name in ("json", "jsonl"):
        assert zipped.stat().st_size * 10 < plain.stat().st_size
    # No name and no time in the header: the same report gives the same bytes.
    again = tmp_path / f"again.{name}.gz"
    run(capsys, *args, str(again))
    assert again.read_bytes() == zipped.read_bytes()
