"""One verdict for a filter pattern against a rule: covered, or how close it comes and why not."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from scanner.catalog import UnknownNameError, judge, load_catalog
from scanner.patterns import PatternSyntaxError, parse
from scanner.testing import event_name_pattern, event_names

IAM_EVENTS = event_names("iam-policy-changes")


def either(names: Sequence[str]) -> str:
    return event_name_pattern(names)


def test_a_covering_pattern_names_the_first_accepted_reference_it_covers() -> None:
    rule = load_catalog().rule("iam-policy-changes")
    unpinned = judge(rule, "recommended", either(IAM_EVENTS[::-1]))
    assert unpinned.covered
    assert unpinned.reference.name == "intended:cis_all"
    assert unpinned.reason == "covers the accepted reference intended:cis_all"
    assert unpinned.missed == []


def test_a_pattern_that_covers_only_a_later_reference_passes_through_it() -> None:
    rule = load_catalog().rule("console-signin-without-mfa")
    sso = rule.reference("cis_sso_variant_v1.4.0+").text
    assert rule.accepted_in("cis-5.0")[0].name == "cis_base_all_versions"
    verdict = judge(rule, "cis-5.0", sso)
    assert verdict.covered
    assert verdict.reference.name == "cis_sso_variant_v1.4.0+"


def test_an_uncovered_pattern_reports_the_closest_reference_and_the_missed_event() -> None:
    rule = load_catalog().rule("iam-policy-changes")
    verdict = judge(rule, "recommended", either(IAM_EVENTS[:-1]))
    assert not verdict.covered
    assert verdict.decided
    assert verdict.reference.name == "intended:cis_all"  # tie on gaps: the preferred one
    assert [event["eventName"] for event in verdict.missed] == ["DetachGroupPolicy"]
    assert "DetachGroupPolicy" in verdict.reason
    assert verdict.reason.startswith("covers no accepted reference; closest is intended:cis_all")


def test_the_closest_reference_is_the_one_with_the_fewest_gaps() -> None:
    rule = load_catalog().rule("console-signin-without-mfa")
    # Catches successful IAM-user sign-ins without MFA only when MFAUsed is present: one gap
    # from the SSO variant (MFAUsed absent), more from the base pattern (any user type).
    narrow = (
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed = "No") && '
        '($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }'
    )
    verdict = judge(rule, "cis-5.0", narrow)
    assert not verdict.covered
    assert verdict.reference.name == "cis_sso_variant_v1.4.0+"
    base_gaps = judge(rule, "cis-1.2", narrow).coverage.gap_count
    assert verdict.coverage.gap_count < base_gaps


def test_undecidable_coverage_is_not_covered_and_says_why() -> None:
    rule = load_catalog().rule("iam-policy-changes")
    verdict = judge(rule, "recommended", "{ $.eventName = %Policy% }")
    assert not verdict.covered
    assert not verdict.decided
    assert "regular expression" in verdict.reason
    assert verdict.to_json()["decided"] is False


def test_the_verdict_as_json_has_the_documented_shape() -> None:
    rule = load_catalog().rule("iam-policy-changes")
    data = judge(rule, "cis-1.2", either(IAM_EVENTS[:-1])).to_json()
    assert set(data) == {
        "rule",
        "profile",
        "covered",
        "satisfies",
        "over_broad",
        "routine_example",
        "decided",
        "reference",
        "missed",
        "missed_count",
        "reason",
        "notes",
    }
    assert data["rule"] == "iam-policy-changes"
    assert data["profile"] == "cis-1.2"
    assert data["missed"] == [
        {
            "description": data["missed"][0]["description"],
            "event": {"eventSource": "iam.amazonaws.com", "eventName": "DetachGroupPolicy"},
        }
    ]
    assert "DetachGroupPolicy" in data["missed"][0]["description"]
    assert data["missed_count"] == 1
    assert any("intended reading of cis_all" in note for note in data["notes"])


def test_notes_report_mixed_operators_in_the_candidate() -> None:
    rule = load_catalog().rule("route-table-changes")
    audit = rule.reference("cis_audit_v3.0.0+").text
    verdict = judge(rule, "cis-5.0", audit)
    assert verdict.covered
    assert any(note.startswith("candidate:") and "&&" in note for note in verdict.notes)


def test_a_parsed_pattern_and_its_text_get_the_same_verdict() -> None:
    rule = load_catalog().rule("iam-policy-changes")
    text = either(IAM_EVENTS)
    assert judge(rule, "cis-1.2", text) == judge(rule, "cis-1.2", parse(text))


def test_invalid_patterns_and_rules_outside_the_profile_raise() -> None:
    catalog = load_catalog()
    with pytest.raises(PatternSyntaxError):
        judge(catalog.rule("iam-policy-changes"), "recommended", "{ $.eventName = }")
    with pytest.raises(UnknownNameError, match=r"not part of profile 'cis-1\.2'"):
        judge(catalog.rule("organizations-changes"), "cis-1.2", "{ $.eventName = x }")
    with pytest.raises(UnknownNameError):
        judge(catalog.rule("ssm-actions"), catalog.profile("securityhub"), "{ $.a = 1 }")
