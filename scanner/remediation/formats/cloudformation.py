"""The CloudFormation format: one stack per region, declaring the resources the fix changes.

A resource that exists already (the trail, the rule's own filter, an alarm kept by name) carries a
comment saying to import it into the stack first.
"""

from __future__ import annotations

import re
import textwrap

from scanner.remediation.formats._text import (
    PLACEHOLDER_NOTE,
    Block,
    fill,
    has_placeholders,
    header,
)
from scanner.remediation.plan import FindingPlan, Resource


def quote(value: str) -> str:
    """A single-quoted YAML scalar (a ``'`` is doubled)."""
    return "'" + value.replace("'", "''") + "'"


RESOURCES: dict[Resource, str] = {
    "trail": """\
${trail_note}Trail:
  Type: AWS::CloudTrail::Trail
  DeletionPolicy: Retain
  Properties:
    TrailName: ${trail_name}
    S3BucketName: ${s3_bucket}
    IsLogging: true
    IsMultiRegionTrail: true
    IncludeGlobalServiceEvents: true
    CloudWatchLogsLogGroupArn: ${log_group_arn}
    CloudWatchLogsRoleArn: ${role_arn}
    EventSelectors:
      - ReadWriteType: All
        IncludeManagementEvents: true""",
    "log_group": """\
CloudTrailLogGroup:
  Type: AWS::Logs::LogGroup
  Properties:
    LogGroupName: ${log_group_name}""",
    "role": """\
CloudTrailLogsRole:
  Type: AWS::IAM::Role
  Properties:
    RoleName: ${role_name}
    AssumeRolePolicyDocument:
      Version: '2012-10-17'
      Statement:
        - Effect: Allow
          Principal: {Service: cloudtrail.amazonaws.com}
          Action: 'sts:AssumeRole'
    Policies:
      - PolicyName: ${role_policy_name}
        PolicyDocument:
          Version: '2012-10-17'
          Statement:
            - Effect: Allow
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents']
              Resource: ${log_streams_arn}""",
    "filter": """\
${filter_note}${logical}Filter:
  Type: AWS::Logs::MetricFilter
  Properties:
    FilterName: ${filter_name}
    LogGroupName: ${log_group_ref}
    FilterPattern: ${pattern}
    MetricTransformations:
      - MetricName: ${metric_name}
        MetricNamespace: ${metric_namespace}
        MetricValue: '1'""",
    "alarm": """\
${alarm_note}${logical}Alarm:
  Type: AWS::CloudWatch::Alarm
  Properties:
    AlarmName: ${alarm_name}
    AlarmDescription: ${alarm_description}
    Namespace: ${metric_namespace}
    MetricName: ${metric_name}
    Statistic: Sum
    Period: 300
    EvaluationPeriods: 1
    DatapointsToAlarm: 1
    Threshold: 1
    ComparisonOperator: GreaterThanOrEqualToThreshold
    TreatMissingData: notBreaching
    ActionsEnabled: true
    AlarmActions:
      - ${topic_arn}""",
    "topic": """\
AlarmTopic:
  Type: AWS::SNS::Topic
  Properties:
    TopicName: ${topic_name}
AlarmTopicSubscription:
  Type: AWS::SNS::Subscription
  Properties:
    TopicArn: {Ref: AlarmTopic}
    Protocol: email
    Endpoint: ${email}""",
    "subscription": """\
AlarmTopicSubscription:
  Type: AWS::SNS::Subscription
  Properties:
    TopicArn: ${topic_arn}
    Protocol: email
    Endpoint: ${email}""",
}

# Where the stack creates the log group and role itself, the trail refers to them.
_CREATED_REFS = {
    "log_group_ref": "{Ref: CloudTrailLogGroup}",
    "log_group_arn": "{'Fn::GetAtt': [CloudTrailLogGroup, Arn]}",
    "role_arn": "{'Fn::GetAtt': [CloudTrailLogsRole, Arn]}",
}

_HEADER = (
    "# Account ${account_id}, ${rule_title} (${rule_id}): the chain breaks at "
    '"${broken_link}". Stack in region ${region}.'
)


def _camel(rule_id: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", rule_id))


def _raw(plan: FindingPlan) -> dict[str, str]:
    """Logical ids, references to created resources, and notes on resources that exist."""
    raw = {"logical": _camel(plan.values["rule_id"])}
    if plan.delivery_here:
        raw.update(_CREATED_REFS)
    for kind in ("trail", "filter", "alarm"):
        name = plan.exists(kind)
        raw[f"{kind}_note"] = (
            f"# {name} exists: import it into the stack first (resource import).\n" if name else ""
        )
    return raw


def assemble(plan: FindingPlan) -> str:
    raw = _raw(plan)
    by_region: dict[str, list[str]] = {}
    for resource in plan.resources():
        text = fill(plan, Block(resource, RESOURCES[resource]), quote, raw)
        by_region.setdefault(plan.region(resource), []).append(text)
    note = has_placeholders(t for texts in by_region.values() for t in texts)
    documents = []
    for region, texts in by_region.items():
        head = header(_HEADER, plan, region) + (f"\n# {PLACEHOLDER_NOTE}" if note else "")
        body = "\n".join(textwrap.indent(text, "  ") for text in texts)
        documents.append(
            f"{head}\nAWSTemplateFormatVersion: '2010-09-09'\n"
            f"Description: {quote(plan.values['rule_title'] + ' monitoring (remediation)')}\n"
            f"Resources:\n{body}\n"
        )
    return "---\n".join(documents)
