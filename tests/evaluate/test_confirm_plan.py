"""What ``--confirm`` asks AWS's engine, and how its answers become notes (never verdicts)."""

from __future__ import annotations

import dataclasses

from evaluate.iam_chain import FILTER, RULE

from scanner.evaluate import evaluate
from scanner.evaluate.confirm import DISAGREES, MAX_EVENTS, apply, plan
from scanner.model import Status
from scanner.testing import event_names, healthy_account, single_account, with_filter


def test_a_fail_asks_about_its_missed_events_and_a_pass_about_reference_events() -> None:
    names = event_names(RULE)
    missing = '{ ($.eventSource = "iam.amazonaws.com") && ($.eventName = "PutUserPolicy") }'
    failing = with_filter(healthy_account(rules=[RULE]), FILTER, pattern=missing)
    inventory = single_account(failing)
    findings = [f for f in evaluate(inventory) if f.rule == RULE]
    assert findings[0].status is Status.FAIL
    (check,) = plan(inventory, findings)
    assert check.filter_name == FILTER and check.pattern == missing
    assert {e["eventName"] for e in check.events} == set(names) - {"PutUserPolicy"}
    assert check.expected == (False,) * len(check.events)

    passing = single_account(healthy_account(rules=[RULE]))
    findings = [f for f in evaluate(passing) if f.rule == RULE]
    (check,) = plan(passing, findings)
    assert 0 < len(check.events) <= 3
    assert all(check.expected)


def test_agreement_adds_nothing_and_disagreement_is_a_note_that_changes_no_verdict() -> None:
    inventory = single_account(healthy_account(rules=[RULE]))
    findings = [f for f in evaluate(inventory) if f.rule == RULE]
    checks = plan(inventory, findings)
    every = frozenset(range(len(checks[0].events)))
    agreed = apply(findings, checks, {0: every})
    assert (agreed.findings, agreed.disagreements) == (findings, 0)

    disagreed = apply(findings, checks, {0: every - {0}})
    assert disagreed.disagreements == 1
    (finding,) = disagreed.findings
    assert finding.status is Status.PASS  # the verdict stays
    name = checks[0].events[0]["eventName"]
    assert finding.notes[-1] == (
        f'{DISAGREES}: metric filter "{FILTER}" does not match the {name} event '
        "(TestMetricFilter in us-east-1); the scanner's matcher says it does"
    )
    failed = apply(findings, checks, {0: "logs TestMetricFilter failed: AccessDenied: no"})
    assert failed.failures == 1
    assert "could not be confirmed by AWS" in failed.findings[0].notes[-1]


def test_questions_are_split_at_awss_limit_of_fifty_events() -> None:
    missing = '{ ($.eventSource = "iam.amazonaws.com") && ($.eventName = "PutUserPolicy") }'
    inventory = single_account(with_filter(healthy_account(rules=[RULE]), FILTER, pattern=missing))
    (finding,) = [f for f in evaluate(inventory) if f.rule == RULE]
    many = dataclasses.replace(
        finding, missed_events=tuple({"eventName": f"Event{i}"} for i in range(60))
    )
    checks = plan(inventory, [many])
    assert [len(c.events) for c in checks] == [MAX_EVENTS, 10]
    assert {c.findings for c in checks} == {(0,)}
