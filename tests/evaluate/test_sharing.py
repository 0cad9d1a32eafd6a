"""What repeats across an organization's findings is held once (scanner.evaluate.sharing):
a daemon keeps every finding between scans, so a copy per finding is memory per account."""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Generator

from scanner.evaluate import each_finding, evaluate
from scanner.evaluate.chains import _Replay
from scanner.model import Finding, Status
from scanner.remediation import Fixes, plan_accounts, plan_of
from scanner.testing import organization


def _one_object_per_value(values: list[object]) -> bool:
    return len({id(v) for v in values}) == len({repr(v) for v in values})


def test_repeated_texts_controls_and_fixes_are_one_object_each() -> None:
    # Only IAM policy changes are monitored: every other rule fails in every member, and its
    # fix (in the management account, on the organization trail) is the same text in each.
    inventory = organization(6, rules=["iam-policy-changes"])
    findings = evaluate(inventory)
    management = inventory.accounts[0].id
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_rule[finding.rule].append(finding)
    for rule, found in by_rule.items():
        assert len({id(f.controls) for f in found}) == 1, rule
        failing = [f for f in found if f.status is Status.FAIL and f.account_id != management]
        for fmt in failing[0].remediation if failing else ():
            assert _one_object_per_value([f.remediation[fmt] for f in failing]), (rule, fmt)
        # One fix object for all the members, its plan made for whichever finding asks.
        assert len({id(f.remediation) for f in failing}) <= 1, rule
        for finding in failing:
            plan = plan_of(finding)
            assert plan is not None and plan.finding is finding
            assert plan.account_id == management
    assert sum(f.status is Status.FAIL for f in findings) >= 6 * (len(by_rule) - 1)
    assert _one_object_per_value([f.reason for f in findings])
    assert _one_object_per_value([f.patterns for f in findings if f.patterns])


def test_findings_read_the_same_streamed_or_kept_and_fixes_group_as_before() -> None:
    inventory = organization(6, rules=["iam-policy-changes"])
    kept, streamed = evaluate(inventory), list(each_finding(inventory))
    assert [f.to_json() for f in kept] == [f.to_json() for f in streamed]
    grouped = plan_accounts(kept)
    assert [(a.account_id, len(a.findings)) for a in grouped] == [
        (management := inventory.accounts[0].id, sum(f.status is Status.FAIL for f in kept))
    ]
    assert management == grouped[0].account_id


def test_a_walk_leaves_nothing_for_the_garbage_collector() -> None:
    """The chains a walk cached are freed when its findings are made, not at the collector's
    next full pass: a daemon's warm scan held a second walk's chains at its high-water mark."""
    inventory = organization(6, rules=["iam-policy-changes"])
    gc.collect()
    gc.disable()
    try:
        findings = evaluate(inventory)
        assert not [o for o in gc.get_objects() if isinstance(o, _Replay)]
        # A reader that stops after the management account's findings (whose chains it left
        # half read: a PASS stops reading) frees the walk too.
        streamed = each_finding(inventory)
        assert isinstance(streamed, Generator)
        management = next(streamed).account_id
        assert any(f.account_id != management for f in streamed)
        streamed.close()
        left = [o for o in gc.get_objects() if isinstance(o, _Replay)]
    finally:
        gc.enable()
    assert findings and not left


def test_an_evaluation_leaves_no_fix_cached_for_the_next() -> None:
    """The fixes an evaluation shares between its findings are its own: a daemon's next scan
    keeps the findings it already held when they are equal, and a cache kept for the next
    evaluation would keep the new scan's fixes beside them. Nothing outlives the walk: the
    next evaluation, or one after a stream stopped early, makes fixes of its own."""
    inventory = organization(6, rules=["iam-policy-changes"])
    findings = evaluate(inventory)
    assert any(f.remediation for f in findings)
    held = {id(f.remediation) for f in findings if f.remediation}
    again = evaluate(inventory)
    assert [f.to_json() for f in again] == [f.to_json() for f in findings]
    assert not held & {id(f.remediation) for f in again if f.remediation}
    streamed = each_finding(inventory)
    assert isinstance(streamed, Generator)
    first = next(f for f in streamed if f.status is Status.FAIL)  # stops at the first
    streamed.close()
    assert first.remediation and id(first.remediation) not in held
    assert not [o for o in gc.get_objects() if isinstance(o, Fixes)]  # none left behind
    # Within an evaluation they are still shared (one object for the members that ask alike).
    failing = [f for f in findings if f.status is Status.FAIL and f.rule == findings[-1].rule]
    assert len(failing) > 1 and len({id(f.remediation) for f in failing}) == 1
