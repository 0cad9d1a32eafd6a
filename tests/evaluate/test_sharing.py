"""evaluate() keeps every finding, so equal values are held once (scanner.evaluate.sharing):
the findings read exactly as each_finding's, and what repeats across members is one object."""

from __future__ import annotations

from collections import defaultdict

from scanner.evaluate import each_finding, evaluate
from scanner.model import Status
from scanner.remediation import plan_accounts
from scanner.testing import organization


def test_findings_are_those_of_each_finding_and_repeats_are_held_once() -> None:
    # Only IAM policy changes are monitored: every other rule fails in every member, and its
    # fix (in the management account, on the organization trail) is the same text in each.
    inventory = organization(6, rules=["iam-policy-changes"])
    kept = evaluate(inventory)
    streamed = list(each_finding(inventory))
    assert kept == streamed
    assert [f.to_json() for f in kept] == [f.to_json() for f in streamed]

    management = inventory.accounts[0].id
    failing = [f for f in kept if f.status is Status.FAIL and f.account_id != management]
    assert failing
    by_rule = defaultdict(list)
    for finding in failing:
        by_rule[finding.rule].append(finding)
    for findings in by_rule.values():
        assert len(findings) == 6
        first = findings[0]
        for other in findings[1:]:
            for fmt, text in other.remediation.items():
                assert text == first.remediation[fmt]
                assert text is first.remediation[fmt]
            assert other.controls is first.controls
    passing = [f for f in kept if f.status is Status.PASS]
    reasons = {id(f.reason) for f in passing}
    assert len(reasons) == len({f.reason for f in passing})  # one object per distinct reason


def test_the_fixes_still_group_into_one_change_per_resource() -> None:
    inventory = organization(6, rules=["iam-policy-changes"])
    kept, streamed = plan_accounts(evaluate(inventory)), plan_accounts(each_finding(inventory))
    assert [(a.account_id, len(a.changes), len(a.findings)) for a in kept] == [
        (a.account_id, len(a.changes), len(a.findings)) for a in streamed
    ]
    assert [a.findings for a in kept] == [a.findings for a in streamed]
