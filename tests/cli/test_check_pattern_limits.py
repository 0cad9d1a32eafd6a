"""``rules check-pattern`` judges what a person typed: CloudWatch's own limits apply to it."""

from __future__ import annotations

import pytest
from cli_run import one_error_line, run

LONG = "{ " + " || ".join(f'($.eventName = "Event{i:04d}")' for i in range(40)) + " }"


def test_a_typed_pattern_over_1024_characters_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert len(LONG) > 1024
    code, out, err = run(capsys, "rules", "check-pattern", "iam-policy-changes", LONG)
    assert (code, out) == (2, "")
    assert "1,024" in one_error_line(err)


def test_deep_nesting_typed_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    text = "{ " + "(" * 400 + "$.a = 1" + ")" * 400 + " }"
    code, _, err = run(capsys, "rules", "check-pattern", "iam-policy-changes", text)
    assert code == 2
    assert "nest deeper than 64 levels" in one_error_line(err)
