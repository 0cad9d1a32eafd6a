"""Coverage judged on meaning: the verdicts that regex-based tools get wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scanner.patterns import covers, matches, overlaps, parse

CONTROLS = Path(__file__).resolve().parents[1] / "catalog" / "reference" / "controls.json"

IAM = (
    "{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||"
    "($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||"
    "($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||"
    "($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||"
    "($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||"
    "($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||"
    "($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}"
)
IAM_EVENTS = [
    "DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy",
    "PutRolePolicy", "PutUserPolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion",
    "DeletePolicyVersion", "AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy",
    "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy",
]  # fmt: skip
UNAUTH_V12 = '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }'
UNAUTH_V20 = (
    '{ ($.errorCode ="*UnauthorizedOperation") || ($.errorCode ="AccessDenied*") && '
    '($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }'
)
UNAUTH_INTENDED = (
    '{ (($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*")) && '
    '($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }'
)
UNAUTH_V13_BROKEN = (
    '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") || '
    '($.sourceIPAddress!="delivery.logs.amazonaws.com") || ($.eventName!="HeadBucket") }'
)
MFA = '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }'
MFA_SSO = (
    '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && '
    '($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }'
)
ROOT = (
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && '
    '$.eventType != "AwsServiceEvent" }'
)


def assert_gaps_are_real(candidate: str, reference: str) -> list[dict[str, Any]]:
    result = covers(candidate, reference)
    assert result.decided
    for event in result.missed:
        assert matches(reference, event) and not matches(candidate, event), event
    return result.missed


def test_identical_and_reordered_and_reformatted_patterns_cover() -> None:
    reordered = "{ " + " || ".join(f'$.eventName = "{e}"' for e in reversed(IAM_EVENTS)) + " }"
    assert covers(IAM, IAM).covered
    assert covers(reordered, IAM).covered
    assert covers("{\n" + IAM[1:-1].replace("||", "\n ||\n") + "\n}", IAM).covered


def test_duplicates_and_extra_events_do_not_matter() -> None:
    extra = IAM[:-1] + "||($.eventName=DeleteGroupPolicy)||($.eventName=CreateUser)}"
    assert covers(extra, IAM).covered


def test_a_missing_event_is_named_with_an_example() -> None:
    candidate = IAM.replace("||($.eventName=DetachGroupPolicy)", "")
    result = covers(candidate, IAM)
    assert not result.covered
    assert result.missed == [{"eventName": "DetachGroupPolicy"}]
    assert 'eventName is "DetachGroupPolicy"' in result.reason


def test_one_example_per_distinct_gap() -> None:
    candidate = IAM.replace("||($.eventName=DetachGroupPolicy)", "").replace(
        "($.eventName=PutUserPolicy)||", ""
    )
    missed = assert_gaps_are_real(candidate, IAM)
    assert sorted(e["eventName"] for e in missed) == ["DetachGroupPolicy", "PutUserPolicy"]


def test_and_where_or_was_meant_never_matches_and_fails() -> None:
    joined_with_and = IAM.replace("||", "&&")
    result = covers(joined_with_and, IAM)
    assert not result.covered
    assert result.gap_count == len(IAM_EVENTS)
    assert_gaps_are_real(joined_with_and, IAM)


def test_v12_unauthorized_text_covers_the_v20_one_but_not_the_reverse() -> None:
    assert covers(UNAUTH_V12, UNAUTH_V20).covered
    assert covers(UNAUTH_V12, UNAUTH_INTENDED).covered
    result = covers(UNAUTH_INTENDED, UNAUTH_V12)
    assert not result.covered
    missed = assert_gaps_are_real(UNAUTH_INTENDED, UNAUTH_V12)
    assert {"errorCode": "AccessDenied", "sourceIPAddress": "delivery.logs.amazonaws.com"} in missed
    assert any(e.get("eventName") == "HeadBucket" for e in missed)


def test_literal_v20_text_is_wider_than_its_intended_reading() -> None:
    assert covers(UNAUTH_V20, UNAUTH_INTENDED).covered
    missed = assert_gaps_are_real(UNAUTH_INTENDED, UNAUTH_V20)
    assert missed and all(e["errorCode"].endswith("UnauthorizedOperation") for e in missed)
    assert "binds tighter" in covers(UNAUTH_INTENDED, UNAUTH_V20).notes[0]


def test_the_broken_v13_text_matches_nearly_everything() -> None:
    assert covers(UNAUTH_V13_BROKEN, UNAUTH_INTENDED).covered
    assert not covers(UNAUTH_INTENDED, UNAUTH_V13_BROKEN).covered
    assert matches(UNAUTH_V13_BROKEN, {"eventName": "DescribeInstances"})


def test_wildcard_subsumption() -> None:
    assert covers(
        '{ $.errorCode = "*Unauthorized*" }', '{ $.errorCode = "*UnauthorizedOperation" }'
    ).covered
    assert covers('{ $.eventName = "*" }', IAM).covered
    assert covers('{ $.eventName = "*Policy*" }', IAM).covered
    result = covers('{ $.eventName = "*Policy" }', IAM)
    assert not result.covered
    assert sorted(e["eventName"] for e in result.missed) == [
        "CreatePolicyVersion", "DeletePolicyVersion",
    ]  # fmt: skip
    missed = assert_gaps_are_real('{ $.errorCode = "Client.*" }', UNAUTH_V12)
    # Three regions: starts with AccessDenied, ends with UnauthorizedOperation, or both.
    assert sorted(e["errorCode"] for e in missed) == [
        "AccessDenied", "AccessDeniedUnauthorizedOperation", "UnauthorizedOperation",
    ]  # fmt: skip


def test_wildcards_on_both_sides_find_the_overlap() -> None:
    # Strings matching both globs exist; the candidate only takes those starting with Access.
    missed = assert_gaps_are_real('{ $.errorCode = "Access*" }', UNAUTH_V12)
    assert missed == [{"errorCode": "UnauthorizedOperation"}]


def test_negation_traps_on_absent_fields() -> None:
    # Writing MFAUsed = "No" instead of != "Yes" misses federated sign-ins without the field.
    missed = assert_gaps_are_real(
        '{ $.eventName = "ConsoleLogin" && $.additionalEventData.MFAUsed = "No" }', MFA
    )
    assert missed == [{"eventName": "ConsoleLogin"}]
    # Requiring the field to exist first also misses them.
    missed = assert_gaps_are_real(
        '{ $.eventName = "ConsoleLogin" && $.additionalEventData.MFAUsed != "Yes" && '
        "$.additionalEventData.MFAUsed IS NULL }",
        MFA,
    )
    assert {"eventName": "ConsoleLogin"} in missed


def test_sso_variant_is_narrower_than_the_base_pattern() -> None:
    assert covers(MFA, MFA_SSO).covered
    missed = assert_gaps_are_real(MFA_SSO, MFA)
    assert len(missed) == 2


def test_existence_tests_and_nested_paths() -> None:
    assert covers('{ $.userIdentity.type = "Root" }', ROOT).covered
    missed = assert_gaps_are_real(ROOT, '{ $.userIdentity.type = "Root" }')
    assert any(e.get("eventType") == "AwsServiceEvent" for e in missed)
    assert any("invokedBy" in e.get("userIdentity", {}) for e in missed)
    # A present nested field implies its parent exists.
    missed = assert_gaps_are_real(
        "{ $.userIdentity NOT EXISTS }", '{ $.userIdentity.type = "Root" }'
    )
    assert missed == [{"userIdentity": {"type": "Root"}}]
    assert covers("{ $.a NOT EXISTS || $.a.b NOT EXISTS }", "{ $.a.b NOT EXISTS }").covered


def test_numbers_intervals() -> None:
    assert covers("{ $.n > 1 }", "{ $.n >= 2 }").covered
    assert covers("{ $.n >= 1 && $.n <= 10 }", "{ $.n = 5 }").covered
    missed = assert_gaps_are_real("{ $.n > 2 }", "{ $.n >= 2 }")
    assert missed == [{"n": 2}]
    # Absent, 1, 3 and "x" all fall in the one gap; the example is the simplest event.
    missed = assert_gaps_are_real("{ $.n < 1 || $.n > 3 }", "{ $.n != 2 }")
    assert missed == [{}]


def test_service_pin_narrows_the_published_text() -> None:
    pinned = '{ $.eventSource = "iam.amazonaws.com" && (' + IAM[1:-1] + ") }"
    assert covers(IAM, pinned).covered
    result = covers(pinned, IAM)
    assert not result.covered
    assert all(e.get("eventSource") != "iam.amazonaws.com" for e in result.missed)


def test_undecidable_cases_say_why() -> None:
    regex = covers("{ $.eventName = %Policy% }", IAM)
    assert not regex.decided and not regex.covered
    assert "regular expression" in regex.reason
    term = covers("PutRolePolicy", IAM)
    assert not term.decided and "term pattern" in term.reason
    assert covers("", IAM).covered  # the empty pattern matches every event


def test_every_published_variant_covers_itself_and_is_satisfiable() -> None:
    data = json.loads(CONTROLS.read_text())
    for control in data["controls"]:
        for key, text in control["patterns"].items():
            assert covers(text, text).covered, (control["id"], key)
            # A reference that no event matches would make every filter pass.
            assert not covers('{ $.eventName = "__never__" }', text).covered, (control["id"], key)


def test_overlaps_tells_a_filter_for_something_else_from_one_that_falls_short() -> None:
    console = '{ $.eventName = "ConsoleLogin" && $.additionalEventData.MFAUsed != "Yes" }'
    assert overlaps(parse(console), parse(IAM)) is False
    assert overlaps(parse('{ $.eventName = "DetachGroupPolicy" }'), parse(IAM)) is True
    assert overlaps(parse(IAM.replace("||", "&&")), parse(IAM)) is False
    assert overlaps(parse("{ $.a = %x% }"), parse(IAM)) is None
    assert overlaps(parse(""), parse(IAM)) is True


def test_a_reference_no_event_can_match_is_covered_by_anything() -> None:
    """``$.a`` cannot be an array (``$.a[0]``) and an object (``$.a.b``) at once, nor is an
    event an array (``$[0]``): such a reference matches nothing, and every pattern covers it."""
    impossible = '{ $.a[0] = "x" && $.a.b = "y" }'
    for candidate in ("{ $.c = 1 }", '{ $.a[0] = "z" }', impossible, "{ $[0] = 1 }"):
        result = covers(candidate, impossible)
        assert (result.decided, result.covered) == (True, True), result.reason
    assert covers("{ $.c = 1 }", "{ $[0] = 1 }").covered


def test_either_shape_of_a_shared_field_is_a_gap_of_its_own() -> None:
    missed = assert_gaps_are_real("{ $.c = 1 }", '{ $.a[0] = "x" || $.a.b = "y" }')
    assert sorted(missed, key=str) == [{"a": ["x"]}, {"a": {"b": "y"}}]


def test_a_later_array_item_means_the_earlier_ones_are_there() -> None:
    """``$.a[1]`` present makes ``$.a[0]`` present (arrays have no holes): no gap claims an event
    with the second item and not the first."""
    assert covers("{ $.c = 1 }", '{ $.a[1] = "A" && $.a[0] NOT EXISTS }').covered
    missed = assert_gaps_are_real("{ $.a[0] IS NULL }", '{ $.a[1] = "A" }')
    assert missed and all(event["a"][0] is not None for event in missed)
