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
from scanner.report.compact import (
    COMPACT,
    FULL,
    OWN,
    Tables,
    content_id,
    expand,
    expand_lines,
    verdict_entry,
)


def json_report(demo: Demo, detail: str, **options: Any) -> str:
    stream = io.StringIO()
    profile = load_catalog().profile()
    report(
        Out(stream), demo.findings, profile, demo.inventory, fmt="json", detail=detail, **options
    )
    return stream.getvalue()


def references(document: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
    """The verdicts the findings name, and the chains and fixes those verdicts name."""
    verdicts = {f["verdict"] for f in document["findings"]}
    named = [document["verdicts"][v] for v in verdicts]
    chains = {v["chain"] for v in named if v["chain"] is not None}
    fixes = {v["remediation"] for v in named if v["remediation"] is not None}
    return verdicts, chains, fixes


def tables(document: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
    return set(document["verdicts"]), set(document["chains"]), set(document["fixes"])


@pytest.fixture
def inventory_file(demo_report: Demo, tmp_path: Path) -> str:
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(demo_report.inventory.to_json()), encoding="utf-8")
    return str(path)


def test_the_compact_report_expands_to_the_full_one_byte_for_byte(demo_report: Demo) -> None:
    compact = json.loads(json_report(demo_report, COMPACT))
    full_text = json_report(demo_report, FULL)
    full = json.loads(full_text)
    assert list(compact) == ["findings", "verdicts", "chains", "fixes", "summary"]
    assert list(full) == ["findings", "summary"]  # today's shape: nothing inline is missing
    assert full["findings"] == [f.to_json() for f in demo_report.findings]
    assert expand(compact) == full
    assert json.dumps(expand(compact), indent=2, ensure_ascii=False) + "\n" == full_text
    assert expand(full) == full  # a full document reads as it is


def test_each_table_holds_exactly_the_entries_the_findings_name(demo_report: Demo) -> None:
    document = json.loads(json_report(demo_report, COMPACT))
    assert tables(document) == references(document)  # every id named exists, none unused
    findings = document["findings"]
    # Shared: the demo's members on the organization trail share its verdicts and chains.
    assert len(document["verdicts"]) < len(findings)
    assert len(document["chains"]) < len(document["verdicts"])
    # A finding keeps what is its own, the rest is its verdict's.
    assert all(list(f) == list(OWN) for f in findings)
    verdict = {f["verdict"]: document["verdicts"][f["verdict"]] for f in findings}
    assert all(
        verdict[f["verdict"]]["remediation"] is None for f in findings if f["status"] == "PASS"
    )
    failing = [verdict[f["verdict"]] for f in findings if f["status"] == "FAIL"]
    assert failing and all(v["chain"] and v["remediation"] for v in failing)
    first = next(f for f in demo_report.findings if f.status is Status.FAIL and f.missed_events)
    (mine,) = [
        f for f in findings if (f["account_id"], f["rule"]) == (first.account_id, first.rule)
    ]
    assert mine["status"] == "FAIL"
    said = document["verdicts"][mine["verdict"]]
    assert list(said) == [k for k in first.to_json() if k not in OWN]
    assert said["reason"] == first.reason
    assert said["broken_link"] == first.broken_link
    assert len(said["missed_events"]) == len(first.missed_events)
    assert said["controls"] == first.controls
    assert document["chains"][said["chain"]] == first.to_json()["chain"]
    assert document["fixes"][said["remediation"]] == first.remediation


def test_tables_that_keep_ids_only_name_what_tables_that_keep_entries_do(
    demo_report: Demo,
) -> None:
    """The findings API's tables (``keep=False``) give every finding the same verdict, chain and
    fix ids, each named first by the same finding, as a report's, and keep no entry; the entry
    made again from the first finding naming a verdict is the one a report writes."""
    kept, ids_only = Tables(), Tables(keep=False)
    for finding in demo_report.findings:
        assert ids_only.compact(finding) == kept.compact(finding)
    assert not (ids_only.verdicts or ids_only.chains or ids_only.fixes)
    assert len(kept.verdicts) < len(demo_report.findings)
    again = Tables(keep=False)
    for finding in demo_report.findings:
        compacted = again.compact(finding)
        if compacted.new_verdict is not None:
            entry = verdict_entry(finding, compacted.chain, compacted.fix)
            assert entry == kept.verdicts[compacted.new_verdict]
            assert content_id(entry) == compacted.new_verdict


def test_each_finding_and_each_entry_is_one_line(demo_report: Demo) -> None:
    """No indentation: a line is a finding or an entry, which grep and a line reader still find."""
    text = json_report(demo_report, COMPACT)
    lines = text.splitlines()
    assert not any(line.startswith(" ") for line in lines)  # no indentation
    findings = [json.loads(line.rstrip(",")) for line in lines if line.startswith('{"account_id"')]
    assert findings == json.loads(text)["findings"]
    assert len(findings) == len(demo_report.findings)
    document = json.loads(text)
    for name in ("verdicts", "chains", "fixes"):
        opening = lines.index(f'"{name}":{{')
        entries = lines[opening + 1 : opening + 1 + len(document[name])]
        parsed = json.loads("{" + "".join(entries) + "}")
        assert parsed == document[name] and list(parsed) == list(document[name])
    assert lines[-2].startswith('"summary":') and lines[-1] == "}"


def test_a_table_holds_only_what_the_listed_findings_name(demo_report: Demo) -> None:
    """``--status fail`` lists fewer findings: the tables shrink with them."""
    from scanner.cli.selection import Selection

    chosen = Selection(shown=frozenset({Status.FAIL}))
    document = json.loads(json_report(demo_report, COMPACT, selection=chosen))
    assert {f["status"] for f in document["findings"]} == {"FAIL"}
    assert tables(document) == references(document)
    every = json.loads(json_report(demo_report, COMPACT))
    assert len(document["verdicts"]) < len(every["verdicts"])
    assert len(document["chains"]) < len(every["chains"])


def test_ids_are_the_same_in_every_run_and_on_every_machine(demo_report: Demo) -> None:
    assert json_report(demo_report, COMPACT) == json_report(demo_report, COMPACT)
    document = json.loads(json_report(demo_report, COMPACT))
    for name in ("verdicts", "chains", "fixes"):
        for ident, entry in document[name].items():
            assert ident == content_id(entry)
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


def test_a_reference_to_a_missing_verdict_is_an_error_naming_the_finding(
    demo_report: Demo,
) -> None:
    document = json.loads(json_report(demo_report, COMPACT))
    second = document["findings"][1]
    del document["verdicts"][second["verdict"]]
    named = [f["verdict"] for f in document["findings"]]
    index = named.index(second["verdict"])  # the first finding naming it
    with pytest.raises(InventoryError, match=rf"findings\[{index}\]\.verdict: no verdict '"):
        expand(document)
    verdict = json.loads(json_report(demo_report, COMPACT))["verdicts"][second["verdict"]]
    chain = {"type": "chain", "id": verdict["chain"], "links": []}
    lines = [chain, {"type": "finding", **second}]  # the verdict line is missing
    with pytest.raises(InventoryError, match=r"line 2\.verdict: no verdict '"):
        list(expand_lines(lines))


def test_the_first_compact_shape_still_expands(demo_report: Demo) -> None:
    """A report written before the verdicts table (each finding naming its chain and fix by id,
    everything else inline) reads as it did."""
    full = json.loads(json_report(demo_report, FULL))
    chains: dict[str, Any] = {}
    fixes: dict[str, Any] = {}
    first: list[dict[str, Any]] = []
    for finding in full["findings"]:
        chain = content_id(finding["chain"]) if finding["chain"] else None
        fix = content_id(finding["remediation"]) if finding["remediation"] else None
        if chain:
            chains[chain] = finding["chain"]
        if fix:
            fixes[fix] = finding["remediation"]
        first.append({**finding, "chain": chain, "remediation": fix})
    old = {"findings": first, "chains": chains, "fixes": fixes, "summary": full["summary"]}
    assert expand(old) == full
    lines = [
        *({"type": "chain", "id": k, "links": v} for k, v in chains.items()),
        *({"type": "fix", "id": k, "remediation": v} for k, v in fixes.items()),
        *({"type": "finding", **f} for f in first),
    ]
    assert list(expand_lines(lines)) == full["findings"]


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
