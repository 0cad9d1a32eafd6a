"""The plan: which steps repair a failing finding, and the values they are written with.

Read through the CLI text, the most literal of the formats: the commands a user would run.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from remediation.remediation_cases import (
    ACCOUNT,
    FULL,
    HOME,
    LOG_GROUP,
    MISSING,
    OK,
    REGION,
    TOPIC,
    evaluated,
    fix,
    inventory,
    made,
    only,
    option,
    rule,
    subscribed,
    verbs,
)

from scanner.catalog import load_catalog
from scanner.model import Account, Inventory, Link, Region, Status
from scanner.patterns import covers, matches, parse, render
from scanner.remediation import FORMATS, RemediationContext, remediation_for

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
