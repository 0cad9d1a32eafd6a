"""The CLI format: AWS CLI commands, one per change, each with the ``--region`` it acts in.

Every value is a POSIX shell word (:func:`shlex.quote`), so a name or pattern holding quotes
cannot break a command.
"""

from __future__ import annotations

import shlex

from scanner.remediation.account import AccountRemediation
from scanner.remediation.formats import _text
from scanner.remediation.formats._text import Block
from scanner.remediation.plan import Step

STEPS: dict[Step, tuple[Block, ...]] = {
    "new_trail": (
        Block(
            "trail",
            """\
# A multi-region trail (the bucket policy must let CloudTrail write).
aws cloudtrail create-trail --region ${region} --name ${trail_name} \\
  --s3-bucket-name ${s3_bucket} --is-multi-region-trail --include-global-service-events""",
        ),
    ),
    "trail": (
        Block(
            "trail",
            """\
# Record the events of every region.
aws cloudtrail update-trail --region ${region} --name ${trail_name} \\
  --is-multi-region-trail --include-global-service-events""",
        ),
    ),
    "logging": (
        Block(
            "trail",
            """\
# Start the trail (in its home region).
aws cloudtrail start-logging --region ${region} --name ${trail_name}""",
        ),
    ),
    "selectors": (
        Block(
            "trail",
            """\
# Record all management events, read and write. This replaces the trail's event selectors:
# add back the data events you record.
aws cloudtrail put-event-selectors --region ${region} --trail-name ${trail_name} \\
  --event-selectors ReadWriteType=All,IncludeManagementEvents=true""",
        ),
    ),
    "log_group": (
        Block(
            "log_group",
            """\
# The log group the trail delivers to.
aws logs create-log-group --region ${region} --log-group-name ${log_group_name}""",
        ),
        Block(
            "role",
            """\
# A role CloudTrail assumes to write to it.
aws iam create-role --region ${region} --role-name ${role_name} \\
  --assume-role-policy-document ${assume_role_policy}
aws iam put-role-policy --region ${region} --role-name ${role_name} \\
  --policy-name ${role_policy_name} --policy-document ${logs_policy}""",
        ),
        Block(
            "trail",
            """\
# Deliver the trail's events to the log group (retry if CloudTrail does not see the new role yet).
aws cloudtrail update-trail --region ${region} --name ${trail_name} \\
  --cloud-watch-logs-log-group-arn ${log_group_arn} \\
  --cloud-watch-logs-role-arn ${role_arn}""",
        ),
    ),
    "filter": (
        Block(
            "filter",
            """\
# Count every event the control watches, as one metric without dimensions.
aws logs put-metric-filter --region ${region} \\
  --log-group-name ${log_group_name} --filter-name ${filter_name} \\
  --filter-pattern ${pattern} \\
  --metric-transformations ${metric_transformations}""",
        ),
    ),
    "topic": (
        Block(
            "topic",
            """\
# The topic the alarm notifies, and someone who reads it (confirm the e-mail).
aws sns create-topic --region ${region} --name ${topic_name}
aws sns subscribe --region ${region} --topic-arn ${topic_arn} \\
  --protocol email --notification-endpoint ${email}""",
        ),
    ),
    "subscriber": (
        Block(
            "subscription",
            """\
# Someone who reads the topic (confirm the e-mail).
aws sns subscribe --region ${region} --topic-arn ${topic_arn} \\
  --protocol email --notification-endpoint ${email}""",
        ),
    ),
    "alarm": (
        Block(
            "alarm",
            """\
# Alarm on one matching event, notifying the SNS topic (this replaces the alarm's whole
# configuration: no unit, no dimensions, so it hears every datapoint of the filter).
aws cloudwatch put-metric-alarm --region ${region} \\
  --alarm-name ${alarm_name} --alarm-description ${alarm_description} \\
  --namespace ${metric_namespace} --metric-name ${metric_name} \\
  --statistic Sum --period 300 --threshold 1 --comparison-operator GreaterThanOrEqualToThreshold \\
  --evaluation-periods 1 --datapoints-to-alarm 1 --treat-missing-data notBreaching \\
  --actions-enabled --alarm-actions ${topic_arn}""",
        ),
    ),
    "actions": (
        Block(
            "alarm",
            """\
# Let the alarm notify again.
aws cloudwatch enable-alarm-actions --region ${region} --alarm-names ${alarm_name}""",
        ),
    ),
}


def assemble(account: AccountRemediation) -> tuple[_text.Document, ...]:
    """One script per account; with several findings, each change says which it fixes."""
    texts = _text.change_texts(
        account, STEPS, shlex.quote, lambda text, note: f"{_text.comment(note)}\n{text}"
    )
    head = f"# {_text.title(account)}"
    if _text.has_placeholders(texts):
        head += f"\n# {_text.PLACEHOLDER_NOTE}"
    return (_text.Document(f"{account.account_id}.sh", "\n\n".join([head, *texts]) + "\n"),)
