"""An unknown organization chain makes ERROR, never FAIL (issue: faults only turn a verdict into
ERROR): pure, over built inventories.

A member's own trails can only add chains to the management account's organization trails. When
those could not be listed (the management account's DescribeTrails failed, or the account could
not be entered), a member judged on its own trails alone would FAIL rules the organization trail
passes; its findings carry an unknown chain for those trails instead, naming the call and the
account. For a member that could not be entered, that unread chain is the cause named first.
"""

from __future__ import annotations

import dataclasses

from scanner.catalog import load_catalog
from scanner.evaluate import evaluate
from scanner.model import Account, CollectionError, Finding, Inventory, Region, Status
from scanner.testing import builders

PROFILE = "recommended"
RULES = tuple(rule.id for rule in load_catalog().rules_in(PROFILE))
MEMBER = builders.MEMBER_ACCOUNT_ID
MANAGEMENT = builders.MANAGEMENT_ACCOUNT_ID
THROTTLED = CollectionError(
    "cloudtrail", "DescribeTrails", "Throttling", "Rate exceeded", builders.HOME_REGION
)
REFUSED = CollectionError("sts", "AssumeRole", "AccessDenied", "not authorized", "us-east-1")


def member_with_its_own_broken_trail() -> Account:
    """A member whose own trail is stopped: every rule FAILs on it alone."""
    own = builders.healthy_account(MEMBER, "workload", rules=RULES[:1], profile=PROFILE)
    return builders.with_trail(own, is_logging=False)


def unlisted(management: Account) -> Account:
    """The management account as a scan sees it when its DescribeTrails failed."""
    regions = {name: Region(trails=None) for name in management.regions}
    return dataclasses.replace(management, regions=regions, errors=(THROTTLED,))


def by_rule(inventory: Inventory) -> dict[str, Finding]:
    return {f.rule: f for f in evaluate(inventory, PROFILE) if f.account_id == MEMBER}


def calm(member: Account) -> Inventory:
    return builders.organization([member], rules=RULES, profile=PROFILE)


def test_the_calm_organization_trail_passes_what_the_members_own_trail_fails() -> None:
    findings = by_rule(calm(member_with_its_own_broken_trail()))
    assert {f.status for f in findings.values()} == {Status.PASS}


def test_an_unlisted_management_account_makes_the_members_rules_error_not_fail() -> None:
    inventory = calm(member_with_its_own_broken_trail())
    management = inventory.account(MANAGEMENT)
    assert management is not None
    inventory = builders.replace_account(inventory, unlisted(management))

    findings = by_rule(inventory)

    assert {f.status for f in findings.values()} == {Status.ERROR}
    reason = findings[RULES[0]].reason
    assert reason.startswith(
        f"cannot list the organization trails of management account {MANAGEMENT}"
    )
    assert "cloudtrail DescribeTrails in us-east-1 failed: Throttling: Rate exceeded" in reason


def test_a_management_account_that_could_not_be_entered_is_an_unknown_chain_too() -> None:
    inventory = calm(member_with_its_own_broken_trail())
    management = Account(MANAGEMENT, "management", error=REFUSED)
    inventory = builders.replace_account(inventory, management)

    findings = by_rule(inventory)

    assert {f.status for f in findings.values()} == {Status.ERROR}
    assert "the account could not be scanned: sts AssumeRole" in findings[RULES[0]].reason


def test_a_member_own_chain_that_passes_still_passes() -> None:
    own = builders.healthy_account(MEMBER, "workload", rules=RULES, profile=PROFILE)
    inventory = calm(own)
    management = inventory.account(MANAGEMENT)
    assert management is not None
    inventory = builders.replace_account(inventory, unlisted(management))

    assert {f.status for f in by_rule(inventory).values()} == {Status.PASS}


def test_a_member_that_lists_the_organization_trail_itself_is_an_error_too() -> None:
    """Its listing shows the trail, but nothing the trail leads to in the management account
    was read (the collector follows the management account's own listing): the copy's chain
    breaks at a metric filter never listed, and must not make a FAIL."""
    inventory = calm(builders.member_account(MEMBER))
    management = inventory.account(MANAGEMENT)
    assert management is not None
    inventory = builders.replace_account(inventory, unlisted(management))

    findings = by_rule(inventory)

    assert {f.status for f in findings.values()} == {Status.ERROR}
    assert all("cannot list the organization trails" in f.reason for f in findings.values())


def test_a_refused_member_names_the_unread_organization_chain_first() -> None:
    """Its ERRORs cite the organization chain's unread alarms, then its own refused role: in
    the calm run those rules did not depend on it at all."""
    inventory = calm(Account(MEMBER, "workload", error=REFUSED))
    management = inventory.account(MANAGEMENT)
    assert management is not None
    alarms_throttled = CollectionError(
        "cloudwatch", "DescribeAlarms", "Throttling", "Rate exceeded", builders.HOME_REGION
    )
    home = management.regions[builders.HOME_REGION]
    regions = {**management.regions, builders.HOME_REGION: dataclasses.replace(home, alarms=None)}
    inventory = builders.replace_account(
        inventory, dataclasses.replace(management, regions=regions, errors=(alarms_throttled,))
    )

    findings = by_rule(inventory)

    assert {f.status for f in findings.values()} == {Status.ERROR}
    reason = findings[RULES[0]].reason
    assert reason.index("cloudwatch DescribeAlarms") < reason.index("sts AssumeRole")
    assert f"of account {MANAGEMENT}" in reason
    assert f"its own trails are unknown: account {MEMBER} could not be scanned" in reason
