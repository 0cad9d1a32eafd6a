"""The table of report formats: name, writer, what it is for. Data first; the CLI reads it.

``table`` and ``json`` are not here: they are the CLI's own report (with a scan's figures), in
:mod:`scanner.cli.report`. Every writer here has one signature, ``(findings, context) -> chunks of
text``, and is pure; the ones marked ``streams`` yield a chunk per finding as findings come, the
others need every finding before their first chunk (their header holds the counts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from scanner.model import Finding
from scanner.report.asff import write_asff
from scanner.report.context import ReportContext
from scanner.report.csv_rows import write_csv
from scanner.report.html_page import write_html
from scanner.report.jsonl import write_jsonl
from scanner.report.junit import write_junit
from scanner.report.ocsf import write_ocsf

Writer = Callable[[Iterable[Finding], ReportContext], Iterator[str]]


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    write: Writer
    streams: bool
    help: str


FORMATS: Mapping[str, Format] = {
    f.name: f
    for f in (
        Format("csv", write_csv, True, "one row per finding (spreadsheets)"),
        Format("jsonl", write_jsonl, True, "one JSON finding per line (log pipelines)"),
        Format("ocsf", write_ocsf, True, "OCSF 1.5.0 Compliance Findings (Security Lake)"),
        Format("asff", write_asff, True, "AWS Security Finding Format (Security Hub import)"),
        Format("junit", write_junit, False, "JUnit XML, a test per account and rule (CI gates)"),
        Format("html", write_html, False, "one self-contained page with every broken chain"),
    )
}


def render(name: str, findings: Iterable[Finding], context: ReportContext) -> str:
    """The whole report as one text (tests and small reports; the CLI writes chunk by chunk)."""
    return "".join(FORMATS[name].write(findings, context))
