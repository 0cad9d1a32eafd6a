"""``--format jsonl``: one finding per line, written as each finding comes, no summary line."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from report.report_demo import Demo

from scanner.model import Finding
from scanner.report import FORMATS, render


def test_each_line_is_one_finding_in_order_with_its_ou_path_and_controls(
    demo_report: Demo,
) -> None:
    lines = render("jsonl", demo_report.findings, demo_report.context).splitlines()
    assert len(lines) == len(demo_report.findings)  # no summary line
    for line, finding in zip(lines, demo_report.findings, strict=True):
        record = json.loads(line)
        extra = {k: record.pop(k) for k in ("ou_path", "scanned_at")}
        assert Finding.from_json(record) == finding
        assert extra["ou_path"] == list(demo_report.context.ou_path(finding.account_id))
        assert extra["scanned_at"] == "2026-12-01T04:30:15.250Z"
        assert record["controls"] == finding.controls
        assert finding.controls  # every rule has a number in some standard


def test_a_line_is_written_before_the_next_finding_exists(demo_report: Demo) -> None:
    def produced() -> Iterator[Finding]:
        yield demo_report.findings[0]
        raise RuntimeError("the second finding is not there yet")

    chunks = FORMATS["jsonl"].write(produced(), demo_report.context)
    first = next(chunks)
    assert json.loads(first)["rule"] == demo_report.findings[0].rule
    with pytest.raises(RuntimeError):
        next(chunks)
