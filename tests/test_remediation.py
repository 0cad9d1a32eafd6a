"""Remediation text: the commands that fix a failing control must be right and runnable."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shlex
from collections.abc import Mapping
from typing import Any

import pytest

from scanner.catalog import Rule, load_catalog
from scanner.evaluate import evaluate
from scanner.model import (
    Account,
    EventSelector,
    Finding,
    Inventory,
    Link,
    LinkResult,
    LinkStatus,
    LogGroup,
    Region,
    Status,
    Subscription,
    Topic,
    Trail,
)
from scanner.patterns import covers, matches, parse, render
from scanner.remediation import FORMATS, RemediationContext, remediation_for

ACCOUNT = "111122223333"
HOME = "us-east-1"  # the trail's home region
REGION = "eu-west-1"  # the log group's region
TRAIL_ARN = f"arn:aws:cloudtrail:{HOME}:{ACCOUNT}:trail/main"
LOG_GROUP = "org-trail's logs"  # a quote to exercise the quoting of every format
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:ops"
ALARM_ARN = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:iam-alarm"
RULE = "iam-policy-changes"

OK, BROKEN, MISSING = LinkStatus.OK, LinkStatus.BROKEN, LinkStatus.MISSING


def rule(rule_id: str = RULE) -> Rule:
    return load_catalog().rule(rule_id)


# --------------------------------------------------------------------------------------------
# Reading the outputs.


def commands(cli: str) -> list[list[str]]:
    """The CLI text as the shell runs it: continuation lines joined, comments dropped."""
    lines = cli.replace("\\\n", " ").splitlines()
    return [shlex.split(line) for line in lines if line.strip() and not line.startswith("#")]


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def only(cli: str, *words: str) -> list[str]:
    """The one command starting with ``aws <words>``."""
    found = [c for c in commands(cli) if c[1 : 1 + len(words)] == list(words)]
    assert len(found) == 1, cli
    return found[0]


def verbs(cli: str) -> list[str]:
    return [" ".join(c[1:3]) for c in commands(cli)]


# --------------------------------------------------------------------------------------------
# Findings: through the evaluator, and by hand for precise chains.


def inventory(
    *, filters: tuple[Any, ...] = (), topics: Mapping[str, Topic] | None = None
) -> Inventory:
    trail = Trail(
        name="main",
        arn=TRAIL_ARN,
        home_region=HOME,
        is_multi_region=True,
        is_logging=True,
        event_selectors=(EventSelector(),),
        advanced_event_selectors=(),
        log_group_arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}:*",
    )
    regions = {
        HOME: Region(trails=(trail,)),
        REGION: Region(
            trails=(trail,),
            log_groups={LOG_GROUP: LogGroup(LOG_GROUP, metric_filters=filters)},
            alarms=(),
            topics=dict(topics or {}),
        ),
    }
    return Inventory(accounts=(Account(id=ACCOUNT, name="prod", regions=regions),))


def evaluated(inv: Inventory, rule_id: str = RULE) -> Finding:
    return next(f for f in evaluate(inv) if f.rule == rule_id)


def subscribed(arn: str) -> dict[str, Topic]:
    confirmed = Subscription(f"{arn}:sub", "email", "ops@example.com", True)
    return {arn: Topic(arn, subscriptions=(confirmed,))}


def made(
    broken: Link,
    after: LinkStatus = OK,
    *,
    rule_id: str = RULE,
    topic: str = TOPIC,
    also: Mapping[Link, LinkStatus] | None = None,
) -> Finding:
    """A FAIL finding: links before ``broken`` ok, ``broken`` broken, the later ones ``after``.

    ``also`` overrides the status of some later links.
    """
    where: dict[Link, tuple[str, str]] = {
        Link.TRAIL: (TRAIL_ARN, HOME),
        Link.LOGGING: (TRAIL_ARN, HOME),
        Link.SELECTORS: (TRAIL_ARN, HOME),
        Link.LOG_GROUP: (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}", REGION),
        Link.FILTER: ("iam-filter", REGION),
        Link.ALARM: (ALARM_ARN, REGION),
        Link.ALARM_CONDITION: (ALARM_ARN, REGION),
        Link.ACTIONS: (ALARM_ARN, REGION),
        Link.TOPIC: (topic, REGION),
        Link.SUBSCRIBER: (topic, REGION),
    }
    chain = []
    for link in Link:
        status = OK if link.position < broken.position else BROKEN if link is broken else after
        status = (also or {}).get(link, status)
        resource, region = where[link] if status is not MISSING else ("", None)
        chain.append(LinkResult(link, status, resource, ACCOUNT, region, "detail"))
    return Finding(
        account_id=ACCOUNT,
        account_name="prod",
        rule=rule_id,
        title=rule(rule_id).title,
        severity="high",
        profile="recommended",
        status=Status.FAIL,
        reason="detail",
        broken_link=broken,
        chain=tuple(chain),
    )


# Everything the evaluator knows about a complete chain.
FULL = {
    "account_id": ACCOUNT,
    "partition": "aws",
    "region": REGION,
    "trail_name": "main",
    "log_group_name": LOG_GROUP,
    "filter_name": "iam-filter",
    "metric_name": "IamChanges",
    "metric_namespace": "Security",
    "alarm_name": "iam-alarm",
}


def fix(finding: Finding, context: Mapping[str, str] = FULL) -> dict[str, str]:
    r = rule(finding.rule)
    return remediation_for(finding, r, r.accepted_in(finding.profile)[0], context)


# --------------------------------------------------------------------------------------------
# A missing filter: the account's names, an alarm that fires on one event, the right pattern.


def test_filter_fix_uses_the_accounts_log_group_region_and_a_pattern_covering_the_reference() -> (
    None
):
    finding = evaluated(inventory(topics=subscribed(TOPIC)))
    assert finding.status is Status.FAIL and finding.broken_link is Link.FILTER
    cli = finding.remediation["cli"]

    put = only(cli, "logs", "put-metric-filter")
    assert option(put, "--log-group-name") == LOG_GROUP
    assert option(put, "--region") == REGION
    pattern = option(put, "--filter-pattern")
    reference = rule().reference(finding.reference or "")
    assert covers(parse(pattern), reference.pattern).covered
    transformation = json.loads(option(put, "--metric-transformations"))
    assert transformation == [
        {"metricName": "IAMPolicyChanges", "metricNamespace": "CISBenchmark", "metricValue": "1"}
    ]

    assert (
        "--statistic Sum --period 300 --threshold 1 "
        "--comparison-operator GreaterThanOrEqualToThreshold" in cli
    )
    alarm = only(cli, "cloudwatch", "put-metric-alarm")
    assert option(alarm, "--region") == REGION
    assert option(alarm, "--metric-name") == "IAMPolicyChanges"
    assert option(alarm, "--namespace") == "CISBenchmark"
    assert option(alarm, "--evaluation-periods") == "1"
    assert set(FORMATS) == set(finding.remediation)


def test_a_known_subscribed_topic_is_reused_and_nothing_is_left_to_fill_in() -> None:
    cli = evaluated(inventory(topics=subscribed(TOPIC))).remediation["cli"]
    assert option(only(cli, "cloudwatch", "put-metric-alarm"), "--alarm-actions") == TOPIC
    assert verbs(cli) == ["logs put-metric-filter", "cloudwatch put-metric-alarm"]
    assert "<" not in cli


def test_without_a_known_topic_one_is_created_and_the_unknown_is_a_placeholder() -> None:
    cli = evaluated(inventory()).remediation["cli"]
    assert verbs(cli) == [
        "logs put-metric-filter",
        "sns create-topic",
        "sns subscribe",
        "cloudwatch put-metric-alarm",
    ]
    subscribe = only(cli, "sns", "subscribe")
    assert option(subscribe, "--notification-endpoint") == "<EMAIL_ADDRESS>"
    name = option(only(cli, "sns", "create-topic"), "--name")
    created = f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"
    assert option(subscribe, "--topic-arn") == created
    assert option(only(cli, "cloudwatch", "put-metric-alarm"), "--alarm-actions") == created
    assert "Replace every <PLACEHOLDER>" in cli


def test_a_subscribed_topic_in_another_region_is_not_used_by_the_alarm() -> None:
    elsewhere = f"arn:aws:sns:{HOME}:{ACCOUNT}:ops"
    cli = evaluated(inventory(topics=subscribed(elsewhere))).remediation["cli"]
    assert "sns create-topic" in verbs(cli)
    assert elsewhere not in cli


def test_the_intended_reading_replaces_a_broken_published_text() -> None:
    r = rule("unauthorized-api-calls")
    broken = r.reference("cis_v1.3.0-v1.5.0")
    assert broken.broken
    finding = made(Link.FILTER, MISSING, rule_id=r.id)
    context = {"account_id": ACCOUNT, "region": REGION, "trail_name": "main"}
    context["log_group_name"] = LOG_GROUP
    cli = remediation_for(finding, r, broken, context)["cli"]
    pattern = option(only(cli, "logs", "put-metric-filter"), "--filter-pattern")
    intended = r.reference("intended:cis_v1.3.0-v5.0.0")
    assert pattern == render(intended.pattern)
    # The broken text matches nearly every event; the fix does not.
    assert matches(broken.pattern, {"eventName": "DescribeInstances"})
    assert not matches(pattern, {"eventName": "DescribeInstances"})


def test_a_foreign_filter_is_left_alone_and_the_rules_own_filter_and_alarm_are_added() -> None:
    cli = fix(made(Link.FILTER, OK))["cli"]
    assert verbs(cli) == ["logs put-metric-filter", "cloudwatch put-metric-alarm"]
    put = only(cli, "logs", "put-metric-filter")
    assert option(put, "--filter-name") == "IAMPolicyChangesFilter"
    alarm = only(cli, "cloudwatch", "put-metric-alarm")
    assert option(alarm, "--alarm-name") == "IAMPolicyChangesAlarm"
    assert option(alarm, "--metric-name") == "IAMPolicyChanges"
    assert option(alarm, "--alarm-actions") == TOPIC  # the working topic of the chain


def test_the_rules_own_filter_is_rewritten_in_place_and_keeps_its_working_alarm() -> None:
    context = {**FULL, "filter_name": "IAMPolicyChangesFilter"}
    cli = fix(made(Link.FILTER, OK), context)["cli"]
    assert verbs(cli) == ["logs put-metric-filter"]
    put = only(cli, "logs", "put-metric-filter")
    assert option(put, "--filter-name") == "IAMPolicyChangesFilter"
    transformation = json.loads(option(put, "--metric-transformations"))[0]
    assert (transformation["metricName"], transformation["metricNamespace"]) == (
        "IamChanges",
        "Security",
    )


# --------------------------------------------------------------------------------------------
# One fix per broken link.


def test_a_subscriber_broken_finding_only_subscribes_to_the_alarms_topic() -> None:
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:alarm's topic"
    cli = fix(made(Link.SUBSCRIBER, topic=topic), {**FULL, "topic_arn": TOPIC})["cli"]
    assert verbs(cli) == ["sns subscribe"]
    subscribe = only(cli, "sns", "subscribe")
    assert option(subscribe, "--topic-arn") == topic
    assert option(subscribe, "--region") == REGION


def test_a_logging_broken_finding_only_starts_the_trail_in_its_home_region() -> None:
    cli = fix(made(Link.LOGGING))["cli"]
    assert verbs(cli) == ["cloudtrail start-logging"]
    start = only(cli, "cloudtrail", "start-logging")
    assert option(start, "--name") == "main"
    assert option(start, "--region") == HOME


def test_a_single_region_trail_is_made_multi_region() -> None:
    cli = fix(made(Link.TRAIL))["cli"]
    assert verbs(cli) == ["cloudtrail update-trail"]
    update = only(cli, "cloudtrail", "update-trail")
    assert "--is-multi-region-trail" in update
    assert option(update, "--region") == HOME


def test_selectors_are_set_to_all_management_events() -> None:
    cli = fix(made(Link.SELECTORS))["cli"]
    put = only(cli, "cloudtrail", "put-event-selectors")
    assert option(put, "--event-selectors") == "ReadWriteType=All,IncludeManagementEvents=true"
    assert option(put, "--trail-name") == "main"


def test_a_wrong_alarm_condition_is_corrected_on_the_same_alarm_and_metric() -> None:
    cli = fix(made(Link.ALARM_CONDITION))["cli"]
    assert verbs(cli) == ["cloudwatch put-metric-alarm"]
    alarm = only(cli, "cloudwatch", "put-metric-alarm")
    assert option(alarm, "--alarm-name") == "iam-alarm"
    assert (option(alarm, "--metric-name"), option(alarm, "--namespace")) == (
        "IamChanges",
        "Security",
    )
    assert option(alarm, "--alarm-actions") == TOPIC


def test_disabled_actions_are_enabled_and_a_missing_sns_action_is_added() -> None:
    disabled = fix(made(Link.ACTIONS))["cli"]
    assert verbs(disabled) == ["cloudwatch enable-alarm-actions"]
    assert option(only(disabled, "cloudwatch", "enable-alarm-actions"), "--alarm-names") == (
        "iam-alarm"
    )
    # No SNS action: the chain never reached a topic.
    no_sns = fix(made(Link.ACTIONS, MISSING), {**FULL, "topic_arn": TOPIC})["cli"]
    assert verbs(no_sns) == ["cloudwatch put-metric-alarm"]
    alarm = only(no_sns, "cloudwatch", "put-metric-alarm")
    assert "--actions-enabled" in alarm
    assert option(alarm, "--alarm-actions") == TOPIC


def test_a_missing_topic_is_recreated_under_the_name_the_alarm_uses() -> None:
    cli = fix(made(Link.TOPIC, MISSING))["cli"]
    assert verbs(cli) == ["sns create-topic", "sns subscribe"]
    assert option(only(cli, "sns", "create-topic"), "--name") == "ops"
    assert option(only(cli, "sns", "subscribe"), "--topic-arn") == TOPIC


def test_a_trail_without_delivery_gets_a_log_group_role_filter_and_alarm() -> None:
    context = {"account_id": ACCOUNT, "partition": "aws", "region": HOME, "trail_name": "main"}
    cli = fix(made(Link.LOG_GROUP, MISSING), context)["cli"]
    assert verbs(cli) == [
        "logs create-log-group",
        "iam create-role",
        "iam put-role-policy",
        "cloudtrail update-trail",
        "logs put-metric-filter",
        "sns create-topic",
        "sns subscribe",
        "cloudwatch put-metric-alarm",
    ]
    group = option(only(cli, "logs", "create-log-group"), "--log-group-name")
    update = only(cli, "cloudtrail", "update-trail")
    assert option(update, "--cloud-watch-logs-log-group-arn") == (
        f"arn:aws:logs:{HOME}:{ACCOUNT}:log-group:{group}:*"
    )
    role = option(only(cli, "iam", "create-role"), "--role-name")
    assert option(update, "--cloud-watch-logs-role-arn") == f"arn:aws:iam::{ACCOUNT}:role/{role}"
    trust = json.loads(option(only(cli, "iam", "create-role"), "--assume-role-policy-document"))
    assert trust["Statement"][0]["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert option(only(cli, "logs", "put-metric-filter"), "--log-group-name") == group


def test_an_account_without_a_trail_gets_one_and_the_unknown_bucket_is_a_placeholder() -> None:
    inv = Inventory(accounts=(Account(id=ACCOUNT, name="prod", regions={HOME: Region()}),))
    finding = evaluated(inv)
    assert finding.broken_link is Link.TRAIL
    cli = finding.remediation["cli"]
    create = only(cli, "cloudtrail", "create-trail")
    assert option(create, "--s3-bucket-name") == "<S3_BUCKET_NAME>"
    assert "--is-multi-region-trail" in create
    assert verbs(cli)[:2] == ["cloudtrail create-trail", "cloudtrail start-logging"]
    assert "cloudwatch put-metric-alarm" in verbs(cli)
    assert option(create, "--region") == "<REGION>"  # no trail, no topic: nothing to go by


def test_pass_and_error_findings_have_no_remediation() -> None:
    finding = made(Link.FILTER)
    for status in (Status.PASS, Status.ERROR):
        passing = dataclasses.replace(finding, status=status, broken_link=None)
        assert fix(passing) == {}


def test_an_unknown_context_key_is_refused() -> None:
    with pytest.raises(ValueError, match="tpoic_arn"):
        RemediationContext.of({"account_id": ACCOUNT, "tpoic_arn": TOPIC})


def test_every_rules_fix_is_a_pattern_cloudwatch_accepts_and_that_covers_its_reference() -> None:
    for r in load_catalog().rules:
        for profile in r.profiles:
            reference = r.accepted_in(profile)[0]
            finding = made(Link.FILTER, MISSING, rule_id=r.id)
            cli = remediation_for(finding, r, reference, {"account_id": ACCOUNT})["cli"]
            pattern = option(only(cli, "logs", "put-metric-filter"), "--filter-pattern")
            assert len(pattern) <= 1024, (r.id, profile)  # the CloudWatch Logs limit
            assert covers(parse(pattern), reference.pattern).covered, (r.id, profile)


# --------------------------------------------------------------------------------------------
# Terraform and CloudFormation parse, and say the same thing (when the parsers are installed).

needs_hcl2 = pytest.mark.skipif(
    importlib.util.find_spec("hcl2") is None, reason="python-hcl2 is not installed"
)
needs_yaml = pytest.mark.skipif(
    importlib.util.find_spec("yaml") is None, reason="PyYAML is not installed"
)


def hcl_string(value: str) -> str:
    """A string attribute as python-hcl2 returns it (quoted in recent versions)."""
    if not value.startswith('"'):
        return value
    decoded: str = json.loads(value.replace("$${", "${").replace("%%{", "%{"))
    return decoded


def resources(parsed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"<type>.<label>": attributes}`` from python-hcl2's output."""
    found = {}
    for entry in parsed.get("resource", []):
        for kind, by_label in entry.items():
            for label, body in by_label.items():
                found[f"{hcl_string(kind)}.{hcl_string(label)}"] = body
    return found


@needs_hcl2
def test_terraform_parses_and_declares_the_whole_fix() -> None:
    import hcl2

    r = rule()
    context = {"account_id": ACCOUNT, "region": HOME, "trail_name": "main"}
    text = fix(made(Link.LOG_GROUP, MISSING), context)["terraform"]
    declared = resources(hcl2.loads(text))
    assert set(declared) == {
        "aws_cloudwatch_log_group.cloudtrail",
        "aws_iam_role.cloudtrail_to_cloudwatch_logs",
        "aws_iam_role_policy.cloudtrail_to_cloudwatch_logs",
        "aws_cloudtrail.main",
        "aws_cloudwatch_log_metric_filter.iam_policy_changes",
        "aws_sns_topic.alarms",
        "aws_sns_topic_subscription.alarms",
        "aws_cloudwatch_metric_alarm.iam_policy_changes",
    }
    pattern = hcl_string(declared["aws_cloudwatch_log_metric_filter.iam_policy_changes"]["pattern"])
    assert pattern == render(r.accepted_in("recommended")[0].pattern)
    alarm = declared["aws_cloudwatch_metric_alarm.iam_policy_changes"]
    assert (alarm["threshold"], alarm["period"], alarm["evaluation_periods"]) == (1, 300, 1)
    assert hcl_string(alarm["comparison_operator"]) == "GreaterThanOrEqualToThreshold"
    assert hcl_string(alarm["statistic"]) == "Sum"
    trail = declared["aws_cloudtrail.main"]
    assert trail["is_multi_region_trail"] is True and trail["enable_logging"] is True


@needs_hcl2
def test_terraform_keeps_quotes_in_the_accounts_names() -> None:
    import hcl2

    text = fix(made(Link.FILTER, MISSING))["terraform"]
    declared = resources(hcl2.loads(text))
    metric_filter = declared["aws_cloudwatch_log_metric_filter.iam_policy_changes"]
    assert hcl_string(metric_filter["log_group_name"]) == LOG_GROUP
    assert (
        parse(hcl_string(metric_filter["pattern"])) == rule().accepted_in("recommended")[0].pattern
    )


@needs_yaml
def test_cloudformation_is_yaml_with_the_same_fix() -> None:
    import yaml

    r = rule()
    text = fix(made(Link.FILTER, MISSING))["cloudformation"]
    (document,) = list(yaml.safe_load_all(text))
    found = document["Resources"]
    metric_filter = found["IamPolicyChangesFilter"]["Properties"]
    assert metric_filter["LogGroupName"] == LOG_GROUP
    assert parse(metric_filter["FilterPattern"]) == r.accepted_in("recommended")[0].pattern
    alarm = found["IamPolicyChangesAlarm"]["Properties"]
    assert (alarm["Threshold"], alarm["Period"], alarm["Statistic"]) == (1, 300, "Sum")
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert found["AlarmTopicSubscription"]["Properties"]["Endpoint"] == "<EMAIL_ADDRESS>"


@needs_yaml
def test_cloudformation_puts_each_region_in_its_own_stack() -> None:
    import yaml

    text = fix(made(Link.LOGGING, also={Link.FILTER: BROKEN}))["cloudformation"]
    documents = list(yaml.safe_load_all(text))
    types = [sorted(r["Type"] for r in d["Resources"].values()) for d in documents]
    assert types[0] == ["AWS::CloudTrail::Trail"]
    assert "AWS::CloudWatch::Alarm" in types[1]
    assert f"Stack in region {HOME}" in text and f"Stack in region {REGION}" in text


def test_the_console_steps_are_numbered_and_name_the_accounts_resources() -> None:
    console = evaluated(inventory(topics=subscribed(TOPIC))).remediation["console"]
    lines = console.splitlines()
    assert lines[1].startswith("1. ") and f'"{LOG_GROUP}"' in lines[1]
    assert any(line.startswith("2. ") and "Alarms" in line for line in lines)
    assert TOPIC in console


@pytest.mark.parametrize("broken", list(Link), ids=str)
@pytest.mark.parametrize("after", [OK, MISSING, BROKEN], ids=str)
def test_every_broken_link_gives_runnable_commands_and_parseable_code(
    broken: Link, after: LinkStatus
) -> None:
    out = fix(made(broken, after), {**FULL, "topic_arn": TOPIC})
    cli = commands(out["cli"])
    assert cli, out["cli"]
    for command in cli:
        assert command[0] == "aws" and option(command, "--region") in (HOME, REGION)
    assert out["console"].splitlines()[1].startswith("1. ")
    if importlib.util.find_spec("hcl2") is not None:
        import hcl2

        assert resources(hcl2.loads(out["terraform"]))
    if importlib.util.find_spec("yaml") is not None:
        import yaml

        assert all(d["Resources"] for d in yaml.safe_load_all(out["cloudformation"]))
