"""``--format csv``: one row per finding, for spreadsheets and ``SELECT``-minded tools.

The columns are a contract (:data:`COLUMNS`): new ones are added at the end, none is renamed or
reordered. Lists inside a cell (OU path, control ids) are joined with ``/`` and ``; ``. The
remediation is left out: it is pages of text per finding; ``scanner remediate`` prints it.

A cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return: an account name is chosen by whoever owns the account) is prefixed with
``'``, as OWASP advises for CSV exports. Rows are produced one at a time, as findings come.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from scanner.model import Finding
from scanner.report.context import ReportContext, focus

COLUMNS = (
    "account_id",
    "account_name",
    "ou_path",
    "rule",
    "title",
    "severity",
    "status",
    "broken_link",
    "resource",
    "reason",
    "controls",
    "profile",
)

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def row(finding: Finding, context: ReportContext) -> tuple[str, ...]:
    link = focus(finding)
    return (
        finding.account_id,
        finding.account_name,
        "/".join(context.ou_path(finding.account_id)),
        finding.rule,
        finding.title,
        finding.severity,
        str(finding.status),
        str(finding.broken_link) if finding.broken_link is not None else "",
        link.resource if link is not None else "",
        finding.reason,
        "; ".join(c.label for c in context.controls_of(finding)),
        finding.profile,
    )


def _line(cells: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([_cell(c) for c in cells])
    return buffer.getvalue()


def write_csv(findings: Iterable[Finding], context: ReportContext) -> Iterator[str]:
    """The header, then a CRLF-terminated line per finding (RFC 4180)."""
    yield _line(COLUMNS)
    for finding in findings:
        yield _line(row(finding, context))
