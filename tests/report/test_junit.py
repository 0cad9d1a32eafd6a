"""``--format junit``: a suite per account, a case per rule, read back with junitparser.

junitparser is the parser CI result publishers use to read JUnit XML (for example the GitHub
action that publishes test results), so what it reads is what a CI gate sees.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, TestSuite
from report.report_demo import Demo

from scanner.model import Finding, Status
from scanner.report import render


def parsed(
    demo_report: Demo, tmp_path: Path, findings: Sequence[Finding] | None = None
) -> JUnitXml:
    path = tmp_path / "report.xml"
    path.write_text(render("junit", findings or demo_report.findings, demo_report.context))
    return JUnitXml.fromfile(str(path))


def test_one_suite_per_account_with_its_counts(demo_report: Demo, tmp_path: Path) -> None:
    xml = parsed(demo_report, tmp_path)
    suites = list(xml)
    accounts = list(dict.fromkeys(f.account_id for f in demo_report.findings))
    assert [s.name.split()[0] for s in suites] == accounts
    totals = Counter(f.status for f in demo_report.findings)
    assert (xml.tests, xml.failures, xml.errors) == (
        len(demo_report.findings),
        totals[Status.FAIL],
        totals[Status.ERROR],
    )
    for suite in suites:
        assert isinstance(suite, TestSuite)
        mine = [f for f in demo_report.findings if f.account_id == suite.name.split()[0]]
        counts = Counter(f.status for f in mine)
        assert (suite.tests, suite.failures, suite.errors) == (
            len(mine),
            counts[Status.FAIL],
            counts[Status.ERROR],
        )
        assert suite.timestamp == "2026-12-01T04:30:15.250Z"


def test_fail_is_a_failure_error_an_error_and_pass_a_passing_case(
    demo_report: Demo, tmp_path: Path
) -> None:
    cases = {
        (suite.name.split()[0], case.name.split(":")[0]): case
        for suite in parsed(demo_report, tmp_path)
        for case in suite
    }
    for finding in demo_report.findings:
        case = cases[(finding.account_id, finding.rule)]
        kinds = [type(r) for r in case.result]
        expected = {Status.PASS: [], Status.FAIL: [Failure], Status.ERROR: [Error]}
        assert kinds == expected[finding.status], (finding.account_id, finding.rule)
        assert case.is_passed is (finding.status is Status.PASS)
        if case.result:
            assert case.result[0].message == finding.reason


def test_a_failure_tells_the_broken_link_the_chain_the_missed_events_and_the_fix(
    demo_report: Demo, tmp_path: Path
) -> None:
    finding = next(f for f in demo_report.findings if f.missed_events)
    [suite] = list(parsed(demo_report, tmp_path, [finding]))
    [case] = list(suite)
    [failure] = case.result
    assert failure.type == "filter"
    body = failure.text or ""
    assert "BROKEN  filter" in body
    assert all(str(e["eventName"]) in body for e in finding.missed_events)
    assert body.index(finding.patterns[0]) < body.index("Missed events:")  # what was judged
    assert finding.remediation["console"] in body
    properties = ET.fromstring(render("junit", [finding], demo_report.context)).iter("property")
    assert {p.get("name"): p.get("value") for p in properties}["profile"] == "recommended"


def test_characters_xml_cannot_hold_are_replaced_not_fatal(
    demo_report: Demo, tmp_path: Path
) -> None:
    finding = dataclasses.replace(
        demo_report.first(Status.ERROR), reason="AccessDenied:\x00 bad\x1b[0m byte"
    )
    [suite] = list(parsed(demo_report, tmp_path, [finding]))
    [case] = list(suite)
    assert case.result[0].message == "AccessDenied:\ufffd bad\ufffd[0m byte"
