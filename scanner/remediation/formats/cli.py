"""The CLI format: AWS CLI commands, one per change, each with the ``--region`` it acts in.

Every value is a POSIX shell word (:func:`shlex.quote`), so a name or pattern holding quotes
cannot break a command.
"""

from __future__ import annotations

import shlex

from scanner.remediation.account import AccountRemediation, Change
from scanner.remediation.formats import _text
from scanner.remediation.formats._text import Block
from scanner.remediation.plan import Resource, Step


def _elsewhere(resource: Resource) -> tuple[Block]:
    """Where a change to the topic or its key must run when another account owns the topic."""
    return (
        Block(
            resource,
            """\
# Run with credentials of account ${topic_owner}, which owns the topic and its key (the alarm
# is in account ${account_id}).""",
            when="topic_elsewhere",
        ),
    )


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
    "topic_key": (
        *_elsewhere("key"),
        Block(
            "key",
            """\
# Cancel the deletion of the topic's KMS key, which encrypts its notifications (this leaves the
# key disabled).
aws kms cancel-key-deletion --region ${region} --key-id ${key_arn}""",
            when="key_pending_deletion",
        ),
        Block(
            "key",
            """\
# Enable the topic's KMS key (it is ${key_state}): SNS cannot encrypt the alarms' notifications
# with a key that is not enabled, and drops them.
aws kms enable-key --region ${region} --key-id ${key_arn}""",
        ),
        *_elsewhere("key_policy"),
        Block(
            "key_policy",
            """\
# Let CloudWatch use the topic's KMS key. put-key-policy replaces the whole key policy: this is
# its current policy with statement ${key_sid} added (kms:Decrypt and
# kms:GenerateDataKey* for cloudwatch.amazonaws.com).""",
            when="key_policy",
        ),
        Block(
            "key_policy",
            """\
# The new key policy leaves out statement ${key_policy_drop}, which explicitly denies CloudWatch
# (an explicit Deny wins over every grant): if it protects something, narrow it instead (exclude
# cloudwatch.amazonaws.com) and keep it.""",
            when="key_policy_drop",
        ),
        Block(
            "key_policy",
            """\
aws kms put-key-policy --region ${region} --key-id ${key_arn} --policy-name default \\
  --policy ${key_policy}""",
            when="key_policy",
        ),
        Block(
            "key_policy",
            """\
# Let CloudWatch use the topic's KMS key: add this statement to its key policy, keeping every
# statement the policy has (put-key-policy replaces the whole policy, which is not known here):
#   ${key_statement}
aws kms get-key-policy --region ${region} --key-id ${key_arn} --policy-name default \\
  --query Policy --output text > key-policy.json
# Edit key-policy.json: add the statement to its "Statement" list. Then:
aws kms put-key-policy --region ${region} --key-id ${key_arn} --policy-name default \\
  --policy file://key-policy.json""",
            when="!key_policy",
        ),
        *_elsewhere("topic_encryption"),
        Block(
            "topic_encryption",
            """\
# Encrypt the topic with that customer managed key: CloudWatch cannot use the AWS managed key
# alias/aws/sns (its policy is AWS's), so every alarm notification is lost.
aws sns set-topic-attributes --region ${region} --topic-arn ${topic_arn} \\
  --attribute-name KmsMasterKeyId --attribute-value ${key_arn}""",
        ),
    ),
    "topic_policy": (
        *_elsewhere("topic_policy"),
        Block(
            "topic_policy",
            """\
# Let the alarms of account ${account_id} publish to the topic. set-topic-attributes replaces
# the whole access policy: this is its current policy with statement ${publish_sid} added
# (sns:Publish for cloudwatch.amazonaws.com, condition aws:SourceAccount ${account_id}).""",
        ),
        Block(
            "topic_policy",
            """\
# The new policy leaves out statement ${topic_policy_drop}, which explicitly denies the alarm's
# publish (an explicit Deny wins over every grant): if it protects something, narrow it instead
# (exclude cloudwatch.amazonaws.com) and keep it.""",
            when="topic_policy_drop",
        ),
        Block(
            "topic_policy",
            """\
# For the alarms of every account of organization ${organization_id}, the condition may be
# aws:SourceOrgID ${organization_id} instead.""",
            when="organization_id",
        ),
        Block(
            "topic_policy",
            """\
aws sns set-topic-attributes --region ${region} --topic-arn ${topic_arn} \\
  --attribute-name Policy --attribute-value ${topic_policy}""",
        ),
    ),
    "delivery": (
        *_elsewhere("subscription_filter"),
        Block(
            "subscription_filter",
            """\
# The filter policy of this subscription drops the alarms' notifications (they carry no message
# attributes): remove it ({} removes it), or subscribe another endpoint without a filter policy
# for the alarms.
aws sns set-subscription-attributes --region ${region} --subscription-arn ${item} \\
  --attribute-name FilterPolicy --attribute-value '{}'""",
            each="filtered_subscriptions",
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
    """One bash script per account (:func:`~._text.script`: it stops at the first command that
    fails); with several findings, each change says which it fixes."""
    texts = _text.change_texts(
        account, STEPS, shlex.quote, lambda text, note: f"{_text.comment(note)}\n{text}"
    )
    head = f"# {_text.title(account)}"
    if _text.has_placeholders(texts):
        head += f"\n# {_text.PLACEHOLDER_NOTE}"
    return (_text.script(f"{account.account_id}.sh", head, texts),)


def commands(change: Change) -> str:
    """One change's commands, for the declarative formats to give what they cannot declare."""
    return "\n\n".join(_text.step_texts(change, STEPS, shlex.quote))
