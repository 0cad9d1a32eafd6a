"""``--format jsonl``: one JSON object per line, written as each finding comes, no summary line.

Compact (the default): chain and fix lines come before the first finding that names them;
``--detail full``: every line is a finding with its chain and fix inline."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest
from report.report_demo import Demo

from scanner.model import Finding
from scanner.report import FORMATS, render
from scanner.report.compact import FULL, expand_lines


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


def test_compact_lines_define_each_chain_and_fix_once_before_the_first_finding_naming_it(
    demo_report: Demo,
) -> None:
    records = [
        json.loads(line)
        for line in render("jsonl", demo_report.findings, demo_report.context).splitlines()
    ]
    assert {r["type"] for r in records} == {"chain", "fix", "finding"}
    defined: dict[str, set[str]] = {"chain": set(), "fix": set()}
    named: dict[str, set[str]] = {"chain": set(), "fix": set()}
    for record in records:
        if record["type"] != "finding":
            assert record["id"] not in defined[record["type"]]  # once per report
            defined[record["type"]].add(record["id"])
            continue
        for kind, key in (("chain", "chain"), ("fix", "remediation")):
            if record[key] is not None:
                assert record[key] in defined[kind]  # defined on an earlier line
                named[kind].add(record[key])
    assert defined == named  # and no line defines what no finding names
    findings = [r for r in records if r["type"] == "finding"]
    assert [(r["account_id"], r["rule"]) for r in findings] == [
        (f.account_id, f.rule) for f in demo_report.findings
    ]


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
    while first[-1]["type"] != "finding":  # its chain and fix first
        first.append(json.loads(next(chunks)))
    assert first[-1]["rule"] == demo_report.findings[0].rule
    assert [r["type"] for r in first[:-1]] == ["chain", "fix"][: len(first) - 1]
    with pytest.raises(RuntimeError):
        next(chunks)
