"""Selectors are judged per rule: a trail breaks a rule only if it leaves out that rule's events."""

from __future__ import annotations

from typing import Any

import pytest

from scanner.catalog import load_catalog
from scanner.evaluate import evaluate
from scanner.model import (
    AdvancedEventSelector,
    EventSelector,
    FieldSelector,
    Finding,
    Link,
    Status,
)
from scanner.testing import healthy_account, single_account, with_trail

KMS = "kms.amazonaws.com"
# The rules whose events can come from KMS: its own, and those of any service.
KMS_RULES = {"cmk-disable-or-deletion", "unauthorized-api-calls", "root-account-usage"}
MANAGEMENT = FieldSelector("eventCategory", equals=("Management",))


def findings(**trail_changes: Any) -> dict[str, Finding]:
    account = with_trail(healthy_account(), **trail_changes)
    return {f.rule: f for f in evaluate(single_account(account))}


def advanced(*fields: FieldSelector) -> dict[str, Any]:
    return {
        "event_selectors": (),
        "advanced_event_selectors": (AdvancedEventSelector("management", (MANAGEMENT, *fields)),),
    }


def failing(by_rule: dict[str, Finding]) -> set[str]:
    return {rule for rule, f in by_rule.items() if f.status is not Status.PASS}


def test_excluding_kms_breaks_only_the_rules_whose_events_can_come_from_kms() -> None:
    by_rule = findings(event_selectors=(EventSelector("All", True, (KMS,)),))
    assert failing(by_rule) == KMS_RULES
    cmk = by_rule["cmk-disable-or-deletion"]
    assert cmk.broken_link is Link.SELECTORS
    assert cmk.reason == (
        'trail "management-events" excludes management events from kms.amazonaws.com, '
        "and events of this rule come from kms.amazonaws.com"
    )
    assert by_rule["root-account-usage"].reason == (
        'trail "management-events" excludes management events from kms.amazonaws.com, '
        "and events of this rule can come from kms.amazonaws.com"
    )
    iam = by_rule["iam-policy-changes"]
    selectors = next(r for r in iam.chain if r.link is Link.SELECTORS)
    assert selectors.detail == (
        'trail "management-events" records all management events of this rule'
    )


def test_an_advanced_selector_excluding_kms_is_judged_the_same_way() -> None:
    by_rule = findings(**advanced(FieldSelector("eventSource", not_equals=(KMS,))))
    assert failing(by_rule) == KMS_RULES
    assert by_rule["unauthorized-api-calls"].reason == (
        'trail "management-events" records management events only where eventSource not '
        "equals kms.amazonaws.com, and events of this rule can come from kms.amazonaws.com"
    )


def test_an_advanced_selector_for_one_source_records_only_that_sources_rules() -> None:
    by_rule = findings(**advanced(FieldSelector("eventSource", equals=("iam.amazonaws.com",))))
    iam_rules = {"iam-policy-changes", "iam-login-profile-changes"}
    assert set(by_rule) - failing(by_rule) == iam_rules
    assert by_rule["root-account-usage"].reason == (
        'trail "management-events" records management events only where eventSource equals '
        "iam.amazonaws.com, and events of this rule can come from any service"
    )


def test_write_only_keeps_only_the_rules_the_catalog_says_are_all_writes() -> None:
    catalog = load_catalog()
    writes = {r.id for r in catalog.rules if r.write_events_only}
    by_rule = findings(event_selectors=(EventSelector("WriteOnly", True),))
    assert failing(by_rule) == set(by_rule) - writes
    # Read calls, any call, and sign-ins are not all writes: those rules still break.
    assert {"ssm-actions", "unauthorized-api-calls", "console-signin-without-mfa"} <= failing(
        by_rule
    )
    assert by_rule["ssm-actions"].reason == (
        'trail "management-events" records only write management events'
    )
    advanced_write = findings(**advanced(FieldSelector("readOnly", equals=("false",))))
    assert failing(advanced_write) == failing(by_rule)


@pytest.mark.parametrize(
    "selectors",
    [(EventSelector("ReadOnly", True),), (EventSelector("All", False),)],
    ids=["read-only", "no-management-events"],
)
def test_read_only_or_no_management_events_break_every_rule(
    selectors: tuple[EventSelector, ...],
) -> None:
    by_rule = findings(event_selectors=selectors)
    assert failing(by_rule) == set(by_rule)
    assert {f.broken_link for f in by_rule.values()} == {Link.SELECTORS}


def test_console_sign_ins_come_from_signin_whatever_else_is_excluded() -> None:
    rule = load_catalog().rule("console-signin-without-mfa")
    assert rule.event_sources == ("signin.amazonaws.com",)
    by_rule = findings(event_selectors=(EventSelector("All", True, ("signin.amazonaws.com",)),))
    assert {"console-signin-without-mfa", "console-auth-failures"} <= failing(by_rule)
    assert "iam-policy-changes" not in failing(by_rule)


def test_two_selectors_together_can_record_what_one_leaves_out() -> None:
    selectors = (
        EventSelector("All", True, (KMS,)),
        EventSelector("All", True),
    )
    assert failing(findings(event_selectors=selectors)) == set()
