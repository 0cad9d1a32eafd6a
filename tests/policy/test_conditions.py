"""Condition operators as IAM documents them, with keys known, known absent, or unknown."""

from __future__ import annotations

import pytest

from scanner.policy.conditions import Context, Truth, Unknown, evaluate_conditions, parse_operator

ALARM = "arn:aws:cloudwatch:us-east-1:111111111111:alarm:root-login"
CONTEXT = Context.of(
    {
        "aws:SourceAccount": "111111111111",
        "aws:SourceArn": ALARM,
        "aws:PrincipalIsAWSService": "true",
        "aws:CalledVia": ["cloudformation.amazonaws.com", "dynamodb.amazonaws.com"],
    },
    absent=["aws:PrincipalOrgID", "aws:PrincipalTag/", "aws:TagKeys"],
)


def check(block: object, context: Context = CONTEXT) -> Truth:
    return evaluate_conditions(block, context)


def test_no_condition_is_true() -> None:
    assert check(None) is True
    assert check({}) is True


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("StringEquals", "111111111111", True),
        ("StringEquals", ["222222222222", "111111111111"], True),
        ("StringEquals", "2222*", False),
        ("StringNotEquals", "222222222222", True),
        ("StringNotEquals", ["222222222222", "111111111111"], False),
        ("StringLike", "1111*", True),
        ("StringLike", "11111111111?", True),
        ("StringLike", "2*", False),
        ("StringNotLike", "2*", True),
        ("StringEqualsIgnoreCase", "111111111111", True),
        ("StringNotEqualsIgnoreCase", "111111111111", False),
    ],
)
def test_string_operators(operator: str, value: object, expected: bool) -> None:
    assert check({operator: {"aws:SourceAccount": value}}) is expected


def test_string_equals_is_case_sensitive_and_its_ignore_case_form_is_not() -> None:
    assert check({"StringEquals": {"aws:SourceArn": ALARM.upper()}}) is False
    assert check({"StringEqualsIgnoreCase": {"aws:SourceArn": ALARM.upper()}}) is True


def test_key_names_are_case_insensitive() -> None:
    assert check({"StringEquals": {"AWS:SOURCEACCOUNT": "111111111111"}}) is True
    assert check({"StringEquals": {"aws:sourceaccount": "111111111111"}}) is True


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("ArnLike", "arn:aws:cloudwatch:*:111111111111:alarm:*", True),
        ("ArnLike", "arn:aws:cloudwatch:us-east-?:111111111111:alarm:root-*", True),
        ("ArnLike", "arn:aws:cloudwatch:*:222222222222:alarm:*", False),
        ("ArnEquals", "arn:aws:cloudwatch:*:111111111111:alarm:*", True),
        ("ArnEquals", ALARM, True),
        ("ArnNotLike", "arn:aws:cloudwatch:*:111111111111:alarm:*", False),
        ("ArnNotEquals", "arn:aws:cloudwatch:*:222222222222:alarm:*", True),
        ("ArnLike", "arn:aws:cloudwatch:*", False),  # fewer than six parts never matches
        ("ArnLike", "*", False),
    ],
)
def test_arn_operators_match_part_by_part(operator: str, value: str, expected: bool) -> None:
    assert check({operator: {"aws:SourceArn": value}}) is expected


def test_an_arn_wildcard_does_not_cross_a_colon_before_the_resource() -> None:
    # "*" in the region part cannot swallow the account: the parts are compared one by one.
    assert check({"ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:*:alarm:root-login"}}) is False


def test_bool_reads_json_booleans_and_strings() -> None:
    assert check({"Bool": {"aws:PrincipalIsAWSService": True}}) is True
    assert check({"Bool": {"aws:PrincipalIsAWSService": "TRUE"}}) is True
    assert check({"Bool": {"aws:PrincipalIsAWSService": "false"}}) is False


def test_several_keys_and_operators_are_and_ed() -> None:
    both = {
        "StringEquals": {"aws:SourceAccount": "111111111111"},
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:*:111111111111:alarm:*"},
    }
    assert check(both) is True
    both["StringEquals"] = {"aws:SourceAccount": "111111111111", "aws:PrincipalIsAWSService": "no"}
    assert check(both) is False


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", False),
        ("StringLike", False),
        ("ArnLike", False),
        ("Bool", False),
        ("StringNotEquals", True),
        ("StringNotLike", True),
        ("ArnNotEquals", True),
        ("StringEqualsIfExists", True),
        ("ArnLikeIfExists", True),
        ("BoolIfExists", True),
        ("ForAllValues:StringEquals", True),
        ("ForAnyValue:StringEquals", False),
        ("ForAnyValue:StringEqualsIfExists", True),
        ("ForAnyValue:StringNotEquals", False),
        ("ForAllValues:StringNotLike", True),
    ],
)
def test_an_absent_key(operator: str, expected: bool) -> None:
    assert check({operator: {"aws:PrincipalOrgID": "o-abcdefghij"}}) is expected


def test_null_tests_presence() -> None:
    assert check({"Null": {"aws:PrincipalOrgID": "true"}}) is True
    assert check({"Null": {"aws:PrincipalOrgID": "false"}}) is False
    assert check({"Null": {"aws:SourceAccount": "false"}}) is True
    assert check({"Null": {"aws:SourceAccount": True}}) is False


def test_an_absent_prefix_covers_every_key_it_prefixes() -> None:
    assert check({"StringEquals": {"aws:PrincipalTag/team": "ops"}}) is False
    assert check({"Null": {"aws:PrincipalTag/Team": "true"}}) is True


def test_set_operators_on_a_multivalued_key() -> None:
    services = ["dynamodb.amazonaws.com", "cloudformation.amazonaws.com"]
    assert check({"ForAllValues:StringEquals": {"aws:CalledVia": services}}) is True
    assert check({"ForAllValues:StringEquals": {"aws:CalledVia": services[:1]}}) is False
    assert check({"ForAnyValue:StringEquals": {"aws:CalledVia": services[:1]}}) is True
    assert check({"ForAnyValue:StringEquals": {"aws:CalledVia": "s3.amazonaws.com"}}) is False
    # ForAnyValue:StringNotEquals: some request value is none of the policy's values.
    assert check({"ForAnyValue:StringNotEquals": {"aws:CalledVia": services[:1]}}) is True
    assert check({"ForAnyValue:StringNotEquals": {"aws:CalledVia": services}}) is False
    assert check({"ForAllValues:StringNotEquals": {"aws:CalledVia": "s3.amazonaws.com"}}) is True
    assert check({"ForAllValues:StringLike": {"aws:CalledVia": "*.amazonaws.com"}}) is True


def test_an_empty_multivalued_key_is_absent() -> None:
    empty = Context.of({"aws:TagKeys": []})
    assert check({"ForAllValues:StringEquals": {"aws:TagKeys": "x"}}, empty) is True
    assert check({"ForAnyValue:StringEquals": {"aws:TagKeys": "x"}}, empty) is False


def test_a_plain_operator_on_a_multivalued_key_matches_any_value() -> None:
    assert check({"StringEquals": {"aws:CalledVia": "dynamodb.amazonaws.com"}}) is True
    assert check({"StringNotEquals": {"aws:CalledVia": "dynamodb.amazonaws.com"}}) is False


def test_an_unknown_key_is_unknown_and_named_even_under_if_exists() -> None:
    for operator in ("StringEquals", "StringNotEquals", "StringEqualsIfExists", "Null"):
        result = check({operator: {"aws:PrincipalAccount": "111111111111"}})
        assert result == Unknown(
            "aws:PrincipalAccount", "the request's aws:PrincipalAccount is not known to the scanner"
        )


@pytest.mark.parametrize(
    ("operator", "key", "value"),
    [
        ("IpAddress", "aws:SourceIp", "203.0.113.0/24"),
        ("NotIpAddress", "aws:SourceIp", "203.0.113.0/24"),
        ("DateGreaterThan", "aws:CurrentTime", "2026-01-01T00:00:00Z"),
        ("NumericLessThan", "aws:MultiFactorAuthAge", "3600"),
        ("BinaryEquals", "aws:SourceAccount", "QmluYXJ5"),
        ("NullIfExists", "aws:SourceAccount", "true"),
        ("ForAnyValue:Null", "aws:SourceAccount", "true"),
    ],
)
def test_an_operator_the_scanner_does_not_evaluate_is_unknown_and_named(
    operator: str, key: str, value: str
) -> None:
    result = check({operator: {key: value}})
    assert isinstance(result, Unknown)
    assert result.name == f"{operator} {key}"
    assert parse_operator(operator) is None


def test_a_false_condition_settles_the_block_beside_an_unknown_one() -> None:
    block = {
        "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
        "StringEquals": {"aws:SourceAccount": "222222222222"},
    }
    assert check(block) is False
    block["StringEquals"] = {"aws:SourceAccount": "111111111111"}
    assert isinstance(check(block), Unknown)


def test_an_unknown_value_does_not_matter_when_another_value_matches() -> None:
    values = ["${aws:PrincipalAccount}", "111111111111"]
    assert check({"StringEquals": {"aws:SourceAccount": values}}) is True
    unknown = check({"StringEquals": {"aws:SourceAccount": values[:1]}})
    assert isinstance(unknown, Unknown) and unknown.name == "aws:PrincipalAccount"


def test_policy_variables_are_substituted() -> None:
    same = {"StringEquals": {"aws:SourceAccount": "${aws:sourceaccount}"}}
    assert check(same) is True
    inside = {"ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:*:${aws:SourceAccount}:alarm:*"}}
    assert check(inside) is True


def test_a_substituted_value_matches_literally_under_like() -> None:
    star = Context.of({"aws:SourceAccount": "*", "aws:SourceArn": "x"})
    assert check({"StringLike": {"aws:SourceArn": "${aws:SourceAccount}"}}, star) is False
    assert check({"StringLike": {"aws:SourceArn": "${*}"}}, star) is False
    assert check({"StringLike": {"aws:SourceArn": "*"}}, star) is True


def test_a_variable_default_applies_when_its_key_is_absent() -> None:
    block = {"StringEquals": {"aws:SourceAccount": "${aws:PrincipalOrgID, '111111111111'}"}}
    assert check(block) is True
    without = check({"StringEquals": {"aws:SourceAccount": "${aws:PrincipalOrgID}"}})
    assert isinstance(without, Unknown) and without.name == "aws:PrincipalOrgID"


@pytest.mark.parametrize(
    "block",
    [
        ["StringEquals"],
        {"StringEquals": "aws:SourceAccount"},
        {"StringEquals": {"aws:SourceAccount": {"nested": 1}}},
        {"StringEquals": {"aws:SourceAccount": []}},
        {"Null": {"aws:SourceAccount": "maybe"}},
    ],
)
def test_a_condition_that_cannot_be_read_is_unknown(block: object) -> None:
    assert isinstance(check(block), Unknown)
