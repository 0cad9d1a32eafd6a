"""End-to-end: the chain is followed past "the topic has a confirmed subscriber", through moto.

moto stores topic policies, KMS keys and their policies, and subscription filter policies, but
enforces none of them on an alarm's publish (it never publishes one): these tests build the
real policies and check the scanner's verdicts, which is what AWS would do with them. moto has
no AWS managed keys (DescribeKey of alias/aws/sns is NotFound there); the scanner tells that key
by its reserved alias without describing it, as on AWS, so nothing is patched for it.
"""

from __future__ import annotations

import json
from typing import Any

from e2e import emulated_org as org
from e2e import faults
from e2e.test_scan import findings, scan
from moto.sns.responses import SNSResponse

from scanner.model import Finding, Link, LinkStatus, Status

ROOT = "root-account-usage"
TRAIL_CHANGES = "cloudtrail-config-changes"
CLOUDWATCH = {"Service": "cloudwatch.amazonaws.com"}


def grant(topic_arn: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "Sid": "AlarmsOfOtherAccounts",
        "Effect": "Allow",
        "Principal": CLOUDWATCH,
        "Action": "sns:Publish",
        "Resource": topic_arn,
        "Condition": condition,
    }


def with_statements(topic_arn: str, owner: str, *statements: dict[str, Any]) -> str:
    """SNS's default policy for the topic, plus ``statements``."""
    default = {
        "Sid": "__default_statement_ID",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": ["SNS:GetTopicAttributes", "SNS:Subscribe", "SNS:Publish"],
        "Resource": topic_arn,
        "Condition": {"StringEquals": {"AWS:SourceOwner": owner}},
    }
    return json.dumps({"Version": "2008-10-17", "Statement": [default, *statements]})


def link(finding: Finding, which: Link) -> tuple[LinkStatus, str]:
    found = next(r for r in finding.chain if r.link is which)
    return found.status, found.detail


def management_with_topic(**topic: Any) -> dict[str, Finding]:
    arn = org.topic(org.management(), "alerts", **topic)
    org.chain(org.management(), rules=(ROOT, TRAIL_CHANGES), topic_arn=arn)
    return findings(scan(), org.MANAGEMENT)


KEY_STATEMENT = {
    "Sid": "AllowCloudWatchAlarms",
    "Effect": "Allow",
    "Principal": CLOUDWATCH,
    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
    "Resource": "*",
}


def test_a_topic_encrypted_with_the_aws_managed_key_notifies_nobody(aws: str) -> None:
    finding = management_with_topic(kms_key="alias/aws/sns")[ROOT]

    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.TOPIC_KEY
    assert "AWS managed key alias/aws/sns" in finding.reason
    assert "CloudWatch cannot use" in finding.reason


def test_a_customer_key_must_let_cloudwatch_use_it(aws: str) -> None:
    key = org.key(org.management())
    finding = management_with_topic(kms_key=key)[ROOT]

    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.TOPIC_KEY
    assert key in finding.reason and "CloudWatch" in finding.reason


def test_a_customer_key_that_grants_cloudwatch_passes(aws: str) -> None:
    key = org.key(org.management(), KEY_STATEMENT)
    finding = management_with_topic(kms_key=key)[ROOT]

    assert finding.status is Status.PASS, finding.reason
    assert link(finding, Link.TOPIC_KEY)[0] is LinkStatus.OK


def test_a_disabled_key_notifies_nobody(aws: str) -> None:
    key = org.key(org.management(), KEY_STATEMENT, enabled=False)
    finding = management_with_topic(kms_key=key)[ROOT]

    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.TOPIC_KEY
    assert "Disabled" in finding.reason


def test_an_explicit_deny_in_the_topic_policy_wins(aws: str) -> None:
    arn = f"arn:aws:sns:us-east-1:{org.MANAGEMENT}:alerts"
    deny = {
        "Sid": "NoPublishFromServices",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sns:Publish",
        "Resource": arn,
        "Condition": {"Bool": {"aws:PrincipalIsAWSService": "true"}},
    }
    finding = management_with_topic(policy=with_statements(arn, org.MANAGEMENT, deny))[ROOT]

    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.TOPIC_POLICY
    assert "NoPublishFromServices" in finding.reason


def cross_account(policy: str | None = None, **topic: Any) -> tuple[Finding, str]:
    """A member whose alarms notify a topic of the security account; its finding for ROOT."""
    ids = org.organization("alpha", "security")
    security = org.enter(ids["security"])
    arn = f"arn:aws:sns:us-east-1:{ids['security']}:central-alerts"
    if policy is not None:
        policy = policy.replace("{topic}", arn).replace("{owner}", ids["security"])
        policy = policy.replace("{member}", ids["alpha"])
    org.topic(security, "central-alerts", policy=policy, **topic)
    org.chain(org.enter(ids["alpha"]), rules=(ROOT,), topic_arn=arn)
    return findings(scan(organization=True), ids["alpha"])[ROOT], ids["alpha"]


def test_a_cross_account_topic_with_the_default_policy_refuses_the_alarm(aws: str) -> None:
    finding, member = cross_account()

    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.TOPIC_POLICY
    assert f"the alarm is in account {member}" in finding.reason
    assert "needs a grant" in finding.reason


def test_a_cross_account_grant_by_source_account_passes(aws: str) -> None:
    statement = grant("{topic}", {"StringEquals": {"aws:SourceAccount": "{member}"}})
    finding, _ = cross_account(with_statements("{topic}", "{owner}", statement))

    assert finding.status is Status.PASS, finding.reason
    status, detail = link(finding, Link.TOPIC_POLICY)
    assert status is LinkStatus.OK and "AlarmsOfOtherAccounts" in detail


def test_a_cross_account_grant_by_organization_passes(aws: str) -> None:
    import boto3

    ids = org.organization("alpha", "security")
    organization_id = boto3.client("organizations").describe_organization()["Organization"]["Id"]
    security = org.enter(ids["security"])
    arn = f"arn:aws:sns:us-east-1:{ids['security']}:central-alerts"
    statement = grant(arn, {"StringEquals": {"aws:SourceOrgID": organization_id}})
    org.topic(security, "central-alerts", policy=with_statements(arn, ids["security"], statement))
    org.chain(org.enter(ids["alpha"]), rules=(ROOT,), topic_arn=arn)

    finding = findings(scan(organization=True), ids["alpha"])[ROOT]

    assert finding.status is Status.PASS, finding.reason
    assert "AlarmsOfOtherAccounts" in link(finding, Link.TOPIC_POLICY)[1]


def test_a_condition_the_scanner_cannot_know_is_an_error_naming_it(aws: str) -> None:
    statement = grant("{topic}", {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})
    finding, _ = cross_account(with_statements("{topic}", "{owner}", statement))

    assert finding.status is Status.ERROR
    assert "aws:SourceIp" in finding.reason


def test_an_attribute_filter_policy_drops_every_alarm(aws: str) -> None:
    result = management_with_topic(filter_policy='{"severity": ["high"]}')

    for rule in (ROOT, TRAIL_CHANGES):
        assert result[rule].status is Status.FAIL
        assert result[rule].broken_link is Link.DELIVERY
        assert "severity" in result[rule].reason


def test_a_body_filter_passes_some_alarms_of_the_account_and_drops_others(aws: str) -> None:
    body_filter = json.dumps({"AlarmName": [{"prefix": f"main-{ROOT}"}]})
    result = management_with_topic(filter_policy=body_filter, filter_scope="MessageBody")

    assert result[ROOT].status is Status.PASS, result[ROOT].reason
    assert result[TRAIL_CHANGES].status is Status.FAIL
    assert result[TRAIL_CHANGES].broken_link is Link.DELIVERY
    assert "AlarmName" in result[TRAIL_CHANGES].reason


def test_an_unreadable_topic_policy_is_an_error_quoting_the_call(
    aws: str, monkeypatch: Any
) -> None:
    faults.inject(monkeypatch, SNSResponse, "get_topic_attributes", "AuthorizationError", "no")
    finding = management_with_topic()[ROOT]

    assert finding.status is Status.ERROR
    assert "GetTopicAttributes" in finding.reason


def test_each_topic_and_subscription_is_read_once(aws: str) -> None:
    arn = org.topic(org.management(), "alerts")
    org.chain(org.management(), rules=(ROOT, TRAIL_CHANGES), topic_arn=arn)

    result = scan()

    counts = result.stats.by_account()[org.MANAGEMENT]
    assert counts["sns:GetTopicAttributes"] == 1
    assert counts["sns:GetSubscriptionAttributes"] == 1
    assert "kms:DescribeKey" not in counts  # not encrypted: nothing to describe
