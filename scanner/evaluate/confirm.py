"""Asking AWS's own engine: which events to test against which filter, and what its answers mean.

Pure. The scanner decides filter links with its own matcher (:func:`scanner.patterns.matches`).
``scanner scan --confirm`` asks CloudWatch Logs' engine (``logs:TestMetricFilter``) the same
questions for every decided filter link: the example events a FAIL says the filter misses, and a
few events of the reference a PASS says it covers. :func:`plan` writes the questions (at most
:data:`MAX_EVENTS` events per call, AWS's limit), and :func:`apply` reads the answers.

A disagreement never changes a verdict: it is added to the finding as a note ("AWS's engine
disagrees: ...") and counted, so that a person looks at it. A call that failed is a note too.
The alarms' histories, read by the same option, add their own notes and counts
(:mod:`scanner.evaluate.alarm_history`) to the same :class:`Confirmation`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scanner.catalog import load_catalog
from scanner.model import Finding, Inventory, Link, LinkStatus, MetricFilter, Status
from scanner.patterns import PatternSyntaxError, covers, matches, parse

MAX_EVENTS = 50  # log event messages TestMetricFilter accepts in one call
PASS_SAMPLES = 3  # reference events tested for a PASS
# A pattern that matches no event: its gaps against a reference are examples of that reference.
_NOTHING = parse('{ ($.eventName = "a") && ($.eventName = "b") }')

DISAGREES = "AWS's engine disagrees"


@dataclass(frozen=True, slots=True)
class Check:
    """One TestMetricFilter call: a filter's pattern and the events to test, with what the
    scanner's matcher says of each; ``findings`` are the indices of the findings it concerns."""

    account_id: str
    region: str
    filter_name: str
    pattern: str
    events: tuple[Mapping[str, Any], ...]
    expected: tuple[bool, ...]
    findings: tuple[int, ...]

    @property
    def messages(self) -> list[str]:
        return [json.dumps(event, sort_keys=True) for event in self.events]


def _filter(inventory: Inventory, finding: Finding) -> tuple[str, str, MetricFilter] | None:
    """(account, region, filter) of the finding's decided filter link, if it has one."""
    link = next((r for r in finding.chain if r.link is Link.FILTER), None)
    if link is None or link.status not in (LinkStatus.OK, LinkStatus.BROKEN) or not link.region:
        return None
    account = inventory.account(link.account_id)
    region = account.regions.get(link.region) if account is not None else None
    if region is None:
        return None
    group = next((r.resource for r in finding.chain if r.link is Link.LOG_GROUP), "")
    found = [
        f
        for g in region.log_groups.values()
        for f in g.metric_filters or ()
        if f.name == link.resource
    ]
    found = [f for f in found if group.endswith(f":{f.log_group_name}")] or found
    return (link.account_id, link.region, found[0]) if len(found) == 1 else None


def _reference_events(finding: Finding) -> list[dict[str, Any]]:
    rule = load_catalog().rule(finding.rule)
    if finding.reference is None:
        return []
    reference = rule.reference(finding.reference).pattern
    return covers(_NOTHING, reference).missed[:PASS_SAMPLES]


def _events(finding: Finding) -> list[Mapping[str, Any]]:
    if finding.status is Status.FAIL and finding.broken_link in (Link.FILTER, Link.ALARM):
        return list(finding.missed_events)
    if finding.status is Status.PASS:
        return list(_reference_events(finding))
    return []


def plan(inventory: Inventory, findings: Sequence[Finding]) -> list[Check]:
    """The TestMetricFilter calls that confirm the findings' decided filter links; the same
    filter asked about the same events by several findings (members of one organization
    trail) is asked once."""
    merged: dict[tuple[str, str, str, str], tuple[list[Mapping[str, Any]], list[int]]] = {}
    for index, finding in enumerate(findings):
        located = _filter(inventory, finding)
        events = _events(finding)
        if located is None or not events:
            continue
        account_id, region, metric_filter = located
        key = (account_id, region, metric_filter.name, metric_filter.pattern)
        known, indices = merged.setdefault(key, ([], []))
        for event in events:
            if event not in known:
                known.append(event)
        indices.append(index)
    checks: list[Check] = []
    for (account_id, region, name, text), (events, indices) in merged.items():
        try:
            pattern = parse(text)
        except PatternSyntaxError:
            continue
        for start in range(0, len(events), MAX_EVENTS):
            part = tuple(events[start : start + MAX_EVENTS])
            expected = tuple(matches(pattern, dict(event)) for event in part)
            checks.append(Check(account_id, region, name, text, part, expected, tuple(indices)))
    return checks


def _named(event: Mapping[str, Any]) -> str:
    name = event.get("eventName")
    return f"the {name} event" if isinstance(name, str) else f"the event {json.dumps(event)}"


def disagreements(check: Check, matched: frozenset[int]) -> list[str]:
    """One sentence per event on which AWS's answer differs from the scanner's matcher;
    ``matched`` holds the 0-based indices of the events AWS says the pattern matches."""
    out = []
    for i, (event, expected) in enumerate(zip(check.events, check.expected, strict=True)):
        if (i in matched) == expected:
            continue
        says = "matches" if i in matched else "does not match"
        ours = "does not" if expected is False else "does"
        out.append(
            f'{DISAGREES}: metric filter "{check.filter_name}" {says} {_named(event)} '
            f"(TestMetricFilter in {check.region}); the scanner's matcher says it {ours}"
        )
    return out


@dataclass(frozen=True, slots=True)
class Confirmation:
    findings: list[Finding]
    checks: int  # TestMetricFilter calls made
    disagreements: int  # events on which AWS and the scanner differ
    failures: int  # calls that failed
    # What the alarms' histories said (scanner.evaluate.alarm_history): DescribeAlarmHistory
    # lookups made, PASS paths whose latest notification failed, failed notifications found,
    # lookups that failed.
    lookups: int = 0
    history_disagreements: int = 0
    failed_actions: int = 0
    lookup_failures: int = 0


def apply(
    findings: Sequence[Finding],
    checks: Sequence[Check],
    answers: Mapping[int, frozenset[int] | str],
) -> Confirmation:
    """Add AWS's answers to the findings as notes; never change a verdict.

    ``answers`` maps a check's index to the events AWS matched, or to why the call failed."""
    notes: dict[int, list[str]] = {}
    disagreeing = failed = 0
    for index, check in enumerate(checks):
        answer = answers.get(index)
        if answer is None:
            continue
        if isinstance(answer, str):
            failed += 1
            text = f'metric filter "{check.filter_name}" could not be confirmed by AWS: {answer}'
            lines = [text]
        else:
            lines = disagreements(check, answer)
            disagreeing += len(lines)
        for finding in check.findings:
            notes.setdefault(finding, []).extend(lines)
    out = [
        dataclasses.replace(f, notes=tuple(dict.fromkeys((*f.notes, *notes[i]))))
        if notes.get(i)
        else f
        for i, f in enumerate(findings)
    ]
    return Confirmation(out, len(answers), disagreeing, failed)
