"""``scanner rules check-pattern`` answers in one line and its exit code (0 satisfied, 1 not,
2 cannot judge); ``--format json`` gives the details, each missed event once."""

from __future__ import annotations

import json

import pytest
from cli_run import one_error_line, run

PARTIAL = "{ ($.eventName = DeleteGroupPolicy) || ($.eventName = DeleteRolePolicy) }"


def test_a_pattern_that_misses_events_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "rules", "check-pattern", "iam-policy-changes", PARTIAL)
    assert (code, err) == (1, "")
    assert out == (
        "iam-policy-changes: not covered, misses 14 events "
        "(DeleteUserPolicy, PutGroupPolicy, PutRolePolicy, ...)\n"
    )


def test_a_satisfying_pattern_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    good = '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }'
    code, out, _ = run(capsys, "rules", "check-pattern", "unauthorized-api-calls", good)
    assert (code, out) == (
        0,
        "unauthorized-api-calls: satisfied, covers intended:cis_v1.3.0-v5.0.0\n",
    )


@pytest.mark.parametrize(
    ("rule", "pattern", "line"),
    [
        (
            "console-signin-without-mfa",
            "",
            "console-signin-without-mfa: not satisfied, over-broad: matches routine events such "
            "as DescribeInstances; its alarm stays in ALARM",
        ),
        (
            "vpc-changes",
            "{ $.eventName = %Vpc% }",
            "vpc-changes: undecided, the candidate compares $.eventName with the regular "
            "expression %Vpc%; coverage involving regular expressions is not decided",
        ),
        (
            "console-signin-without-mfa",
            '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed = "No") }',
            "console-signin-without-mfa: not covered, misses 1 kind of event (eventName is "
            '"ConsoleLogin", additionalEventData.MFAUsed is not "Yes" or "No" (or absent))',
        ),
    ],
    ids=["over-broad", "undecided", "not-an-event-name"],
)
def test_a_pattern_that_does_not_satisfy_the_rule_exits_1_whatever_the_reason(
    capsys: pytest.CaptureFixture[str], rule: str, pattern: str, line: str
) -> None:
    code, out, _ = run(capsys, "rules", "check-pattern", rule, pattern)
    assert (code, out) == (1, line + "\n")


def test_json_lists_each_missed_event_once(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "rules", "check-pattern", "iam-policy-changes", PARTIAL, "--format", "json"
    )
    assert code == 1
    verdict = json.loads(out)
    assert verdict["missed_count"] == len(verdict["missed"]) == 14
    assert "gaps" not in verdict
    assert verdict["missed"][0] == {
        "description": 'eventSource is "iam.amazonaws.com", eventName is "DeleteUserPolicy"',
        "event": {"eventSource": "iam.amazonaws.com", "eventName": "DeleteUserPolicy"},
    }
    # Once in the list (its description and its event); the reason names the first three only.
    assert out.count("PutUserPolicy") == 2


def test_a_bad_pattern_still_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "rules", "check-pattern", "iam-policy-changes", "{ $.a = }")
    assert (code, out) == (2, "")
    assert "invalid pattern" in one_error_line(err)
