"""How to fix a failing control in the account's own names: console, CLI, Terraform, CloudFormation.

Theory of operation. A FAIL finding names its broken link. The fix repairs that link and every
later link of the finding's chain that is not ok (a trail that delivers nowhere has no filter,
alarm or topic either). Each link becomes one or more *steps* (:func:`_steps_for`), and each step
has, per output format, a few text blocks (:data:`TEMPLATES`): that table is the data, and the code
below it only decides which steps apply, fills the blocks with the values of one plan
(:class:`_Plan`) and assembles them. Blocks filled to the same text are written once, which is how
the Terraform and CloudFormation formats declare the trail a single time although several steps
(multi-region, logging, selectors, delivery) change it. Every block acts in one region, that of its
*role* (the trail's home region, the log group's, the topic's): CLI commands carry ``--region``,
Terraform gets one provider alias per region, CloudFormation one stack per region.

Invariants:

* Pure: no I/O. The plan comes from the finding, the rule, the reference and the context the
  evaluator passes (``account_id``, ``partition``, ``region`` and the names it knows).
* Every value goes into a text through its format's quoting (shell single quotes, HCL and YAML
  strings), so a name or pattern holding quotes cannot break the command or the code.
* The alarm always fires on one event: metric value 1 with no default value, statistic Sum over
  300 s, threshold 1 with ``GreaterThanOrEqualToThreshold``, 1 of 1 datapoints, missing data not
  breaching (see :mod:`scanner._alarm` for why each of these matters).
* The filter pattern is the canonical text of the reference's meaning, and of its intended
  reading when the published text is broken: the fix must be right, not faithful to a typo.
* What the scan cannot know is an explicit ``<PLACEHOLDER>`` (the e-mail address, the trail's S3
  bucket, the role of an existing delivery, the region of an account without any trail), never a
  guess. Everything else is the account's own: its log group, its topic, its region.
* Nothing is overwritten that may serve something else: an existing metric filter is rewritten only
  when it carries the rule's own filter name, since the filter that came closest may belong to
  another control; otherwise a filter and an alarm with the rule's names are added beside it.
* Alarms notify a topic in their own region (CloudWatch accepts no other): the alarm's current
  topic, else the context's topic with a confirmed subscriber in that region, else a new topic.
* Terraform and CloudFormation declare whole resources: one that already exists (the trail, the
  rule's own filter, an alarm kept by name) carries a comment saying to import it first.
"""

from __future__ import annotations

import json
import re
import shlex
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from string import Template
from typing import Literal

from scanner.catalog import Reference, Rule
from scanner.model import Finding, Link, LinkResult, LinkStatus, Status, arn_parts, arn_region
from scanner.patterns import render

Format = Literal["console", "cli", "terraform", "cloudformation"]
FORMATS: tuple[Format, ...] = ("console", "cli", "terraform", "cloudformation")

# Where a block acts: the trail's home region, the region of the log group and its alarms, or the
# region of the topic the alarm notifies.
Role = Literal["trail", "monitoring", "topic"]

Step = Literal[
    "new_trail",
    "trail",
    "logging",
    "selectors",
    "log_group",
    "filter",
    "topic",
    "subscriber",
    "alarm",
    "actions",
]
# The order the steps run in: what a later step uses exists by then.
STEP_ORDER: tuple[Step, ...] = (
    "new_trail",
    "trail",
    "logging",
    "selectors",
    "log_group",
    "filter",
    "topic",
    "subscriber",
    "alarm",
    "actions",
)

# What the scan cannot know.
EMAIL = "<EMAIL_ADDRESS>"
S3_BUCKET = "<S3_BUCKET_NAME>"
LOGS_ROLE_ARN = "<CLOUDTRAIL_LOGS_ROLE_ARN>"
REGION = "<REGION>"
LOG_GROUP = "<LOG_GROUP_NAME>"

# Names of what remediation creates beyond the rule's own filter, metric and alarm.
NEW_TRAIL_NAME = "management-events"
NEW_TOPIC_NAME = "cloudtrail-monitoring-alarms"
ROLE_NAME = "CloudTrailToCloudWatchLogs"
ROLE_POLICY_NAME = "cloudtrail-to-cloudwatch-logs"

_PLACEHOLDER = re.compile(r"<[A-Z0-9_]+>")

# The role CloudTrail assumes to deliver to CloudWatch Logs (CLI form; Terraform and
# CloudFormation spell the same documents in their own syntax below).
_ASSUME_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _logs_policy(log_streams_arn: str) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": log_streams_arn,
            }
        ],
    }


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Block:
    """One command, resource or console step; ``text`` is a :class:`string.Template`."""

    role: Role
    text: str


# --------------------------------------------------------------------------------------------
# The templates (data). Fields: every ``${name}`` is a value of the plan, quoted for the format;
# ``${region}`` is the region of the block's role and ``${provider}`` its Terraform alias;
# ``${label}`` and ``${logical}`` are identifiers derived from the rule id; ``*_note`` fields are
# comment lines or nothing.

_CON_NEW_TRAIL = """\
CloudTrail console, region ${region} > Trails > Create trail "${trail_name}": storage in S3 bucket
${s3_bucket} (its policy must let CloudTrail write), management events Read and Write with no
exclusion; every trail the console creates records all regions."""

_CON_TRAIL = """\
Make trail "${trail_name}" record every region: the console cannot convert a single-region trail,
so run the CLI command update-trail in the trail's home region ${region}."""

_CON_LOGGING = """\
CloudTrail console, region ${region} > Trails > "${trail_name}": Start logging."""

_CON_SELECTORS = """\
CloudTrail console, region ${region} > Trails > "${trail_name}" > Management events > Edit: API
activity Read and Write, no excluded event source. This replaces the trail's event selectors:
keep the data events you record."""

_CON_LOG_GROUP = """\
CloudWatch console, region ${region} > Log groups > Create log group "${log_group_name}"."""

_CON_DELIVERY = """\
CloudTrail console, region ${region} > Trails > "${trail_name}" > CloudWatch Logs > Edit: enabled,
existing log group "${log_group_name}", new IAM role "${role_name}" (the console grants it
logs:CreateLogStream and logs:PutLogEvents)."""

_CON_FILTER = """\
CloudWatch console, region ${region} > Log groups > "${log_group_name}" > Metric filters > Create
metric filter (or edit it if it exists) with the filter pattern

    ${pattern}

filter name "${filter_name}", metric namespace "${metric_namespace}", metric name
"${metric_name}", metric value 1, no default value."""

_CON_TOPIC = """\
Amazon SNS console, region ${region} > Topics > Create topic: Standard, name "${topic_name}".
Then Create subscription: protocol Email, endpoint ${email}; confirm it from the message it
sends."""

_CON_SUBSCRIBER = """\
Amazon SNS console, region ${region} > Topics > ${topic_arn} > Create subscription: protocol
Email, endpoint ${email}; confirm it from the message it sends (only confirmed subscriptions
receive notifications)."""

_CON_ALARM = """\
CloudWatch console, region ${region} > Alarms > alarm "${alarm_name}" (create it, or edit it if it
exists), description "${alarm_description}", on metric ${metric_namespace} / ${metric_name}:
statistic Sum, period 5 minutes, static threshold "Greater/Equal" 1, 1 out of 1 datapoints to
alarm, missing data treated as good (not breaching); "In alarm" notifies SNS topic
${topic_arn}."""

_CON_ACTIONS = """\
CloudWatch console, region ${region} > Alarms > "${alarm_name}" > Actions > Enable actions."""

_CLI_NEW_TRAIL = """\
# A multi-region trail (the bucket policy must let CloudTrail write).
aws cloudtrail create-trail --region ${region} --name ${trail_name} \\
  --s3-bucket-name ${s3_bucket} --is-multi-region-trail --include-global-service-events"""

_CLI_TRAIL = """\
# Record the events of every region.
aws cloudtrail update-trail --region ${region} --name ${trail_name} \\
  --is-multi-region-trail --include-global-service-events"""

_CLI_LOGGING = """\
# Start the trail (in its home region).
aws cloudtrail start-logging --region ${region} --name ${trail_name}"""

_CLI_SELECTORS = """\
# Record all management events, read and write. This replaces the trail's event selectors:
# add back the data events you record.
aws cloudtrail put-event-selectors --region ${region} --trail-name ${trail_name} \\
  --event-selectors ReadWriteType=All,IncludeManagementEvents=true"""

_CLI_LOG_GROUP = """\
# The log group the trail delivers to.
aws logs create-log-group --region ${region} --log-group-name ${log_group_name}"""

_CLI_ROLE = """\
# A role CloudTrail assumes to write to it.
aws iam create-role --region ${region} --role-name ${role_name} \\
  --assume-role-policy-document ${assume_role_policy}
aws iam put-role-policy --region ${region} --role-name ${role_name} \\
  --policy-name ${role_policy_name} --policy-document ${logs_policy}"""

_CLI_DELIVERY = """\
# Deliver the trail's events to the log group (retry if CloudTrail does not see the new role yet).
aws cloudtrail update-trail --region ${region} --name ${trail_name} \\
  --cloud-watch-logs-log-group-arn ${log_group_arn} \\
  --cloud-watch-logs-role-arn ${role_arn}"""

_CLI_FILTER = """\
# Count every event the control watches.
aws logs put-metric-filter --region ${region} \\
  --log-group-name ${log_group_name} --filter-name ${filter_name} \\
  --filter-pattern ${pattern} \\
  --metric-transformations ${metric_transformations}"""

_CLI_TOPIC = """\
# The topic the alarm notifies, and someone who reads it (confirm the e-mail).
aws sns create-topic --region ${region} --name ${topic_name}
aws sns subscribe --region ${region} --topic-arn ${topic_arn} \\
  --protocol email --notification-endpoint ${email}"""

_CLI_SUBSCRIBER = """\
# Someone who reads the topic (confirm the e-mail).
aws sns subscribe --region ${region} --topic-arn ${topic_arn} \\
  --protocol email --notification-endpoint ${email}"""

_CLI_ALARM = """\
# Alarm on one matching event, notifying the SNS topic.
aws cloudwatch put-metric-alarm --region ${region} \\
  --alarm-name ${alarm_name} --alarm-description ${alarm_description} \\
  --namespace ${metric_namespace} --metric-name ${metric_name} \\
  --statistic Sum --period 300 --threshold 1 --comparison-operator GreaterThanOrEqualToThreshold \\
  --evaluation-periods 1 --datapoints-to-alarm 1 --treat-missing-data notBreaching \\
  --actions-enabled --alarm-actions ${topic_arn}"""

_CLI_ACTIONS = """\
# Let the alarm notify again.
aws cloudwatch enable-alarm-actions --region ${region} --alarm-names ${alarm_name}"""

_TF_TRAIL = """\
${trail_note}resource "aws_cloudtrail" "main" {
  provider                      = aws.${provider}
  name                          = ${trail_name}
  s3_bucket_name                = ${s3_bucket}
  is_multi_region_trail         = true
  include_global_service_events = true
  enable_logging                = true
  cloud_watch_logs_group_arn    = ${log_group_arn}
  cloud_watch_logs_role_arn     = ${role_arn}${trail_depends}

  event_selector {
    read_write_type           = "All"
    include_management_events = true
  }
}"""

_TF_LOG_GROUP = """\
resource "aws_cloudwatch_log_group" "cloudtrail" {
  provider = aws.${provider}
  name     = ${log_group_name}
}"""

_TF_ROLE = """\
resource "aws_iam_role" "cloudtrail_to_cloudwatch_logs" {
  provider = aws.${provider}
  name     = ${role_name}
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "cloudtrail_to_cloudwatch_logs" {
  provider = aws.${provider}
  name     = ${role_policy_name}
  role     = aws_iam_role.cloudtrail_to_cloudwatch_logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ${log_streams_arn}
    }]
  })
}"""

_TF_FILTER = """\
${filter_note}resource "aws_cloudwatch_log_metric_filter" "${label}" {
  provider       = aws.${provider}
  name           = ${filter_name}
  log_group_name = ${log_group_ref}
  pattern        = ${pattern}

  metric_transformation {
    name      = ${metric_name}
    namespace = ${metric_namespace}
    value     = "1"
  }
}"""

_TF_ALARM = """\
${alarm_note}resource "aws_cloudwatch_metric_alarm" "${label}" {
  provider            = aws.${provider}
  alarm_name          = ${alarm_name}
  alarm_description   = ${alarm_description}
  namespace           = ${metric_namespace}
  metric_name         = ${metric_name}
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [${topic_arn}]
}"""

_TF_TOPIC = """\
resource "aws_sns_topic" "alarms" {
  provider = aws.${provider}
  name     = ${topic_name}
}

resource "aws_sns_topic_subscription" "alarms" {
  provider  = aws.${provider}
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = ${email}
}"""

_TF_SUBSCRIPTION = """\
resource "aws_sns_topic_subscription" "alarms" {
  provider  = aws.${provider}
  topic_arn = ${topic_arn}
  protocol  = "email"
  endpoint  = ${email}
}"""

_CFN_TRAIL = """\
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
        IncludeManagementEvents: true"""

_CFN_LOG_GROUP = """\
CloudTrailLogGroup:
  Type: AWS::Logs::LogGroup
  Properties:
    LogGroupName: ${log_group_name}"""

_CFN_ROLE = """\
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
              Resource: ${log_streams_arn}"""

_CFN_FILTER = """\
${filter_note}${logical}Filter:
  Type: AWS::Logs::MetricFilter
  Properties:
    FilterName: ${filter_name}
    LogGroupName: ${log_group_ref}
    FilterPattern: ${pattern}
    MetricTransformations:
      - MetricName: ${metric_name}
        MetricNamespace: ${metric_namespace}
        MetricValue: '1'"""

_CFN_ALARM = """\
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
      - ${topic_arn}"""

_CFN_TOPIC = """\
AlarmTopic:
  Type: AWS::SNS::Topic
  Properties:
    TopicName: ${topic_name}
AlarmTopicSubscription:
  Type: AWS::SNS::Subscription
  Properties:
    TopicArn: {Ref: AlarmTopic}
    Protocol: email
    Endpoint: ${email}"""

_CFN_SUBSCRIPTION = """\
AlarmTopicSubscription:
  Type: AWS::SNS::Subscription
  Properties:
    TopicArn: ${topic_arn}
    Protocol: email
    Endpoint: ${email}"""

# Steps (rows) by format (columns); a cell is the blocks of one step, each with its role.
_T: Role = "trail"
_M: Role = "monitoring"
_S: Role = "topic"
TEMPLATES: dict[Step, dict[Format, tuple[Block, ...]]] = {
    "new_trail": {
        "console": (Block(_T, _CON_NEW_TRAIL),),
        "cli": (Block(_T, _CLI_NEW_TRAIL),),
        "terraform": (Block(_T, _TF_TRAIL),),
        "cloudformation": (Block(_T, _CFN_TRAIL),),
    },
    "trail": {
        "console": (Block(_T, _CON_TRAIL),),
        "cli": (Block(_T, _CLI_TRAIL),),
        "terraform": (Block(_T, _TF_TRAIL),),
        "cloudformation": (Block(_T, _CFN_TRAIL),),
    },
    "logging": {
        "console": (Block(_T, _CON_LOGGING),),
        "cli": (Block(_T, _CLI_LOGGING),),
        "terraform": (Block(_T, _TF_TRAIL),),
        "cloudformation": (Block(_T, _CFN_TRAIL),),
    },
    "selectors": {
        "console": (Block(_T, _CON_SELECTORS),),
        "cli": (Block(_T, _CLI_SELECTORS),),
        "terraform": (Block(_T, _TF_TRAIL),),
        "cloudformation": (Block(_T, _CFN_TRAIL),),
    },
    "log_group": {
        "console": (Block(_M, _CON_LOG_GROUP), Block(_T, _CON_DELIVERY)),
        "cli": (Block(_M, _CLI_LOG_GROUP), Block(_T, _CLI_ROLE), Block(_T, _CLI_DELIVERY)),
        "terraform": (Block(_M, _TF_LOG_GROUP), Block(_T, _TF_ROLE), Block(_T, _TF_TRAIL)),
        "cloudformation": (Block(_M, _CFN_LOG_GROUP), Block(_T, _CFN_ROLE), Block(_T, _CFN_TRAIL)),
    },
    "filter": {
        "console": (Block(_M, _CON_FILTER),),
        "cli": (Block(_M, _CLI_FILTER),),
        "terraform": (Block(_M, _TF_FILTER),),
        "cloudformation": (Block(_M, _CFN_FILTER),),
    },
    "topic": {
        "console": (Block(_S, _CON_TOPIC),),
        "cli": (Block(_S, _CLI_TOPIC),),
        "terraform": (Block(_S, _TF_TOPIC),),
        "cloudformation": (Block(_S, _CFN_TOPIC),),
    },
    "subscriber": {
        "console": (Block(_S, _CON_SUBSCRIBER),),
        "cli": (Block(_S, _CLI_SUBSCRIBER),),
        "terraform": (Block(_S, _TF_SUBSCRIPTION),),
        "cloudformation": (Block(_S, _CFN_SUBSCRIPTION),),
    },
    "alarm": {
        "console": (Block(_M, _CON_ALARM),),
        "cli": (Block(_M, _CLI_ALARM),),
        "terraform": (Block(_M, _TF_ALARM),),
        "cloudformation": (Block(_M, _CFN_ALARM),),
    },
    "actions": {
        "console": (Block(_M, _CON_ACTIONS),),
        "cli": (Block(_M, _CLI_ACTIONS),),
        "terraform": (Block(_M, _TF_ALARM),),
        "cloudformation": (Block(_M, _CFN_ALARM),),
    },
}

# Where the Terraform and CloudFormation code creates the log group and role itself, the trail
# refers to them (so the tools create them first) instead of spelling out their names.
_CREATED_REFS: dict[str, dict[Format, str]] = {
    "log_group_ref": {
        "terraform": "aws_cloudwatch_log_group.cloudtrail.name",
        "cloudformation": "{Ref: CloudTrailLogGroup}",
    },
    "log_group_arn": {
        "terraform": '"${aws_cloudwatch_log_group.cloudtrail.arn}:*"',
        "cloudformation": "{'Fn::GetAtt': [CloudTrailLogGroup, Arn]}",
    },
    "role_arn": {
        "terraform": "aws_iam_role.cloudtrail_to_cloudwatch_logs.arn",
        "cloudformation": "{'Fn::GetAtt': [CloudTrailLogsRole, Arn]}",
    },
    "trail_depends": {
        "terraform": "\n  depends_on                    = "
        "[aws_iam_role_policy.cloudtrail_to_cloudwatch_logs]",
        "cloudformation": "",
    },
}

# Resources the code declares that may already exist: how to take them over.
_IMPORT_NOTES: dict[Format, str] = {
    "terraform": "# ${what} exists: import it first (terraform import ${address} ${id}).\n",
    "cloudformation": "# ${what} exists: import it into the stack first (resource import).\n",
}

_HEADERS: dict[Format, str] = {
    "console": "Account ${account_id}, ${rule_title} (${rule_id}): the chain breaks at "
    '"${broken_link}". Fix, in order:',
    "cli": "# Account ${account_id}, ${rule_title} (${rule_id}): the chain breaks at "
    '"${broken_link}".',
    "terraform": "# Account ${account_id}, ${rule_title} (${rule_id}): the chain breaks at "
    '"${broken_link}".',
    "cloudformation": "# Account ${account_id}, ${rule_title} (${rule_id}): the chain breaks at "
    '"${broken_link}". Stack in region ${region}.',
}
_PLACEHOLDER_NOTE = "Replace every <PLACEHOLDER> first."


# --------------------------------------------------------------------------------------------
# Quoting per format.


def _shell(value: str) -> str:
    """A POSIX shell word that means ``value``: single quotes, each ``'`` written ``'"'"'``."""
    return shlex.quote(value)


def _hcl(value: str) -> str:
    """An HCL string literal; ``${`` and ``%{`` are escaped so nothing is interpolated."""
    text = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + text.replace("${", "$${").replace("%{", "%%{") + '"'


def _yaml(value: str) -> str:
    """A single-quoted YAML scalar (a ``'`` is doubled)."""
    return "'" + value.replace("'", "''") + "'"


QUOTES: dict[Format, Callable[[str], str]] = {
    "console": lambda value: value,
    "cli": _shell,
    "terraform": _hcl,
    "cloudformation": _yaml,
}


# --------------------------------------------------------------------------------------------
# The context the evaluator passes, and the plan derived from it.


@dataclass(frozen=True, slots=True)
class RemediationContext:
    """What the scan knows about the chain the finding describes (names, never resources).

    ``region`` is the log group's region, or the trail's home region when there is no log group;
    ``topic_arn`` is a topic of the account with a confirmed subscriber, reused when it is in the
    alarm's region.
    """

    account_id: str
    partition: str = "aws"
    region: str | None = None
    trail_name: str | None = None
    trail_home_region: str | None = None
    log_group_name: str | None = None
    log_group_region: str | None = None
    filter_name: str | None = None
    metric_name: str | None = None
    metric_namespace: str | None = None
    alarm_name: str | None = None
    topic_arn: str | None = None

    @classmethod
    def of(cls, values: Mapping[str, str]) -> RemediationContext:
        """From the evaluator's mapping; an unknown key is a caller's error (``ValueError``)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown remediation context key {unknown[0]!r}")
        if "account_id" not in values:
            raise ValueError("remediation context lacks 'account_id'")
        return cls(**values)


@dataclass(frozen=True, slots=True)
class _Plan:
    """Every value the templates use, resolved once; ``steps`` in :data:`STEP_ORDER`."""

    steps: tuple[Step, ...]
    regions: dict[Role, str]
    values: dict[str, str]  # quoted per format when filled
    raw: dict[Format, dict[str, str]]  # per format, inserted as they are


def _links(finding: Finding) -> dict[Link, LinkResult]:
    return {result.link: result for result in finding.chain}


def _status(links: Mapping[Link, LinkResult], link: Link) -> LinkStatus:
    found = links.get(link)
    return found.status if found is not None else LinkStatus.MISSING


def _alarm_topic(links: Mapping[Link, LinkResult]) -> str | None:
    """The SNS topic among the alarm's actions, when the chain got that far."""
    found = links.get(Link.TOPIC)
    if found is None or found.status is LinkStatus.MISSING or not found.resource:
        return None
    return found.resource


# The links whose repair is always the same one step.
_ONE_STEP: dict[Link, tuple[Step, ...]] = {
    Link.LOGGING: ("logging",),
    Link.SELECTORS: ("selectors",),
    Link.LOG_GROUP: ("log_group",),
    Link.ALARM_CONDITION: ("alarm",),
}


def _steps_for(link: Link, links: Mapping[Link, LinkResult], c: _Choices) -> tuple[Step, ...]:
    """The steps that repair one link not ok; the few exceptions to "one link, one step"."""
    if link is Link.TRAIL:
        return ("trail",) if c.trail_exists else ("new_trail",)
    if link is Link.FILTER:
        return ("filter",) if c.filter_in_place else ("filter", "alarm")
    if link is Link.ALARM:
        return ("alarm",) if c.metric_known else ("filter", "alarm")
    if link is Link.ACTIONS:
        # The alarm has an SNS action (the chain reached the topic): its actions are disabled.
        return ("actions",) if _alarm_topic(links) else ("alarm",)
    if link is Link.TOPIC:
        return ("topic",) if _alarm_topic(links) else ()
    if link is Link.SUBSCRIBER:
        return ("subscriber",) if _alarm_topic(links) else ()
    return _ONE_STEP[link]


@dataclass(frozen=True, slots=True)
class _Choices:
    trail_exists: bool
    filter_in_place: bool
    metric_known: bool


def _plan_steps(finding: Finding, c: _Choices, new_topic: bool) -> tuple[Step, ...]:
    assert finding.broken_link is not None
    links = _links(finding)
    todo = [
        spec_link
        for spec_link in Link
        if spec_link.position >= finding.broken_link.position
        and (spec_link is finding.broken_link or _status(links, spec_link) is not LinkStatus.OK)
    ]
    steps: set[Step] = {step for link in todo for step in _steps_for(link, links, c)}
    if "alarm" in steps:
        steps.discard("actions")  # put-metric-alarm enables the actions it sets
        if new_topic:
            steps.add("topic")
    if "topic" in steps:
        steps.discard("subscriber")  # the new topic gets its subscription
    return tuple(step for step in STEP_ORDER if step in steps)


def _intended(rule: Rule, reference: Reference, profile: str) -> Reference:
    """The reference to create: its intended reading when the published text is broken."""
    if reference.broken is None:
        return reference
    for candidate in rule.references:
        if candidate.kind == "intended" and reference.name in candidate.reading_of:
            return candidate
    return rule.accepted_in(profile)[0]


def _camel(rule_id: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", rule_id))


def _regions(
    links: Mapping[Link, LinkResult], ctx: RemediationContext, alarm_topic: str | None
) -> tuple[str, str]:
    """The trail's home region and the region of the log group and its alarms."""
    trail_link = links.get(Link.TRAIL)
    trail = (trail_link.region if trail_link and ctx.trail_name else None) or (
        ctx.trail_home_region or ctx.region
    )
    monitoring = ctx.log_group_region or ctx.region or trail
    if monitoring is None and (alarm_topic or ctx.topic_arn):
        # No trail at all: settle where the account already reads notifications.
        monitoring = arn_region(alarm_topic or ctx.topic_arn or "") or None
    monitoring = monitoring or REGION
    return trail or monitoring, monitoring


def _plan(finding: Finding, rule: Rule, reference: Reference, ctx: RemediationContext) -> _Plan:
    names = rule.remediation
    links = _links(finding)
    account, partition = ctx.account_id, ctx.partition
    alarm_topic = _alarm_topic(links)
    trail_region, monitoring = _regions(links, ctx, alarm_topic)

    # The topic to notify: the alarm's own, else a subscribed one in its region, else a new one.
    known = ctx.topic_arn if ctx.topic_arn and arn_region(ctx.topic_arn) == monitoring else None
    topic_arn = alarm_topic or known
    new_topic = topic_arn is None
    topic_arn = topic_arn or f"arn:{partition}:sns:{monitoring}:{account}:{NEW_TOPIC_NAME}"

    filter_in_place = ctx.filter_name == names.filter_name
    choices = _Choices(
        trail_exists=ctx.trail_name is not None,
        filter_in_place=filter_in_place,
        metric_known=ctx.metric_name is not None and ctx.metric_namespace is not None,
    )
    steps = _plan_steps(finding, choices, new_topic)

    # The metric and alarm: kept when the existing filter stays (or is ours), the rule's otherwise.
    keep = not (("filter" in steps and not filter_in_place) or not choices.metric_known)
    metric_name = (ctx.metric_name if keep else None) or names.metric_name
    namespace = (ctx.metric_namespace if keep else None) or names.metric_namespace
    alarm_name = (ctx.alarm_name if keep else None) or names.alarm_name
    log_group = ctx.log_group_name or (
        f"aws-cloudtrail-logs-{account}" if "log_group" in steps else LOG_GROUP
    )
    log_group_arn = f"arn:{partition}:logs:{monitoring}:{account}:log-group:{log_group}"
    values = {
        "account_id": account,
        "rule_id": rule.id,
        "rule_title": rule.title,
        "broken_link": str(finding.broken_link),
        "trail_name": ctx.trail_name or NEW_TRAIL_NAME,
        "s3_bucket": S3_BUCKET,
        "log_group_name": log_group,
        "log_group_ref": log_group,
        "log_group_arn": log_group_arn + ":*",
        "log_streams_arn": log_group_arn + ":log-stream:*",
        "role_name": ROLE_NAME,
        "role_policy_name": ROLE_POLICY_NAME,
        "role_arn": f"arn:{partition}:iam::{account}:role/{ROLE_NAME}"
        if "log_group" in steps
        else LOGS_ROLE_ARN,
        "assume_role_policy": _json(_ASSUME_ROLE_POLICY),
        "logs_policy": _json(_logs_policy(log_group_arn + ":log-stream:*")),
        "filter_name": ctx.filter_name
        if filter_in_place and ctx.filter_name
        else names.filter_name,
        "pattern": render(_intended(rule, reference, finding.profile).pattern),
        "metric_name": metric_name,
        "metric_namespace": namespace,
        "metric_transformations": _json(
            [{"metricName": metric_name, "metricNamespace": namespace, "metricValue": "1"}]
        ),
        "alarm_name": alarm_name,
        "alarm_description": names.alarm_description,
        "topic_arn": topic_arn,
        "topic_name": _resource_name(topic_arn) if alarm_topic else NEW_TOPIC_NAME,
        "email": EMAIL,
    }
    existing = {
        "trail": links[Link.TRAIL].resource if ctx.trail_name and Link.TRAIL in links else None,
        "filter": f"{log_group}:{values['filter_name']}" if filter_in_place else None,
        "alarm": alarm_name if ctx.alarm_name == alarm_name else None,
    }
    raw = {
        fmt: _raw_fields(
            fmt,
            rule,
            values=values,
            existing=existing,
            steps=steps,
            same_region=trail_region == monitoring,
        )
        for fmt in FORMATS
    }
    regions: dict[Role, str] = {
        "trail": trail_region,
        "monitoring": monitoring,
        "topic": arn_region(topic_arn) or monitoring,
    }
    return _Plan(steps, regions, values, raw)


def _raw_fields(
    fmt: Format,
    rule: Rule,
    *,
    values: Mapping[str, str],
    existing: Mapping[str, str | None],
    steps: tuple[Step, ...],
    same_region: bool,
) -> dict[str, str]:
    """Identifiers, references to created resources, and notes on resources that exist."""
    label = re.sub(r"[^A-Za-z0-9_]", "_", rule.id)
    raw = {"label": label, "logical": _camel(rule.id), "trail_depends": ""}
    if "log_group" in steps and same_region and fmt in ("terraform", "cloudformation"):
        raw.update({name: refs[fmt] for name, refs in _CREATED_REFS.items()})
    what = {
        "trail": (f'Trail "{values["trail_name"]}"', "aws_cloudtrail.main"),
        "filter": (
            f'Metric filter "{values["filter_name"]}"',
            f"aws_cloudwatch_log_metric_filter.{label}",
        ),
        "alarm": (f'Alarm "{values["alarm_name"]}"', f"aws_cloudwatch_metric_alarm.{label}"),
    }
    for kind, (name, address) in what.items():
        found = existing[kind]
        note = _IMPORT_NOTES.get(fmt)
        raw[f"{kind}_note"] = (
            Template(note).substitute(what=name, address=address, id=_shell(found))
            if note and found
            else ""
        )
    return raw


def _resource_name(arn: str) -> str:
    try:
        return arn_parts(arn)[4].rsplit(":", 1)[-1]
    except ValueError:
        return arn


def _alias(region: str) -> str:
    """A Terraform provider alias for a region: ``eu_west_1``."""
    return re.sub(r"[^a-z0-9]+", "_", region.lower()).strip("_") or "region"


# --------------------------------------------------------------------------------------------
# Filling and assembling.


def _fill(fmt: Format, plan: _Plan, block: Block) -> str:
    quote = QUOTES[fmt]
    values = {name: quote(value) for name, value in plan.values.items()}
    values.update(plan.raw[fmt])
    region = plan.regions[block.role]
    values["region"] = quote(region)
    values["provider"] = _alias(region)
    return Template(block.text).substitute(values)


def _header(fmt: Format, plan: _Plan, region: str = "") -> str:
    values = {**plan.values, "region": region}
    return Template(_HEADERS[fmt]).substitute(values)


def _assemble(fmt: Format, plan: _Plan) -> str:
    blocks: list[tuple[Role, str]] = []
    for step in plan.steps:
        for block in TEMPLATES[step][fmt]:
            text = _fill(fmt, plan, block)
            if all(text != seen for _, seen in blocks):
                blocks.append((block.role, text))
    texts = [text for _, text in blocks]
    placeholders = any(_PLACEHOLDER.search(text) for text in texts)
    if fmt == "console":
        steps = [textwrap.indent(text, "   ")[3:] for text in texts]
        lines = [_header(fmt, plan)] + [f"{i}. {text}" for i, text in enumerate(steps, 1)]
        if placeholders:
            lines.append(_PLACEHOLDER_NOTE)
        return "\n".join(lines) + "\n"
    if fmt == "cli":
        head = _header(fmt, plan) + (f"\n# {_PLACEHOLDER_NOTE}" if placeholders else "")
        return "\n\n".join([head, *texts]) + "\n"
    if fmt == "terraform":
        regions = dict.fromkeys(plan.regions[role] for role, _ in blocks)
        providers = [
            f'provider "aws" {{\n  alias  = "{_alias(region)}"\n  region = {_hcl(region)}\n}}'
            for region in regions
        ]
        head = _header(fmt, plan) + (f"\n# {_PLACEHOLDER_NOTE}" if placeholders else "")
        return "\n\n".join([head, *providers, *texts]) + "\n"
    # CloudFormation: one stack per region; resources indented under Resources.
    documents = []
    by_region: dict[str, list[str]] = {}
    for role, text in blocks:
        by_region.setdefault(plan.regions[role], []).append(text)
    for region, texts_in in by_region.items():
        head = _header(fmt, plan, region)
        head += f"\n# {_PLACEHOLDER_NOTE}" if placeholders else ""
        body = "\n".join(textwrap.indent(text, "  ") for text in texts_in)
        documents.append(
            f"{head}\nAWSTemplateFormatVersion: '2010-09-09'\n"
            f"Description: {_yaml(plan.values['rule_title'] + ' monitoring (remediation)')}\n"
            f"Resources:\n{body}\n"
        )
    return "---\n".join(documents)


def remediation_for(
    finding: Finding,
    rule: Rule,
    reference: Reference,
    context: Mapping[str, str] | RemediationContext,
) -> dict[str, str]:
    """The fix of a FAIL finding in every format of :data:`FORMATS`; ``{}`` for PASS and ERROR.

    ``reference`` is the reference the filter is judged against (its pattern is what a new filter
    gets); ``context`` the names the scan found (see :class:`RemediationContext`).
    """
    if finding.status is not Status.FAIL or finding.broken_link is None:
        return {}
    ctx = context if isinstance(context, RemediationContext) else RemediationContext.of(context)
    plan = _plan(finding, rule, reference, ctx)
    return {fmt: _assemble(fmt, plan) for fmt in FORMATS}


__all__ = [
    "FORMATS",
    "STEP_ORDER",
    "TEMPLATES",
    "Block",
    "Format",
    "RemediationContext",
    "Step",
    "remediation_for",
]
