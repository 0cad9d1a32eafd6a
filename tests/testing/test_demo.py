"""The demo organization, scanned for real through moto's server: every break shows as it should.

One run of :func:`scanner.demo.run` per module (seed, a real scan over HTTP, evaluation); each
test reads a different part of the result, as a user reads the report.
"""

from __future__ import annotations

import pytest

from scanner.model import Finding, Link, Status, Trail
from scanner.testing import demo, emulation
from scanner.testing.emulation import MANAGEMENT_ACCOUNT_ID

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(emulation.MOTO_ERROR_SHAPE_WARNING)]

# Account -> (rule, the link reported broken) for the breaks after the trail.
BROKEN_AFTER_THE_TRAIL = {
    "web-staging": ("security-group-changes", Link.FILTER),
    "data-staging": ("vpc-changes", Link.ALARM),
    "ml-sandbox": ("route-table-changes", Link.ALARM_CONDITION),
    "dev-sandbox": ("ssm-actions", Link.ACTIONS),
    "legacy-sandbox": ("ec2-instance-changes", Link.TOPIC),
    "qa-sandbox": ("nacl-changes", Link.SUBSCRIBER),
}
# Members whose own trail carries the rule's filter and alarm but breaks earlier: the finding
# names the member's own broken link, not the organization trail's (which has no filter for the
# rule). account -> (rule, the member's own link that is broken).
OUTRANKED = {
    "orders-prod": ("security-group-changes", Link.LOGGING),
    "analytics-prod": ("security-group-changes", Link.TRAIL),
    "search-prod": ("security-group-changes", Link.SELECTORS),
    "api-staging": ("nacl-changes", Link.FILTER),
}
# Account -> (what the scan must have seen of its own trail, the link its member rules break at).
BROKEN_TRAILS: dict[str, tuple[dict[str, object], Link]] = {
    "orders-prod": ({"is_logging": False}, Link.LOGGING),
    "analytics-prod": ({"is_multi_region": False}, Link.TRAIL),
    "search-prod": ({}, Link.SELECTORS),
    "billing-staging": ({"log_group_arn": None}, Link.LOG_GROUP),
}


@pytest.fixture(scope="module")
def result() -> demo.DemoResult:
    return demo.run()


def account_id(name: str) -> str:
    return next(a.id for a in demo.ORGANIZATION.accounts if a.name == name)


def findings(result: demo.DemoResult, name: str) -> dict[str, Finding]:
    wanted = account_id(name)
    return {f.rule: f for f in result.findings if f.account_id == wanted}


def own_trail(result: demo.DemoResult, name: str) -> Trail:
    account = result.collected.inventory.account(account_id(name))
    assert account is not None
    return next(t for t in account.regions["us-east-1"].trails or () if t.name == "account-trail")


def test_the_demo_runs_within_seconds_and_scans_every_active_account(
    result: demo.DemoResult,
) -> None:
    assert result.seconds < 30  # a few seconds on a laptop; generous for a loaded CI runner
    scanned = {a.id for a in result.collected.inventory.accounts if a.status == "ACTIVE"}
    active = {a.id for a in demo.ORGANIZATION.accounts if not a.suspended}
    assert scanned == active
    assert result.collected.stats.calls > 0


@pytest.mark.parametrize("name", list(BROKEN_AFTER_THE_TRAIL))
def test_each_break_after_the_trail_fails_at_its_own_link(
    result: demo.DemoResult, name: str
) -> None:
    rule, link = BROKEN_AFTER_THE_TRAIL[name]
    by_rule = findings(result, name)
    finding = by_rule[rule]
    assert finding.status is Status.FAIL
    assert finding.broken_link is link
    broken = next(r for r in finding.chain if r.link is link)
    assert broken.account_id == account_id(name)
    assert finding.remediation  # a FAIL always comes with its fix
    if name != "qa-sandbox":  # its topic breaks every member rule; the others break one
        others = [f for r, f in by_rule.items() if r != rule]
        assert all(f.status is Status.PASS for f in others)


def test_a_filter_missing_an_event_names_the_event(result: demo.DemoResult) -> None:
    finding = findings(result, "web-staging")["security-group-changes"]
    assert "ModifySecurityGroupRules" in finding.reason
    assert [e["eventName"] for e in finding.missed_events] == ["ModifySecurityGroupRules"]


@pytest.mark.parametrize("name", list(BROKEN_TRAILS))
def test_the_scan_sees_each_broken_trail(result: demo.DemoResult, name: str) -> None:
    expected, _ = BROKEN_TRAILS[name]
    trail = own_trail(result, name)
    for attribute, value in expected.items():
        assert getattr(trail, attribute) == value
    if name == "search-prod":
        assert trail.event_selectors is not None
        assert not any(s.include_management_events for s in trail.event_selectors)


@pytest.mark.parametrize("name", list(OUTRANKED))
def test_each_members_own_break_is_the_reported_broken_link(
    result: demo.DemoResult, name: str
) -> None:
    rule, link = OUTRANKED[name]
    finding = findings(result, name)[rule]
    assert finding.status is Status.FAIL
    assert finding.broken_link is link
    assert next(r for r in finding.chain if r.link is link).account_id == account_id(name)


def test_a_member_trail_without_log_group_is_explained_by_the_organization_trail(
    result: demo.DemoResult,
) -> None:
    # billing-staging's own trail delivers to no log group, so no chain of its own reaches a
    # filter; the organization trail's chain gets further and names its log group.
    finding = findings(result, "billing-staging")["security-group-changes"]
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.FILTER
    filter_link = next(r for r in finding.chain if r.link is Link.FILTER)
    assert filter_link.account_id == demo.ORGANIZATION.management.id
    assert "catches any event of this rule" in finding.reason
    # Its own trail is named, with what breaks it, and the fix is given for both chains.
    assert finding.reason.endswith(
        'the chain that gets furthest); its own trail "account-trail" breaks sooner: '
        'trail "account-trail" does not deliver to CloudWatch Logs'
    )
    console = finding.remediation["console"]
    assert "# Either fix the chain of the organization trail" in console
    assert (
        f'# Or fix the chain of its own trail "account-trail" in account {finding.account_id}'
        in (console)
    )


def test_and_for_or_fails_at_a_filter(result: demo.DemoResult) -> None:
    finding = findings(result, "api-staging")["nacl-changes"]
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.FILTER
    assert len(finding.missed_events) == 6  # no filter in reach matches any NACL event


def test_the_organization_trail_makes_every_scanned_member_pass_its_rules(
    result: demo.DemoResult,
) -> None:
    members = [a for a in demo.ORGANIZATION.members if a.assumable and not a.suspended]
    assert len(members) >= 10
    for member in members:
        by_rule = findings(result, member.name)
        for rule in demo.ORG_RULES:
            finding = by_rule[rule]
            assert finding.status is Status.PASS, (member.name, rule, finding.reason)
            assert {r.account_id for r in finding.chain} == {MANAGEMENT_ACCOUNT_ID}
            assert "organization trail" in finding.reason


@pytest.mark.parametrize("name", ["management", "security", "payments-prod"])
def test_healthy_accounts_pass_every_rule(result: demo.DemoResult, name: str) -> None:
    assert {f.status for f in findings(result, name).values()} == {Status.PASS}


def test_a_cross_account_topic_is_read_in_its_owner_account(result: demo.DemoResult) -> None:
    finding = findings(result, "payments-prod")["vpc-changes"]
    subscriber = next(r for r in finding.chain if r.link is Link.SUBSCRIBER)
    assert subscriber.resource == demo.CENTRAL_TOPIC
    assert subscriber.account_id == demo.SECURITY_ACCOUNT_ID


def test_the_member_whose_role_cannot_be_assumed_gets_the_organization_chains_verdicts(
    result: demo.DemoResult,
) -> None:
    # Issue 10.1: the organization trail's chain, all in the management account, decides the
    # identity rules whether or not the member can be entered; the member rules depend on it.
    by_rule = findings(result, "partner-integration")
    assert len(by_rule) == 18
    for rule in demo.ORG_RULES:
        finding = by_rule[rule]
        assert finding.status is Status.PASS, (rule, finding.reason)
        assert "organization trail" in finding.reason
        assert "could not be entered" in finding.reason and "AccessDenied" in finding.reason
    for rule in demo.MEMBER_RULES:
        assert by_rule[rule].status is Status.ERROR  # never FAIL
        assert "AccessDenied" in by_rule[rule].reason


def test_the_suspended_account_is_reported_as_skipped(result: demo.DemoResult) -> None:
    retired = account_id("retired-project")
    assert [a.id for a in result.collected.suspended] == [retired]
    assert not [f for f in result.findings if f.account_id == retired]
