"""Build emulated organizations in moto's server through boto3, as a user would with the CLI.

Accounts act through the credentials that sts:AssumeRole returns for a role in them (moto makes
those act in the role's account). Each account gets the chain a rule needs, or a break of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

from scanner.testing.builders import organization_publish_policy

MANAGEMENT = "123456789012"  # moto's default account: the caller of the fake credentials
ROLE = "OrganizationAccountAccessRole"

PATTERNS = {
    "root-account-usage": (
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
        '&& $.eventType != "AwsServiceEvent" }'
    ),
    "cloudtrail-config-changes": (
        "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || "
        "($.eventName = DeleteTrail) || ($.eventName = StartLogging) || "
        "($.eventName = StopLogging) }"
    ),
}


@dataclass
class AccountHandle:
    """boto3 clients acting in one account."""

    account_id: str
    keys: dict[str, str] = field(default_factory=dict)

    def client(self, service: str, region: str = "us-east-1") -> Any:
        return boto3.client(service, region_name=region, **self.keys)


def management() -> AccountHandle:
    return AccountHandle(MANAGEMENT)


def enter(account_id: str) -> AccountHandle:
    if account_id == MANAGEMENT:
        return management()
    sts = boto3.client("sts", region_name="us-east-1")
    arn = f"arn:aws:iam::{account_id}:role/{ROLE}"
    keys = sts.assume_role(RoleArn=arn, RoleSessionName="fixture")["Credentials"]
    return AccountHandle(
        account_id,
        {
            "aws_access_key_id": keys["AccessKeyId"],
            "aws_secret_access_key": keys["SecretAccessKey"],
            "aws_session_token": keys["SessionToken"],
        },
    )


def organization(*member_names: str, ou: str | None = None) -> dict[str, str]:
    """An organization run from the management account; member name -> account id."""
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    parent = root
    if ou is not None:
        parent = org.create_organizational_unit(ParentId=root, Name=ou)["OrganizationalUnit"]["Id"]
    ids = {}
    for name in member_names:
        status = org.create_account(Email=f"{name}@example.com", AccountName=name)
        account_id = status["CreateAccountStatus"]["AccountId"]
        if parent != root:
            org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=parent)
        ids[name] = account_id
    return ids


def topic(
    account: AccountHandle,
    name: str = "alerts",
    *,
    confirmed: bool = True,
    policy: str | None = None,
    kms_key: str | None = None,
    filter_policy: str | None = None,
    filter_scope: str = "MessageAttributes",
    organization_grant: bool = False,
) -> str:
    """A topic with one e-mail subscription (moto confirms it at once); ``policy`` replaces
    SNS's default access policy, ``organization_grant`` adds to it the grant a central topic
    needs (CloudWatch may publish for every account of the organization), ``kms_key`` encrypts
    it, ``filter_policy`` filters the subscription in ``filter_scope``."""
    sns = account.client("sns")
    attributes = {"KmsMasterKeyId": kms_key} if kms_key else {}
    arn: str = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    if organization_grant:
        organization = boto3.client("organizations", region_name="us-east-1")
        organization_id = organization.describe_organization()["Organization"]["Id"]
        policy = organization_publish_policy(arn, organization_id)
    if policy is not None:
        sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=policy)
    if confirmed:
        sub = {"FilterPolicy": filter_policy, "FilterPolicyScope": filter_scope}
        sns.subscribe(
            TopicArn=arn,
            Protocol="email",
            Endpoint="secops@example.com",
            Attributes=sub if filter_policy is not None else {},
        )
    return arn


def key(account: AccountHandle, *statements: dict[str, Any], enabled: bool = True) -> str:
    """A customer managed KMS key whose policy is the account's root statement plus
    ``statements``; returns its ARN."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account.account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            *statements,
        ],
    }
    kms = account.client("kms")
    created = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]
    if not enabled:
        kms.disable_key(KeyId=created["KeyId"])
    return str(created["Arn"])


def chain(
    account: AccountHandle,
    *,
    name: str = "main",
    rules: tuple[str, ...] = ("root-account-usage",),
    organization_trail: bool = False,
    multi_region: bool = True,
    logging: bool = True,
    topic_arn: str | None = None,
    region: str = "us-east-1",
) -> dict[str, str]:
    """A trail into a log group, a filter and an alarm per rule, notifying a topic."""
    logs = account.client("logs", region)
    group = f"{name}-trail-logs"
    logs.create_log_group(logGroupName=group)
    group_arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"]
    bucket = f"{name}-trail-{account.account_id}"
    s3 = account.client("s3", region)
    s3.create_bucket(Bucket=bucket)
    cloudtrail = account.client("cloudtrail", region)
    trail = cloudtrail.create_trail(
        Name=name,
        S3BucketName=bucket,
        IsMultiRegionTrail=multi_region,
        IsOrganizationTrail=organization_trail,
        CloudWatchLogsLogGroupArn=group_arn,
        CloudWatchLogsRoleArn=f"arn:aws:iam::{account.account_id}:role/trail-to-logs",
    )
    cloudtrail.put_event_selectors(
        TrailName=name,
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}],
    )
    if logging:
        cloudtrail.start_logging(Name=name)
    if topic_arn is None:
        topic_arn = topic(account, f"{name}-alerts")
    cloudwatch = account.client("cloudwatch", region)
    for rule in rules:
        logs.put_metric_filter(
            logGroupName=group,
            filterName=rule,
            filterPattern=PATTERNS[rule],
            metricTransformations=[
                {"metricName": rule, "metricNamespace": "CISBenchmark", "metricValue": "1"}
            ],
        )
        cloudwatch.put_metric_alarm(
            AlarmName=f"{name}-{rule}",
            MetricName=rule,
            Namespace="CISBenchmark",
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=[topic_arn],
        )
    return {"trail": trail["TrailARN"], "log_group": group, "topic": topic_arn}
