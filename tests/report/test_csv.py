"""``--format csv``: a row per finding, the documented columns, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import dataclasses
import io

from report.report_demo import Demo

from scanner.model import Link, Status
from scanner.report import render
from scanner.report.csv_rows import COLUMNS


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_one_row_per_finding_under_the_documented_header(demo_report: Demo) -> None:
    text = render("csv", demo_report.findings, demo_report.context)
    assert text.splitlines()[0] == ",".join(COLUMNS)
    table = rows(text)
    assert len(table) == len(demo_report.findings)
    assert [(r["account_id"], r["rule"], r["status"]) for r in table] == [
        (f.account_id, f.rule, str(f.status)) for f in demo_report.findings
    ]


def test_a_failing_row_names_the_broken_link_its_resource_and_the_controls(
    demo_report: Demo,
) -> None:
    finding = demo_report.first(Status.FAIL, broken_link=Link.FILTER)
    table = rows(render("csv", [finding], demo_report.context))
    assert table == [
        {
            "account_id": finding.account_id,
            "account_name": finding.account_name,
            "ou_path": "/".join(demo_report.context.ou_path(finding.account_id)),
            "rule": finding.rule,
            "title": finding.title,
            "severity": finding.severity,
            "status": "FAIL",
            "broken_link": "filter",
            "resource": next(r.resource for r in finding.chain if r.link is Link.FILTER),
            "reason": finding.reason,
            "controls": "; ".join(c.label for c in demo_report.context.controls_of(finding)),
            "profile": "recommended",
        }
    ]
    assert table[0]["ou_path"].count("/") >= 1  # a nested OU: Workloads/...
    numbers = finding.controls
    expected = [f"CIS 7.0 {numbers['cis-7.0']}", f"Security Hub {numbers['securityhub']}"]
    assert table[0]["controls"].split("; ")[:2] == expected  # the profile's standards, in order


def test_a_pass_has_no_broken_link_and_an_error_no_broken_link_but_the_failed_call(
    demo_report: Demo,
) -> None:
    passed = demo_report.first(Status.PASS)
    error = demo_report.first(Status.ERROR)
    table = rows(render("csv", [passed, error], demo_report.context))
    assert (table[0]["broken_link"], table[0]["status"]) == ("", "PASS")
    assert (table[1]["broken_link"], table[1]["status"]) == ("", "ERROR")
    assert "AccessDenied" in table[1]["reason"]


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_neutralised(demo_report: Demo) -> None:
    finding = dataclasses.replace(
        demo_report.findings[0], account_name='=HYPERLINK("http://x","y")', reason="-1+1"
    )
    row = rows(render("csv", [finding], demo_report.context))[0]
    assert row["account_name"] == '\'=HYPERLINK("http://x","y")'
    assert row["reason"] == "'-1+1"
