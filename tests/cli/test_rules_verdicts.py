"""``scanner rules check-pattern`` and ``rules show`` say what satisfies a rule, not only what
covers it: an over-broad pattern covers everything and satisfies nothing."""

from __future__ import annotations

import json

import pytest
from cli_run import run


def test_the_empty_pattern_does_not_satisfy_a_rule_because_it_is_over_broad(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(
        capsys, "rules", "check-pattern", "console-signin-without-mfa", "", "--format", "json"
    )
    assert (code, err) == (1, "")
    verdict = json.loads(out)
    assert verdict["covered"] is True  # coverage alone: it matches every event
    assert verdict["satisfies"] is False
    assert verdict["over_broad"] is True
    assert verdict["routine_example"]["eventName"] == "DescribeInstances"
    assert verdict["reason"] == (
        "does not satisfy the rule: covers the accepted reference cis_base_all_versions but is "
        "over-broad: matches routine events such as DescribeInstances; its alarm stays in ALARM"
    )


def test_the_broken_cis_text_is_over_broad_and_the_reference_is_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = (
        '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") || '
        '($.sourceIPAddress!="delivery.logs.amazonaws.com") || ($.eventName!="HeadBucket") }'
    )
    code, out, _ = run(
        capsys, "rules", "check-pattern", "unauthorized-api-calls", broken, "--format", "json"
    )
    assert (code, json.loads(out)["over_broad"]) == (1, True)
    good = '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }'
    code, out, _ = run(
        capsys, "rules", "check-pattern", "unauthorized-api-calls", good, "--format", "json"
    )
    assert code == 0
    verdict = json.loads(out)
    assert (verdict["satisfies"], verdict["over_broad"], verdict["routine_example"]) == (
        True,
        False,
        None,
    )


def test_rules_show_says_what_a_trail_must_record_and_what_over_broad_means(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = run(capsys, "rules", "show", "cmk-disable-or-deletion")
    assert "trail records management events from kms.amazonaws.com, write events suffice" in out
    assert "is over-broad" in out
    _, out, _ = run(capsys, "rules", "show", "console-signin-without-mfa")
    assert "management events from signin.amazonaws.com, read and write" in out
