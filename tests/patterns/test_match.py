"""Matching one event: the semantics every verdict rests on."""

from __future__ import annotations

import pytest

from scanner.patterns import matches

MFA = '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }'


def test_equality_is_case_sensitive() -> None:
    assert matches("{ $.eventName = ConsoleLogin }", {"eventName": "ConsoleLogin"})
    assert not matches("{ $.eventName = ConsoleLogin }", {"eventName": "consolelogin"})


def test_not_equal_matches_an_absent_field_which_is_why_federated_sign_ins_count() -> None:
    federated = {"eventName": "ConsoleLogin", "userIdentity": {"type": "AssumedRole"}}
    assert matches(MFA, federated)
    assert matches(MFA, {"eventName": "ConsoleLogin", "additionalEventData": {"MFAUsed": "No"}})
    assert not matches(
        MFA, {"eventName": "ConsoleLogin", "additionalEventData": {"MFAUsed": "Yes"}}
    )


def test_equality_on_an_absent_field_does_not_match() -> None:
    assert not matches('{ $.errorCode = "*" }', {"eventName": "x"})
    assert matches('{ $.errorCode = "*" }', {"errorCode": ""})


@pytest.mark.parametrize(
    ("glob", "value", "expected"),
    [
        ("AccessDenied*", "AccessDeniedException", True),
        ("*UnauthorizedOperation", "Client.UnauthorizedOperation", True),
        ("*UnauthorizedOperation", "UnauthorizedOperationX", False),
        ("Put*Policy", "PutBucketPolicy", True),
        ("Put*Policy", "PutBucketPolicyStatus", False),
        ("a*b*c", "abc", True),
        ("a.b", "aXb", False),
    ],
)
def test_wildcards_anywhere(glob: str, value: str, expected: bool) -> None:
    assert matches(f'{{ $.v = "{glob}" }}', {"v": value}) is expected


def test_numbers_compare_numerically_and_only_with_numbers() -> None:
    assert matches("{ $.n > 2 }", {"n": 2.5})
    assert matches("{ $.n = 1 }", {"n": 1.0})
    assert not matches("{ $.n = 1 }", {"n": "1"})
    assert not matches("{ $.n > 2 }", {"n": True})
    assert not matches("{ $.n > 2 }", {})
    assert matches("{ $.n != 1 }", {})


def test_existence_null_and_boolean_tests() -> None:
    assert matches("{ $.a NOT EXISTS }", {"b": 1})
    assert not matches("{ $.a NOT EXISTS }", {"a": None})
    assert matches("{ $.a IS NULL }", {"a": None})
    assert not matches("{ $.a IS NULL }", {})
    assert matches("{ $.a IS TRUE }", {"a": True})
    assert not matches("{ $.a IS TRUE }", {"a": "true"})
    assert matches("{ $.a IS FALSE }", {"a": False})


def test_nested_selectors_and_indexes() -> None:
    event = {"resources": [{"ARN": "arn:a"}, {"ARN": "arn:b"}], "u": {"t": "Root"}}
    assert matches('{ $.resources[1].ARN = "arn:b" }', event)
    assert not matches('{ $.resources[2].ARN = "arn:b" }', event)
    assert matches('{ $.u.t = "Root" }', event)
    assert not matches('{ $.u.t.x = "Root" }', event)


def test_regex_values_search_the_string() -> None:
    assert matches("{ $.errorCode = %Unauthori[sz]ed% }", {"errorCode": "Client.Unauthorized"})
    assert not matches("{ $.errorCode = %^Denied% }", {"errorCode": "AccessDenied"})


def test_and_binds_tighter_than_or() -> None:
    pattern = "{ $.a = 1 || $.b = 2 && $.c = 3 }"
    assert matches(pattern, {"a": 1})
    assert not matches(pattern, {"b": 2})


def test_json_patterns_against_raw_text() -> None:
    assert matches('{ $.a = "x" }', '{"a": "x"}')
    assert not matches('{ $.a = "x" }', "not json at all")


def test_term_patterns_against_raw_text() -> None:
    line = "2024-01-01 ERROR [main] connection timeout"
    assert matches("ERROR", line)
    assert matches('ERROR "connection timeout"', line)
    assert not matches("ERROR -timeout", line)
    assert matches("?WARN ?ERROR", line)
    assert not matches("?WARN ?FATAL", line)
    assert matches("%time.?out%", line)
    assert matches("", line)
    assert matches("ConsoleLogin", {"eventName": "ConsoleLogin"})


def test_space_delimited_patterns_against_raw_text() -> None:
    line = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html" 404 1534'
    assert matches("[ip, id, user, ts, request, status = 404, bytes > 1000]", line)
    assert matches("[ip, ..., status = 4*, bytes]", line)
    assert matches("[..., status = 404 || status = 410, bytes]", line)
    assert not matches("[ip, ..., status = 5*, bytes]", line)
    assert not matches("[ip, user]", line)
    assert matches('[ip = 127.0.0.*, ..., request = "GET*", status, bytes]', line)
