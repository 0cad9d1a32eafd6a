"""``--format jsonl``: one finding per line, written as it is produced.

Each line is :meth:`Finding.to_json` — the same object as in ``--format json``'s ``findings`` list,
control ids included (``controls``: ``{"cis-5.0": "4.4", ...}``) — plus ``ou_path`` and
``scanned_at``, so a line stands on its own in a log pipeline. There is no summary line: every line
has the same shape, so ``jq``, Athena or a log shipper never has to tell a summary from a finding;
the counts are a ``group by status`` away, and ``--format json`` carries the summary. Memory is
bounded by one finding: nothing is collected before writing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from scanner.model import Finding
from scanner.report.context import ReportContext


def record(finding: Finding, context: ReportContext) -> dict[str, Any]:
    return {
        **finding.to_json(),
        "ou_path": list(context.ou_path(finding.account_id)),
        "scanned_at": context.timestamp,
    }


def write_jsonl(findings: Iterable[Finding], context: ReportContext) -> Iterator[str]:
    for finding in findings:
        yield json.dumps(record(finding, context), ensure_ascii=False, sort_keys=False) + "\n"


def json_array(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A JSON array written an item at a time, one item per line (OCSF and ASFF documents)."""
    yield "["
    separator = "\n"
    for item in items:
        yield separator + json.dumps(item, ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"
