"""``--format jsonl``: one JSON object per line, written as each finding comes, no summary line.

Compact (the default): chain and fix lines come before the first verdict that names them, a
verdict line before the first finding that names it; ``--detail full``: every line is a finding
with its verdict, chain and fix inline."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest
from report.report_demo import Demo

from scanner.model import Finding
from scanner.report import FORMATS, render
from scanner.report.compact import FULL, OWN, expand_lines


def test_in_full_each_line_is_one_finding_in_order_with_its_ou_path_and_controls(
    demo_report: Demo,
) -> None:
    context = dataclasses.replace(demo_report.context, detail=FULL)
    lines = render("jsonl", demo_report.findings, context).splitlines()
    assert len(lines) == len(demo_report.findings)  # no summary line
    for line, finding in zip(lines, demo_report.findings, strict=True):
        record = json.loads(line)
        extra = {k: record.pop(k) for k in ("ou_path", "scanned_at")}
        assert Finding.from_json(record) == finding
        assert extra["ou_path"] == list(demo_report.context.ou_path(finding.account_id))
        assert extra["scanned_at"] == "2026-12-01T04:30:15.250Z"
        assert record["controls"] == finding.controls
        assert finding.controls  # every rule has a number in some standard


def test_compact_lines_define_each_entry_once_before_the_first_line_naming_it(
    demo_report: Demo,
) -> None:
    """A chain or fix line before the first verdict naming it, a verdict line before the first
    finding naming it: a reader going line by line has each."""
    records = [
        json.loads(line)
        for line in render("jsonl", demo_report.findings, demo_report.context).splitlines()
    ]
    assert {r["type"] for r in records} == {"chain", "fix", "verdict", "finding"}
    defined: dict[str, set[str]] = {"chain": set(), "fix": set(), "verdict": set()}
    named: dict[str, set[str]] = {"chain": set(), "fix": set(), "verdict": set()}
    for record in records:
        if record["type"] == "finding":
            assert record["verdict"] in defined["verdict"]  # defined on an earlier line
            named["verdict"].add(record["verdict"])
            continue
        assert record["id"] not in defined[record["type"]]  # once per report
        defined[record["type"]].add(record["id"])
        if record["type"] == "verdict":
            for kind, key in (("chain", "chain"), ("fix", "remediation")):
                if record["verdict"][key] is not None:
                    assert record["verdict"][key] in defined[kind]
                    named[kind].add(record["verdict"][key])
    assert defined == named  # and no line defines what no line names
    findings = [r for r in records if r["type"] == "finding"]
    assert [(r["account_id"], r["rule"]) for r in findings] == [
        (f.account_id, f.rule) for f in demo_report.findings
    ]
    assert list(findings[0]) == ["type", *OWN, "ou_path", "scanned_at"]
    assert len(defined["verdict"]) < len(findings)


def test_compact_lines_expand_to_the_full_lines(demo_report: Demo) -> None:
    compact = render("jsonl", demo_report.findings, demo_report.context)
    full = render(
        "jsonl", demo_report.findings, dataclasses.replace(demo_report.context, detail=FULL)
    )
    expanded = list(expand_lines(json.loads(line) for line in compact.splitlines()))
    assert expanded == [json.loads(line) for line in full.splitlines()]
    assert len(compact) < len(full)


def test_a_line_is_written_before_the_next_finding_exists(demo_report: Demo) -> None:
    def produced() -> Iterator[Finding]:
        yield demo_report.findings[0]
        raise RuntimeError("the second finding is not there yet")

    chunks = FORMATS["jsonl"].write(produced(), demo_report.context)
    first = [json.loads(next(chunks))]
    while first[-1]["type"] != "finding":  # its chain, fix and verdict first
        first.append(json.loads(next(chunks)))
    assert first[-1]["rule"] == demo_report.findings[0].rule
    assert [r["type"] for r in first[:-1]] in (["chain", "fix", "verdict"], ["chain", "verdict"])
    with pytest.raises(RuntimeError):
        next(chunks)
