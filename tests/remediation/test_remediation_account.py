"""Fixes grouped by cause: one change per resource and cause per account, naming what it fixes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import hcl2
import pytest
from remediation.remediation_cases import (
    ACCOUNT,
    FULL,
    HOME,
    LOG_GROUP,
    MISSING,
    OK,
    REGION,
    cfn_lint,
    commands,
    fixed,
    made,
    resources,
    verbs,
)

from scanner.model import Finding, Link
from scanner.remediation import (
    FORMATS,
    AccountRemediation,
    plan_account,
    plan_accounts,
    plan_of,
    render,
)

RULES = ("iam-policy-changes", "root-account-usage", "vpc-changes")
MEMBERS = ("222233334444", "333344445555")


def text(fmt: str, *findings: Finding) -> str:
    (document,) = render(fmt, plan_accounts(findings))  # type: ignore[arg-type]
    return document.text


def test_a_trail_that_does_not_log_is_started_once_for_every_rule_it_breaks() -> None:
    findings = [fixed(made(Link.LOGGING, rule_id=rule)) for rule in RULES]
    cli = text("cli", *findings)
    assert verbs(cli) == ["cloudtrail start-logging"]
    assert f"# Account {ACCOUNT}: 1 change fixes 3 failing findings." in cli
    assert "# For iam-policy-changes, root-account-usage, vpc-changes in account" in cli
    declared = resources(hcl2.loads(text("terraform", *findings)))
    assert list(declared) == ["aws_cloudtrail.main"]
    console = text("console", *findings).splitlines()
    assert [line for line in console if line[:1].isdigit()] == [
        f'1. CloudTrail console, region {HOME} > Trails > "main": Start logging.'
    ]


def test_each_rule_gets_its_own_filter_and_alarm_and_they_share_one_new_topic(
    tmp_path: Path,
) -> None:
    context = {**FULL, "log_group_name": "org-trail-logs"}  # a name CloudFormation accepts
    findings = [fixed(made(Link.FILTER, MISSING, rule_id=rule), context) for rule in RULES]
    cli = text("cli", *findings)
    assert verbs(cli).count("logs put-metric-filter") == 3
    assert verbs(cli).count("cloudwatch put-metric-alarm") == 3
    assert verbs(cli).count("sns create-topic") == 1
    assert verbs(cli).count("sns subscribe") == 1
    assert len({tuple(c) for c in commands(cli)}) == len(commands(cli))  # nothing twice

    declared = resources(hcl2.loads(text("terraform", *findings)))
    assert sorted(name for name in declared if name.startswith("aws_sns")) == [
        "aws_sns_topic.alarms",
        "aws_sns_topic_subscription.alarms",
    ]
    alarms = [body for name, body in declared.items() if "metric_alarm" in name]
    assert len(alarms) == 3
    assert all(alarm["alarm_actions"] == ["${aws_sns_topic.alarms.arn}"] for alarm in alarms)

    templates = render("cloudformation", plan_accounts(findings))
    assert len(templates) == 1
    assert cfn_lint(templates, tmp_path) == ""


def test_an_organization_trails_members_are_fixed_once_in_the_management_account() -> None:
    # Each member's finding points at the management account's log group: one fix there.
    findings = [
        fixed(dataclasses.replace(made(Link.FILTER), account_id=member)) for member in MEMBERS
    ]
    (account,) = plan_accounts(findings)
    assert account.account_id == ACCOUNT
    cli = text("cli", *findings)
    assert f"2 failing findings of {len(MEMBERS)} accounts" in cli
    assert verbs(cli) == ["logs put-metric-filter", "cloudwatch put-metric-alarm"]
    assert f"in accounts {', '.join(MEMBERS)}" in cli


def test_members_sharing_a_fix_keep_their_own_findings_in_its_plan() -> None:
    # The evaluator plans a fix shared by every member once (scanner.remediation.render):
    # the texts are the same, but each plan names its own finding, for grouping.
    findings = [
        fixed(dataclasses.replace(made(Link.FILTER), account_id=member)) for member in MEMBERS
    ]
    plans = [plan_of(finding) for finding in findings]
    assert [p.finding.account_id for p in plans if p is not None] == list(MEMBERS)
    assert findings[0].remediation == findings[1].remediation
    # Any other input is another plan: another log group, another rule.
    renamed = fixed(made(Link.FILTER), {**FULL, "log_group_name": "other-group"})
    assert renamed.remediation["cli"] != findings[0].remediation["cli"]
    assert "other-group" in renamed.remediation["cli"]
    other_rule = fixed(made(Link.FILTER, rule_id="vpc-changes"))
    assert other_rule.remediation["cli"] != findings[0].remediation["cli"]


def test_accounts_are_fixed_apart_and_new_topics_in_two_regions_get_two_names(
    tmp_path: Path,
) -> None:
    other = "444455556666"
    here = fixed(made(Link.FILTER, MISSING), {"account_id": ACCOUNT, "region": HOME})
    there = fixed(made(Link.FILTER, MISSING), {"account_id": other, "region": HOME})
    assert [a.account_id for a in plan_accounts([here, there])] == [ACCOUNT, other]

    elsewhere = fixed(
        made(Link.FILTER, MISSING, rule_id="vpc-changes"), {"account_id": ACCOUNT, "region": REGION}
    )
    config = text("terraform", here, elsewhere)
    parsed = hcl2.loads(config)
    declared = resources(parsed)
    assert {"aws_sns_topic.alarms", "aws_sns_topic.alarms_2"} <= set(declared)
    assert len(parsed["provider"]) == 2
    templates = render("cloudformation", plan_accounts([here, elsewhere]))
    assert [t.name for t in templates] == [f"{ACCOUNT}-{HOME}.json", f"{ACCOUNT}-{REGION}.json"]
    assert cfn_lint(templates, tmp_path) == ""


def test_the_findings_own_fix_stays_and_serialises_as_a_plain_mapping() -> None:
    finding = fixed(made(Link.FILTER, MISSING))
    assert set(finding.remediation) == set(FORMATS)
    assert plan_of(finding) is not None
    back = Finding.from_json(finding.to_json())
    assert back.remediation == finding.remediation
    # A finding read back carries the texts, not the plan: grouping asks for a new evaluation.
    assert plan_of(back) is None
    with pytest.raises(ValueError, match="evaluate the inventory again"):
        plan_accounts([back])


def test_plans_of_two_accounts_are_not_one_account() -> None:
    a = fixed(made(Link.LOGGING))
    b = fixed(made(Link.LOGGING), {**FULL, "account_id": "444455556666"})
    with pytest.raises(ValueError, match="2 accounts"):
        plan_account([a, b])
    plans = [plan for plan in (plan_of(a), plan_of(b)) if plan is not None]
    with pytest.raises(ValueError, match="not one"):
        AccountRemediation.of(plans)


def test_a_finding_that_does_not_fail_is_not_grouped() -> None:
    failing = fixed(made(Link.LOGGING))
    passing = dataclasses.replace(failing, status=failing.status.PASS, broken_link=None)
    (account,) = plan_accounts([failing, passing])
    assert len(account.findings) == 1
    assert plan_accounts([passing]) == ()


def test_log_group_names_with_quotes_survive_grouping() -> None:
    findings = [fixed(made(Link.FILTER, MISSING, rule_id=rule)) for rule in RULES]
    declared = resources(hcl2.loads(text("terraform", *findings)))
    filters = [body for name, body in declared.items() if "metric_filter" in name]
    assert {f["log_group_name"] for f in filters} == {'"' + LOG_GROUP.replace('"', '\\"') + '"'}
    assert OK  # the chains before the filter hold


def test_a_change_for_a_whole_organization_counts_its_accounts() -> None:
    members = [f"{n:012d}" for n in range(500000000001, 500000000013)]
    findings = [fixed(dataclasses.replace(made(Link.LOGGING), account_id=m)) for m in members]
    cli = text("cli", *findings)
    assert f"in {len(members)} accounts ({', '.join(members[:3])}, ...)" in cli.replace("\n# ", " ")
    assert verbs(cli) == ["cloudtrail start-logging"]
