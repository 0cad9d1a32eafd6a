"""Verdicts decided outside an account (issue 9.2, 10.1): pure, over built inventories.

An organization trail's chain lives in the management account; a member's own resources can
only add chains. So the rules that chain passes are decided for every member, and a member that
was not entered, or could not be, gets exactly those verdicts, and ERROR for the others.
"""

from __future__ import annotations

from scanner.catalog import load_catalog
from scanner.evaluate import OutsideVerdicts, decided_outside, evaluate
from scanner.model import Account, CollectionError, Finding, Inventory, Status
from scanner.testing import builders

PROFILE = "recommended"
RULES = tuple(rule.id for rule in load_catalog().rules_in(PROFILE))
SOME = RULES[:5]
MEMBER = builders.MEMBER_ACCOUNT_ID
REFUSED = CollectionError("sts", "AssumeRole", "AccessDenied", "not authorized", "us-east-1")


def org(rules: tuple[str, ...], member: Account) -> Inventory:
    return builders.organization([member], rules=rules, profile=PROFILE)


def shell(*, entered: bool = True, error: CollectionError | None = None) -> Account:
    return Account(MEMBER, "workload", entered=entered, error=error)


def by_rule(inventory: Inventory) -> dict[str, Finding]:
    return {f.rule: f for f in evaluate(inventory, PROFILE) if f.account_id == MEMBER}


def test_the_rules_the_organization_chain_passes_are_decided_outside() -> None:
    inventory = org(SOME, shell(entered=False))
    decided = decided_outside(inventory, MEMBER, PROFILE)
    assert set(decided) == set(SOME)
    assert all(f.status is Status.PASS for f in decided.values())
    assert all(
        {link.account_id for link in f.chain} == {builders.MANAGEMENT_ACCOUNT_ID}
        for f in decided.values()
    )


def test_the_member_need_not_be_in_the_inventory_and_the_walk_is_shared() -> None:
    inventory = builders.organization(0, rules=SOME, profile=PROFILE)
    verdicts = OutsideVerdicts(inventory, PROFILE)
    assert set(verdicts.decided(MEMBER)) == set(SOME)
    assert set(verdicts.decided("333333333333")) == set(SOME)


def test_a_failing_or_unknown_organization_chain_decides_nothing() -> None:
    inventory = org(SOME, shell(entered=False))
    management = inventory.account(builders.MANAGEMENT_ACCOUNT_ID)
    assert management is not None
    stopped = builders.replace_account(inventory, builders.with_trail(management, is_logging=False))
    assert decided_outside(stopped, MEMBER, PROFILE) == {}
    unknown = builders.replace_account(inventory, builders.with_trail(management, is_logging=None))
    assert decided_outside(unknown, MEMBER, PROFILE) == {}


def test_a_member_not_entered_gets_the_outside_verdicts_and_error_for_the_rest() -> None:
    findings = by_rule(org(SOME, shell(entered=False)))
    for rule in SOME:
        finding = findings[rule]
        assert finding.status is Status.PASS
        assert finding.reason.endswith("(account not entered: nothing depends on it)")
    for rule in RULES[len(SOME) :]:
        finding = findings[rule]
        assert finding.status is Status.ERROR
        assert "was not entered" in finding.reason


def test_a_member_that_could_not_be_entered_keeps_the_outside_verdicts() -> None:
    findings = by_rule(org(SOME, shell(error=REFUSED)))
    for rule in SOME:
        reason = findings[rule].reason
        assert findings[rule].status is Status.PASS
        assert "organization trail" in reason
        assert f"account {MEMBER} could not be entered (sts AssumeRole" in reason
    for rule in RULES[len(SOME) :]:
        assert findings[rule].status is Status.ERROR
        assert "could not be scanned: sts AssumeRole" in findings[rule].reason


def test_an_entered_member_is_evaluated_as_before() -> None:
    # Its own trail only adds chains: the outside PASS stays, its own rules pass too.
    own = builders.healthy_account(MEMBER, rules=RULES[len(SOME) :], profile=PROFILE)
    findings = by_rule(org(SOME, own))
    assert {f.status for f in findings.values()} == {Status.PASS}


def test_not_entered_round_trips_through_json() -> None:
    inventory = org(SOME, shell(entered=False))
    saved = Inventory.from_json(inventory.to_json())
    assert saved == inventory
    assert evaluate(saved, PROFILE) == evaluate(inventory, PROFILE)
    # An inventory saved before the field existed reads as entered.
    data = inventory.to_json()
    for account in data["accounts"]:
        account.pop("entered")
    assert all(a.entered for a in Inventory.from_json(data).accounts)


def test_members_judged_alike_get_what_each_would_get_alone() -> None:
    """Members whose chains are all the organization trail's share one PASS per rule, given
    each member's name (evaluate.verdict._judged_alike): each finding must equal the one the
    member gets evaluated on its own, where nothing is shared, whatever else it holds."""
    members = [
        Account("333333333301", "not entered", entered=False),
        Account("333333333302", "not entered either", entered=False),
        Account("333333333303", "entered, no trail of its own"),
        Account("333333333304", "entered, nothing either"),
        Account("333333333305", "refused", error=REFUSED),
        builders.healthy_account("333333333306", "own chains", rules=RULES[5:], profile=PROFILE),
    ]
    together = builders.organization(members, rules=SOME, profile=PROFILE)
    shared = {(f.account_id, f.rule): f for f in evaluate(together, PROFILE)}
    for member in members:
        alone = builders.organization([member], rules=SOME, profile=PROFILE)
        for finding in evaluate(alone, PROFILE):
            if finding.account_id == member.id:
                assert shared[(member.id, finding.rule)] == finding
    passes = [shared[(m.id, SOME[0])] for m in members[:4]]
    assert {f.account_id for f in passes} == {m.id for m in members[:4]}
    assert all(f.status is Status.PASS for f in passes)
    # The two not entered share one reason, not a copy each.
    assert passes[0].reason is passes[1].reason
