"""``--format junit``: JUnit XML, so a CI job can gate on the controls like on tests.

One ``<testsuite>`` per account (named ``<id> <name> (<OU path>)``), one ``<testcase>`` per rule
(``classname`` the account, ``name`` the rule id and title): the usual CI views then show a red
row per failing control of an account. A FAIL is a ``<failure>`` and an ERROR an ``<error>``
(the JUnit meaning: the check itself could not run, which is what an ERROR is), each with the
reason as ``message``, the broken link (or ``unknown``) as ``type`` and the chain, the missed
events and the fix as text; a PASS is a bare ``<testcase>``. Counts are on every suite and on the
root ``<testsuites>``; the suites carry the scan time as ``timestamp`` and the account's id, name,
OU path and the profile as ``<properties>``. ``time`` is 0: a rule is judged, not timed.

Readability is checked in the tests with junitparser, the parser CI result publishers use.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Iterator

from scanner.model import Finding, Status
from scanner.report.context import ReportContext
from scanner.report.explain import story

# Characters XML 1.0 cannot hold, even escaped; a quoted AWS error message could carry one.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _suite_name(finding: Finding, context: ReportContext) -> str:
    path = "/".join(context.ou_path(finding.account_id))
    return f"{finding.account_id} {finding.account_name}" + (f" ({path})" if path else "")


def _testcase(finding: Finding) -> ET.Element:
    case = ET.Element(
        "testcase",
        classname=_x(f"{finding.account_id}.{finding.account_name}"),
        name=_x(f"{finding.rule}: {finding.title}"),
        time="0",
    )
    if finding.status is Status.FAIL:
        tag, kind = "failure", str(finding.broken_link or "broken")
    elif finding.status is Status.ERROR:
        tag, kind = "error", "unknown"
    else:
        return case
    problem = ET.SubElement(case, tag, message=_x(finding.reason), type=kind)
    problem.text = _x(story(finding))
    return case


def _suite(group: list[Finding], context: ReportContext) -> ET.Element:
    first = group[0]
    counts = Counter(f.status for f in group)
    suite = ET.Element(
        "testsuite",
        name=_x(_suite_name(first, context)),
        tests=str(len(group)),
        failures=str(counts[Status.FAIL]),
        errors=str(counts[Status.ERROR]),
        skipped="0",
        time="0",
        timestamp=context.timestamp,
    )
    properties = ET.SubElement(suite, "properties")
    facts = {
        "account_id": first.account_id,
        "account_name": first.account_name,
        "ou_path": "/".join(context.ou_path(first.account_id)),
        "profile": first.profile,
    }
    for name, value in facts.items():
        ET.SubElement(properties, "property", name=name, value=_x(value))
    suite.extend(_testcase(f) for f in group)
    return suite


def write_junit(findings: Iterable[Finding], context: ReportContext) -> Iterator[str]:
    """The whole document (the root's counts need every finding first)."""
    accounts: dict[str, list[Finding]] = {}
    for finding in findings:
        accounts.setdefault(finding.account_id, []).append(finding)
    every = [f for group in accounts.values() for f in group]
    counts = Counter(f.status for f in every)
    root = ET.Element(
        "testsuites",
        name=f"scanner {context.profile.name}",
        tests=str(len(every)),
        failures=str(counts[Status.FAIL]),
        errors=str(counts[Status.ERROR]),
        time="0",
    )
    root.extend(_suite(group, context) for group in accounts.values())
    ET.indent(root)
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield ET.tostring(root, encoding="unicode") + "\n"
