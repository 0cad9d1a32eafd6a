"""The scan's call plan (issue 9), counted per account on moto's server.

Members are entered only for what no chain outside them decides: a member whose every rule the
organization trail's chain passes costs no call at all, one with its own trail costs at most the
seven reads of its chain, ``deep`` reads everything, and a member whose role is refused still
gets the organization chain's verdicts. The organizations are seeded with
:mod:`scanner.testing.emulation` (which patches moto to refuse a member role, and says so).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import boto3
import pytest
from e2e import emulated_org as org
from moto.cloudtrail.responses import CloudTrailResponse
from moto.organizations.responses import OrganizationsResponse

from scanner.aws import ScanOptions, collect
from scanner.aws.scan import CollectResult
from scanner.catalog import load_catalog
from scanner.evaluate import evaluate
from scanner.model import Finding, Inventory, Status
from scanner.testing import emulation
from scanner.testing.emulation import (
    MANAGEMENT_ACCOUNT_ID,
    AccountSpec,
    OrganizationSpec,
    TopicSpec,
    TrailSpec,
    monitors,
)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(emulation.MOTO_ERROR_SHAPE_WARNING)]

PROFILE = "recommended"
RULES = tuple(rule.id for rule in load_catalog().rules_in(PROFILE))
HALF = len(RULES) // 2
ORG_RULES, OWN_RULES = RULES[:HALF], RULES[HALF:]
COVERED, OWN, LOCKED = "220000000001", "220000000002", "220000000003"
# The nine reads of a member's chain: AssumeRole, DescribeTrails, GetTrailStatus,
# GetEventSelectors, DescribeMetricFilters, DescribeAlarms, ListSubscriptionsByTopic, and what
# decides delivery: GetTopicAttributes, GetSubscriptionAttributes (one subscription).
CHAIN_READS = 9


def organization(org_rules: tuple[str, ...]) -> OrganizationSpec:
    """The organization trail monitors ``org_rules``; OWN's own trail monitors the others."""
    org_trail = TrailSpec(
        "organization-trail", organization=True, log_group="org-logs", monitors=monitors(*org_rules)
    )
    own_trail = TrailSpec("own-trail", log_group="own-logs", monitors=monitors(*OWN_RULES))
    return OrganizationSpec(
        management=AccountSpec(
            MANAGEMENT_ACCOUNT_ID, "management", trails=(org_trail,), topics=(TopicSpec(),)
        ),
        members=(
            AccountSpec(COVERED, "covered"),
            AccountSpec(OWN, "own", trails=(own_trail,), topics=(TopicSpec(),)),
            AccountSpec(LOCKED, "locked", assumable=False),
        ),
    )


def scan(spec: OrganizationSpec, **options: Any) -> CollectResult:
    emulator = emulation.emulate(spec)
    settings: dict[str, Any] = {
        "organization": True,
        "endpoint_url": emulator.endpoint_url,
        "rate_limits": {"organizations": 100.0},
        "rules_profile": PROFILE,
        **options,
    }
    with emulation.fake_credentials():
        return asyncio.run(collect(ScanOptions(**settings)))


def by_rule(findings: list[Finding], account_id: str) -> dict[str, Finding]:
    return {f.rule: f for f in findings if f.account_id == account_id}


@pytest.fixture(scope="module")
def covered_by_org() -> CollectResult:
    return scan(organization(RULES))


@pytest.fixture(scope="module")
def half_covered() -> CollectResult:
    return scan(organization(ORG_RULES))


def test_a_member_the_organization_trail_decides_gets_no_call(
    covered_by_org: CollectResult,
) -> None:
    stats = covered_by_org.stats
    for member in (COVERED, OWN, LOCKED):  # LOCKED's role is not even tried
        assert stats.calls_for(member) == 0, stats.by_account().get(member)
    inventory = covered_by_org.inventory
    for member in (COVERED, OWN, LOCKED):
        account = inventory.account(member)
        assert account is not None and account.entered is False and account.error is None
    findings = evaluate(inventory, PROFILE)
    for member in (COVERED, OWN, LOCKED):
        member_findings = by_rule(findings, member)
        assert set(member_findings) == set(RULES)
        for finding in member_findings.values():
            assert finding.status is Status.PASS
            assert 'organization trail "organization-trail"' in finding.reason
            assert finding.reason.endswith("(account not entered: nothing depends on it)")
            assert {link.account_id for link in finding.chain} == {MANAGEMENT_ACCOUNT_ID}


def test_a_saved_inventory_gives_the_same_findings_offline(covered_by_org: CollectResult) -> None:
    inventory = covered_by_org.inventory
    saved = Inventory.from_json(inventory.to_json())
    assert saved == inventory
    assert evaluate(saved, PROFILE) == evaluate(inventory, PROFILE)


def test_another_profile_offline_is_an_error_for_rules_the_plan_did_not_decide(
    covered_by_org: CollectResult,
) -> None:
    # The scan planned for PROFILE; a rule another profile checks against a reference the
    # organization's filters do not cover depends on the member, which was not read: ERROR.
    undecided = [
        finding
        for profile in load_catalog().profiles
        for finding in evaluate(covered_by_org.inventory, profile.name)
        if finding.account_id == COVERED and finding.status is not Status.PASS
    ]
    assert undecided  # cis-1.2 and securityhub check one rule against an older reference
    for finding in undecided:
        assert finding.status is Status.ERROR  # never FAIL: the member was not read
        assert "was not entered" in finding.reason


def test_a_member_with_its_own_trail_costs_at_most_its_chain(half_covered: CollectResult) -> None:
    stats = half_covered.stats
    assert stats.calls_for(OWN) <= CHAIN_READS, stats.by_account()[OWN]
    assert stats.by_account()[OWN]["cloudtrail:DescribeTrails"] == 1
    assert stats.calls_for(COVERED) == 2  # AssumeRole, DescribeTrails: no trail of its own
    findings = evaluate(half_covered.inventory, PROFILE)
    assert {f.status for f in by_rule(findings, OWN).values()} == {Status.PASS}
    covered = by_rule(findings, COVERED)
    assert {r for r, f in covered.items() if f.status is Status.PASS} == set(ORG_RULES)
    assert {f.status for r, f in covered.items() if r in OWN_RULES} == {Status.FAIL}


def test_a_refused_member_gets_the_organization_chains_verdicts(
    half_covered: CollectResult,
) -> None:
    assert half_covered.stats.by_account()[LOCKED] == {"sts:AssumeRole": 1}
    locked = half_covered.inventory.account(LOCKED)
    assert locked is not None and locked.error is not None and locked.entered
    findings = by_rule(evaluate(half_covered.inventory, PROFILE), LOCKED)
    for rule in ORG_RULES:
        assert findings[rule].status is Status.PASS
        reason = findings[rule].reason
        assert 'organization trail "organization-trail"' in reason
        assert f"account {LOCKED} could not be entered" in reason and "AccessDenied" in reason
    for rule in OWN_RULES:
        assert findings[rule].status is Status.ERROR
        assert "AssumeRole" in findings[rule].reason


def test_deep_enters_every_member() -> None:
    result = scan(organization(RULES), deep=True)
    stats = result.stats
    assert stats.by_account()[COVERED] == {"sts:AssumeRole": 1, "cloudtrail:DescribeTrails": 1}
    assert stats.calls_for(OWN) == CHAIN_READS
    own = result.inventory.account(OWN)
    assert own is not None and own.entered
    own_trails = [t for t in own.regions["us-east-1"].trails or () if t.account_id == OWN]
    assert [t.name for t in own_trails] == ["own-trail"]
    assert {f.status for f in by_rule(evaluate(result.inventory, PROFILE), OWN).values()} == {
        Status.PASS
    }


def test_a_narrowed_scan_reads_the_management_account_and_reports_the_member_only() -> None:
    result = scan(organization(RULES), include_accounts=(COVERED,))
    inventory = result.inventory
    assert inventory.reported_accounts == (COVERED,)
    assert {a.id for a in inventory.accounts} == {MANAGEMENT_ACCOUNT_ID, COVERED}
    assert result.stats.calls_for(COVERED) == 0
    findings = evaluate(inventory, PROFILE)
    assert {f.account_id for f in findings} == {COVERED}
    assert {f.status for f in findings} == {Status.PASS}


def test_without_a_profile_the_plan_covers_every_profile() -> None:
    # rules_profile=None (the daemon's default): a member is left out only if the rules of every
    # profile are decided outside it, so any later evaluation of the inventory is complete.
    result = scan(organization(RULES), rules_profile=None)
    # Two profiles check a rule against a reference the organization's filter does not cover.
    assert result.stats.calls_for(COVERED) == 2
    for profile in load_catalog().profiles:
        for finding in evaluate(result.inventory, profile.name):
            assert "was not entered" not in finding.reason, (profile.name, finding.rule)


def test_accounts_are_collected_while_the_organization_is_still_being_listed(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 9.3: accounts flow into the scan as their pages arrive. moto answers at once, so the
    # listing of the root's OUs is held back here (patched in process): the trails of the
    # accounts directly under the root, listed before, are read while it is held; those of the
    # account in the OU only after.
    ids = org.organization("in-ou", ou="Workloads")
    organizations = boto3.client("organizations", region_name="us-east-1")
    early = organizations.create_account(Email="early@example.com", AccountName="early")
    early_id = early["CreateAccountStatus"]["AccountId"]
    root = organizations.list_roots()["Roots"][0]["Id"]
    held_until: list[float] = []
    trails_read: dict[str, float] = {}
    list_units = OrganizationsResponse.list_organizational_units_for_parent
    describe_trails = CloudTrailResponse.describe_trails

    def held(self: OrganizationsResponse) -> Any:
        if self._get_param("ParentId") == root:
            time.sleep(1.5)
            held_until.append(time.monotonic())
        return list_units(self)

    def recorded(self: CloudTrailResponse) -> Any:
        trails_read.setdefault(self.current_account, time.monotonic())
        return describe_trails(self)

    monkeypatch.setattr(OrganizationsResponse, "list_organizational_units_for_parent", held)
    monkeypatch.setattr(CloudTrailResponse, "describe_trails", recorded)

    result = asyncio.run(
        collect(ScanOptions(organization=True, rate_limits={"organizations": 100.0}))
    )

    assert {a.id for a in result.inventory.accounts} == {org.MANAGEMENT, early_id, ids["in-ou"]}
    [released] = held_until
    assert trails_read[org.MANAGEMENT] < released
    assert trails_read[early_id] < released
    assert trails_read[ids["in-ou"]] > released
    early_account = result.inventory.account(early_id)
    assert early_account is not None and early_account.ou_path == ()
    in_ou = result.inventory.account(ids["in-ou"])
    assert in_ou is not None and in_ou.ou_path == ("Workloads",)
