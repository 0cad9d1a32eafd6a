"""``--format jsonl``: one JSON object per line, written as each finding is produced.

Compact (the default, ``--detail compact``): every line has one of four shapes, told apart by
``type`` (see :mod:`scanner.report.compact`):

* ``{"type": "chain", "id": "...", "links": [...]}``: a chain, once per report;
* ``{"type": "fix", "id": "...", "remediation": {"console": ..., "cli": ..., ...}}``: a fix, once;
* ``{"type": "verdict", "id": "...", "verdict": {...}}``: what findings of many accounts share
  (title, severity, reason, broken link, patterns, missed events, notes, control ids, ...),
  its ``chain`` and ``remediation`` the ids of lines above it (``null``: none), once;
* ``{"type": "finding", ...}``: the same object as in ``--format json``'s ``findings`` list
  (account, rule, status, the id of its verdict line above it, suppression) plus ``ou_path``
  and ``scanned_at``.

A chain or fix line comes before the first verdict that names it, a verdict line before the
first finding that names it: a reader going line by line always has them
(:func:`scanner.report.compact.expand_lines` gives back the full lines), and ``jq
'select(.type == "finding")'`` keeps the findings (``status`` and account stay in them).
``--detail full`` writes the findings alone, each with :meth:`Finding.to_json`'s every field
(control ids: ``controls``: ``{"cis-5.0": "4.4", ...}``), its chain and fix inline, without
``type``, plus ``ou_path`` and ``scanned_at``, so a finding stands on its own in a log pipeline.

There is no summary line either way: the counts are a ``group by status`` away, and ``--format
json`` carries the summary. Memory is bounded by one finding and the distinct verdicts, chains
and fixes seen so far: nothing else is collected before writing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from scanner.model import Finding
from scanner.report.compact import FULL, Tables, one_line
from scanner.report.context import ReportContext


def record(finding: Finding, context: ReportContext) -> dict[str, Any]:
    """The full line of a finding (``--detail full``)."""
    return {
        **finding.to_json(),
        "ou_path": list(context.ou_path(finding.account_id)),
        "scanned_at": context.timestamp,
    }


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False) + "\n"


def _tight(data: dict[str, Any]) -> str:
    return one_line(data) + "\n"


def write_jsonl(findings: Iterable[Finding], context: ReportContext) -> Iterator[str]:
    if context.detail == FULL:
        for finding in findings:
            yield _line(record(finding, context))
        return
    tables = Tables()
    for finding in findings:
        compacted = tables.compact(finding)
        for line in tables.lines(compacted):
            yield _tight(line)
        yield _tight(
            {
                "type": "finding",
                **compacted.finding,
                "ou_path": list(context.ou_path(finding.account_id)),
                "scanned_at": context.timestamp,
            }
        )


def json_array(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A JSON array written an item at a time, one item per line (OCSF and ASFF documents)."""
    yield "["
    separator = "\n"
    for item in items:
        yield separator + json.dumps(item, ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"
