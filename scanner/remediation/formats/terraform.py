"""The Terraform format: the resources the fix creates or changes, one provider alias per region.

Terraform declares whole resources: one that exists already (the trail, the rule's own filter, an
alarm kept by name) carries a comment saying to import it first. Strings are HCL literals with
``${`` and ``%{`` escaped, so nothing in a name or pattern is interpolated.
"""

from __future__ import annotations

import re
import shlex

from scanner.remediation.formats._text import (
    PLACEHOLDER_NOTE,
    Block,
    alias,
    fill,
    has_placeholders,
    header,
)
from scanner.remediation.plan import FindingPlan, Resource


def quote(value: str) -> str:
    """An HCL string literal; ``${`` and ``%{`` are escaped so nothing is interpolated."""
    text = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + text.replace("${", "$${").replace("%{", "%%{") + '"'


RESOURCES: dict[Resource, str] = {
    "trail": """\
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
}""",
    "log_group": """\
resource "aws_cloudwatch_log_group" "cloudtrail" {
  provider = aws.${provider}
  name     = ${log_group_name}
}""",
    "role": """\
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
}""",
    "filter": """\
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
}""",
    "alarm": """\
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
}""",
    "topic": """\
resource "aws_sns_topic" "alarms" {
  provider = aws.${provider}
  name     = ${topic_name}
}

resource "aws_sns_topic_subscription" "alarms" {
  provider  = aws.${provider}
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = ${email}
}""",
    "subscription": """\
resource "aws_sns_topic_subscription" "alarms" {
  provider  = aws.${provider}
  topic_arn = ${topic_arn}
  protocol  = "email"
  endpoint  = ${email}
}""",
}

# Where the code creates the log group and role itself, the trail refers to them (so Terraform
# creates them first) instead of spelling out their names.
_CREATED_REFS = {
    "log_group_ref": "aws_cloudwatch_log_group.cloudtrail.name",
    "log_group_arn": '"${aws_cloudwatch_log_group.cloudtrail.arn}:*"',
    "role_arn": "aws_iam_role.cloudtrail_to_cloudwatch_logs.arn",
    "trail_depends": "\n  depends_on                    = "
    "[aws_iam_role_policy.cloudtrail_to_cloudwatch_logs]",
}

_HEADER = (
    '# Account ${account_id}, ${rule_title} (${rule_id}): the chain breaks at "${broken_link}".'
)


def _raw(plan: FindingPlan) -> dict[str, str]:
    """Identifiers, references to created resources, and notes on resources that exist."""
    label = re.sub(r"[^A-Za-z0-9_]", "_", plan.values["rule_id"])
    raw = {"label": label, "trail_depends": ""}
    if plan.delivery_here:
        raw.update(_CREATED_REFS)
    addresses: dict[Resource, str] = {
        "trail": "aws_cloudtrail.main",
        "filter": f"aws_cloudwatch_log_metric_filter.{label}",
        "alarm": f"aws_cloudwatch_metric_alarm.{label}",
    }
    for kind, address in addresses.items():
        name, found = plan.exists(kind), shlex.quote(plan.existing.get(kind, ""))
        note = f"# {name} exists: import it first (terraform import {address} {found}).\n"
        raw[f"{kind}_note"] = note if name else ""
    return raw


def assemble(plan: FindingPlan) -> str:
    raw = _raw(plan)
    resources = plan.resources()
    texts = [fill(plan, Block(r, RESOURCES[r]), quote, raw) for r in resources]
    regions = dict.fromkeys(plan.region(r) for r in resources)
    providers = [
        f'provider "aws" {{\n  alias  = "{alias(region)}"\n  region = {quote(region)}\n}}'
        for region in regions
    ]
    head = header(_HEADER, plan) + (f"\n# {PLACEHOLDER_NOTE}" if has_placeholders(texts) else "")
    return "\n\n".join([head, *providers, *texts]) + "\n"
