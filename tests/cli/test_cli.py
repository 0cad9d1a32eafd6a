"""The command line as a user meets it: output, exit codes, and one-line errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from cli_run import one_error_line, run

from scanner.catalog import Rule, load_catalog
from scanner.cli import main
from scanner.model import (
    Account,
    Alarm,
    EventSelector,
    Inventory,
    LogGroup,
    MetricFilter,
    Region,
    Trail,
    Transformation,
)
from scanner.testing import event_name_pattern, event_names
from scanner.testing.builders import healthy_topic

IAM_EVENTS = event_names("iam-policy-changes")


def either(names: Sequence[str]) -> str:
    return event_name_pattern(names)


# ------------------------------------------------------------------------------ rules list


@pytest.mark.parametrize(
    ("profile", "count"),
    [("cis-1.2", 14), ("cis-5.0", 15), ("recommended", 18), ("cloudguard", 5), ("securityhub", 14)],
)
def test_rules_list_counts_the_rules_of_each_profile(
    capsys: pytest.CaptureFixture[str], profile: str, count: int
) -> None:
    code, out, _ = run(capsys, "rules", "list", "-r", profile, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["profile"] == profile
    assert len(data["rules"]) == count
    code, out, _ = run(capsys, "rules", "list", "-r", profile)
    assert code == 0
    assert out.rstrip().endswith(f"{count} rules")


def test_rules_list_table_shows_the_profiles_identifiers_aligned(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "rules", "list", "-r", "cis-1.2")
    assert code == 0
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("RULE"))
    row = next(line for line in lines if line.startswith("iam-policy-changes "))
    assert header.split() == ["RULE", "SEVERITY", "CIS", "1.2", "TITLE"]
    assert row.split()[:3] == ["iam-policy-changes", "high", "3.4"]
    assert row.index("3.4") == header.index("CIS 1.2")
    assert row.index("IAM policy changes") == header.index("TITLE")
    assert "organizations-changes" not in out
    assert "\033[" not in out  # not a terminal: no colour


def test_rules_list_defaults_to_recommended_with_every_identifier(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "rules", "list", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["profile"] == "recommended"
    first = data["rules"][0]
    assert first == {
        "id": "unauthorized-api-calls",
        "severity": "medium",
        "title": "Unauthorized API calls",
        "identifiers": {
            "cis-7.0": "5.1",
            "securityhub": "CloudWatch.2",
            "cloudguard": "D9.AWS.MON.01",
        },
    }


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main(["rules", "list"]) == 0
    assert "\033[31mcritical" in terminal.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _Terminal()
    monkeypatch.setattr(sys, "stdout", plain)
    assert main(["rules", "list"]) == 0
    assert "\033[" not in plain.getvalue()


# ------------------------------------------------------------------------------ rules show


def test_rules_show_tells_everything_about_a_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "show", "unauthorized-api-calls", "-r", "cis-1.4")
    assert code == 0
    rule = load_catalog().rule("unauthorized-api-calls")
    assert out.startswith("unauthorized-api-calls: Unauthorized API calls")
    for fact in ("medium", "1.4: 4.1", "CloudWatch.2", "D9.AWS.MON.01", "UnauthorizedAPICalls"):
        assert fact in out
    assert rule.rationale.split()[0] in out
    for ref in rule.references:
        assert ref.name in out
        assert ref.text in out
    assert "BROKEN" in out
    assert "nearly every event" in " ".join(out.split())
    assert "Both texts add two exclusions" in out  # the intended reading's explanation
    accepted = out.split("Accepted under cis-1.4")[1]
    assert accepted.split("\n", 1)[1].strip() == "1. intended:cis_v1.3.0-v5.0.0"


def test_rules_show_renders_an_ambiguous_text_as_it_reads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "rules", "show", "route-table-changes")
    assert code == 0
    assert (
        'reads as: { (($.eventSource = "ec2.amazonaws.com") && ($.eventName = "CreateRoute")) ||'
        in out
    )
    assert "intended:cis_remediation_all" in out
    assert "1. intended:cis_remediation_all" in out  # default profile: recommended


def test_rules_show_says_when_a_rule_is_outside_the_profile(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "rules", "show", "organizations-changes", "-r", "cis-1.2")
    assert code == 0
    assert "Not part of profile cis-1.2." in out


# ------------------------------------------------------------------------------ check-pattern


def test_check_pattern_accepts_a_reordered_iam_pattern(capsys: pytest.CaptureFixture[str]) -> None:
    pattern = either(IAM_EVENTS[::-1])
    code, out, err = run(
        capsys, "rules", "check-pattern", "iam-policy-changes", pattern, "--format", "json"
    )
    assert (code, err) == (0, "")
    verdict = json.loads(out)
    assert verdict["covered"] is True
    assert verdict["rule"] == "iam-policy-changes"
    assert verdict["profile"] == "recommended"
    assert verdict["reference"] == "intended:cis_all"
    assert verdict["missed"] == []
    assert verdict["missed_count"] == 0


def test_check_pattern_reports_the_missing_event(capsys: pytest.CaptureFixture[str]) -> None:
    pattern = either(IAM_EVENTS[:-1])
    argv = ("rules", "check-pattern", "iam-policy-changes", pattern, "-r", "cis-1.2")
    code, out, _ = run(capsys, *argv, "--format", "json")
    assert code == 1  # the pattern does not satisfy the rule
    verdict = json.loads(out)
    assert verdict["covered"] is False
    assert verdict["profile"] == "cis-1.2"
    assert [m["event"]["eventName"] for m in verdict["missed"]] == ["DetachGroupPolicy"]
    assert "DetachGroupPolicy" in verdict["missed"][0]["description"]
    assert "DetachGroupPolicy" in verdict["reason"]
    assert isinstance(verdict["notes"], list)


def test_check_pattern_with_a_regex_is_not_covered_and_says_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pattern = "{ $.eventName = %Vpc% }"
    code, out, _ = run(capsys, "rules", "check-pattern", "vpc-changes", pattern, "--format", "json")
    assert code == 1  # undecided: not known to satisfy the rule
    verdict = json.loads(out)
    assert verdict["covered"] is False
    assert "regular expression" in verdict["reason"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["rules", "check-pattern", "iam-policy-changes", '{ $.eventName = "x" && }'],
            "invalid pattern at position",
        ),
        (
            ["rules", "check-pattern", "iam-changes", "{ $.a = 1 }"],
            "unknown rule or control id 'iam-changes'",
        ),
        (
            ["rules", "check-pattern", "vpc-changes", "{ $.a = 1 }", "-r", "cis-9"],
            "unknown profile 'cis-9'; valid names: recommended, cis-1.2",
        ),
        (
            [
                "rules",
                "check-pattern",
                "organizations-changes",
                "{ $.a = 1 }",
                "-r",
                "cis-1.2",
            ],
            "not part of profile 'cis-1.2'",
        ),
        (["rules", "show", "nope"], "unknown rule or control id 'nope'"),
        (["rules", "list", "-r", "strict"], "unknown profile 'strict'"),
        (["rules", "list", "--format", "yaml"], "invalid choice: 'yaml'"),
        ([], "required"),
    ],
    ids=[
        "bad-pattern",
        "unknown-rule",
        "unknown-profile",
        "rule-outside-profile",
        "show-unknown",
        "list-unknown-profile",
        "bad-format",
        "no-command",
    ],
)
def test_a_command_that_cannot_run_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert expected in one_error_line(err)


def test_the_pattern_error_says_what_was_expected(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run(capsys, "rules", "check-pattern", "vpc-changes", "{ $.eventName = }")
    assert "expected a value after '='" in one_error_line(err)


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "--help")
    assert code == 0
    assert "check-pattern" in out


# ------------------------------------------------------------------------------ evaluate

ACCOUNT, REGION = "111111111111", "us-east-1"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"


def _monitored(rules: list[Rule], profile: str) -> Inventory:
    """One account whose trail, filters, alarms and topic are what remediation prescribes."""
    filters = tuple(
        MetricFilter(
            rule.remediation.filter_name,
            "trail-logs",
            rule.accepted_in(profile)[0].text,
            (Transformation(rule.remediation.metric_name, rule.remediation.metric_namespace),),
        )
        for rule in rules
    )
    alarms = tuple(
        Alarm(
            rule.remediation.alarm_name,
            f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{rule.remediation.alarm_name}",
            "GreaterThanOrEqualToThreshold",
            1,
            metric_name=rule.remediation.metric_name,
            namespace=rule.remediation.metric_namespace,
            statistic="Sum",
            period=300,
            threshold=1.0,
            alarm_actions=(TOPIC,),
        )
        for rule in rules
    )
    trail = Trail(
        "main",
        f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main",
        REGION,
        is_multi_region=True,
        is_logging=True,
        event_selectors=(EventSelector(),),
        advanced_event_selectors=(),
        log_group_arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:trail-logs:*",
    )
    region = Region(
        trails=(trail,),
        log_groups={"trail-logs": LogGroup("trail-logs", metric_filters=filters)},
        alarms=alarms,
        topics={TOPIC: healthy_topic(TOPIC, "ops@example.com")},
    )
    return Inventory(accounts=(Account(ACCOUNT, "prod", regions={REGION: region}),))


def _write(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def test_evaluate_all_pass_exits_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rules = list(load_catalog().rules_in("cloudguard"))
    inventory = _write(tmp_path / "inv.json", _monitored(rules, "cloudguard").to_json())
    code, out, err = run(capsys, "evaluate", "--inventory", inventory, "-r", "cloudguard")
    assert (code, err) == (0, "")
    # By default the table lists what needs action: here nothing.
    assert out.splitlines() == [
        "(no FAIL or ERROR finding to list; --status all lists every one)",
        "5 findings in 1 account (profile cloudguard): 5 PASS, 0 FAIL, 0 ERROR",
    ]
    code, out, err = run(
        capsys, "evaluate", "--inventory", inventory, "-r", "cloudguard", "--status", "all"
    )
    lines = out.splitlines()
    assert lines[0] == f"{ACCOUNT}  prod"
    assert lines[1].split()[:4] == ["STATUS", "RULE", "BROKEN", "LINK"]
    statuses = [line.split()[0] for line in lines[2:7]]
    assert statuses == ["PASS"] * 5
    assert lines[-1] == "5 findings in 1 account (profile cloudguard): 5 PASS, 0 FAIL, 0 ERROR"


def test_evaluate_json_has_findings_and_a_summary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = list(load_catalog().rules_in("cloudguard"))
    inventory = _write(tmp_path / "inv.json", _monitored(rules, "cloudguard").to_json())
    code, out, _ = run(
        capsys, "evaluate", "--inventory", inventory, "-r", "cloudguard", "--format", "json"
    )
    assert code == 0
    data = json.loads(out)
    assert [f["rule"] for f in data["findings"]] == [rule.id for rule in rules]
    assert {f["account_id"] for f in data["findings"]} == {ACCOUNT}
    assert data["summary"] == {
        "profile": "cloudguard",
        "accounts": 1,
        "findings": 5,
        "PASS": 5,
        "FAIL": 0,
        "ERROR": 0,
        "suppressed": 0,
    }


def test_evaluate_exits_1_on_a_fail_and_names_the_broken_link(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = [r for r in load_catalog().rules_in("cloudguard") if r.id != "ssm-actions"]
    inventory = _write(tmp_path / "inv.json", _monitored(rules, "cloudguard").to_json())
    code, out, _ = run(capsys, "evaluate", "--inventory", inventory, "-r", "cloudguard")
    assert code == 1
    row = next(line for line in out.splitlines() if "ssm-actions" in line)
    assert row.split()[:3] == ["FAIL", "ssm-actions", "filter"]
    assert out.splitlines()[-1].endswith("4 PASS, 1 FAIL, 0 ERROR")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read inventory"),
        ("{ not json", "is not valid JSON: line 1 column 3"),
        ({"accounts": [{"id": 1}]}, "accounts"),
    ],
    ids=["missing", "not-json", "bad-field"],
)
def test_evaluate_a_bad_inventory_file_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: Any, expected: str
) -> None:
    path = tmp_path / "inv.json"
    if content is not None:
        _write(path, content)
    code, out, err = run(capsys, "evaluate", "--inventory", str(path))
    assert code == 2
    assert out == ""
    assert expected in one_error_line(err)


# ------------------------------------------------------------------------------ as a program


def test_python_dash_m_scanner_runs_the_same_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scanner", "rules", "list", "-r", "cloudguard"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ssm-actions" in result.stdout
    assert result.stdout.rstrip().endswith("5 rules")
