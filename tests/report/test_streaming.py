"""The streaming formats write each finding before the next one is computed, end to end.

``scan`` and ``evaluate`` hand the report :func:`scanner.evaluate.each_finding`, a generator; a
streaming writer (csv, jsonl, ocsf, asff, and the JSON report, whose tables of verdicts, chains
and fixes and summary come last) turns each finding into text at once, so memory holds one
finding and the distinct verdicts, chains and fixes, not the organization's findings. The
formats that need every finding first (junit, html, the table) collect them and still say the
same.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from report.report_demo import Demo

from scanner.catalog import load_catalog
from scanner.cli.output import EXIT_FINDINGS, Out
from scanner.cli.report import report
from scanner.evaluate import each_finding, evaluate
from scanner.model import Finding, Status
from scanner.report import FORMATS
from scanner.report.compact import COMPACT, FULL, expand

STREAMING = sorted(name for name, f in FORMATS.items() if f.streams)


def test_each_finding_yields_what_evaluate_returns(demo_report: Demo) -> None:
    assert list(each_finding(demo_report.inventory)) == evaluate(demo_report.inventory)


@pytest.mark.parametrize("name", [*STREAMING, "json"])
def test_a_streaming_format_has_written_a_finding_before_the_next_is_computed(
    demo_report: Demo, name: str
) -> None:
    assert set(STREAMING) == {"csv", "jsonl", "ocsf", "asff"}
    stream = io.StringIO()
    written_before: list[int] = []

    def produced() -> Iterator[Finding]:
        for finding in each_finding(demo_report.inventory):
            written_before.append(len(stream.getvalue()))
            yield finding

    code = report(
        Out(stream), produced(), load_catalog().profile(), demo_report.inventory, fmt=name
    )
    assert code == EXIT_FINDINGS  # counted on the way: the demo fails on purpose
    assert len(written_before) == len(demo_report.findings)
    # Between two findings the output grew: finding k was written before finding k+1 existed.
    assert all(a < b for a, b in itertools.pairwise(written_before))


@pytest.mark.parametrize("name", ["table", "junit", "html"])
def test_the_other_formats_take_a_generator_too(demo_report: Demo, name: str) -> None:
    stream = io.StringIO()
    code = report(
        Out(stream),
        each_finding(demo_report.inventory),
        load_catalog().profile(),
        demo_report.inventory,
        fmt=name,
    )
    assert code == EXIT_FINDINGS
    failing = sum(f.status is Status.FAIL for f in demo_report.findings)
    assert str(failing) in stream.getvalue()


def one_line_each(document: dict[str, Any]) -> str:
    """The compact layout: each finding and each table entry on a line of its own, no indent."""

    def dumps(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def block(items: list[str], opening: str, closing: str) -> str:
        return opening + ("\n" + ",\n".join(items) + "\n" if items else "") + closing

    parts = [block([dumps(f) for f in document["findings"]], '{"findings":[', "]")]
    for name in ("verdicts", "chains", "fixes"):
        entries = [f"{dumps(k)}:{dumps(v)}" for k, v in document[name].items()]
        parts.append(block(entries, f'"{name}":{{', "}"))
    parts.append(f'"summary":{dumps(document["summary"])}\n}}\n')
    return ",\n".join(parts)


@pytest.mark.parametrize("detail", [COMPACT, FULL])
def test_the_streamed_json_is_the_document_json_dumps_would_write(
    demo_report: Demo, detail: str
) -> None:
    """Full: ``json.dumps(indent=2)``'s layout; compact: a line per finding and per entry."""
    stream = io.StringIO()
    profile = load_catalog().profile()
    inventory = demo_report.inventory
    report(Out(stream), each_finding(inventory), profile, inventory, fmt="json", detail=detail)
    text = stream.getvalue()
    document = json.loads(text)
    if detail == FULL:
        assert text == json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        assert text == one_line_each(document)
    assert expand(document)["findings"] == [f.to_json() for f in demo_report.findings]
    failing = sum(f.status is Status.FAIL for f in demo_report.findings)
    assert document["summary"]["FAIL"] == failing
    assert document["summary"]["findings"] == len(demo_report.findings)


@pytest.mark.parametrize("detail", [COMPACT, FULL])
def test_an_empty_streamed_json_is_still_json(demo_report: Demo, detail: str) -> None:
    stream = io.StringIO()
    profile = load_catalog().profile()
    report(Out(stream), iter(()), profile, demo_report.inventory, fmt="json", detail=detail)
    text = stream.getvalue()
    document = json.loads(text)
    assert document["findings"] == []
    if detail == FULL:
        assert text == json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        assert "verdicts" not in document
    else:
        assert text == one_line_each(document)
        assert [document[t] for t in ("verdicts", "chains", "fixes")] == [{}, {}, {}]
