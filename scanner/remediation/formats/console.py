"""The console format: numbered steps a person follows in the AWS console, in the account's names.

Where the console cannot do it (a single-region trail cannot be converted) the step says which
CLI command to run instead.
"""

from __future__ import annotations

import textwrap

from scanner.remediation.account import AccountRemediation
from scanner.remediation.formats import _text
from scanner.remediation.formats._text import Block
from scanner.remediation.plan import Resource, Step


def _quote(value: str) -> str:
    return value  # prose: names stand in double quotes in the templates


def _elsewhere(resource: Resource) -> tuple[Block]:
    """Where a change to the topic or its key is made when another account owns the topic."""
    return (
        Block(
            resource,
            """\
Sign in to account ${topic_owner}, which owns the topic and its key (the alarm is in account
${account_id}).""",
            when="topic_elsewhere",
        ),
    )


STEPS: dict[Step, tuple[Block, ...]] = {
    "new_trail": (
        Block(
            "trail",
            """\
CloudTrail console, region ${region} > Trails > Create trail "${trail_name}": storage in S3 bucket
${s3_bucket} (its policy must let CloudTrail write), management events Read and Write with no
exclusion; every trail the console creates records all regions.""",
        ),
    ),
    "trail": (
        Block(
            "trail",
            """\
Make trail "${trail_name}" record every region: the console cannot convert a single-region trail,
so run the CLI command update-trail in the trail's home region ${region}.""",
        ),
    ),
    "logging": (
        Block(
            "trail",
            """\
CloudTrail console, region ${region} > Trails > "${trail_name}": Start logging.""",
        ),
    ),
    "selectors": (
        Block(
            "trail",
            """\
CloudTrail console, region ${region} > Trails > "${trail_name}" > Management events > Edit: API
activity Read and Write, no excluded event source. This replaces the trail's event selectors:
keep the data events you record.""",
        ),
    ),
    "log_group": (
        Block(
            "log_group",
            """\
CloudWatch console, region ${region} > Log groups > Create log group "${log_group_name}".""",
        ),
        Block(
            "trail",
            """\
CloudTrail console, region ${region} > Trails > "${trail_name}" > CloudWatch Logs > Edit: enabled,
existing log group "${log_group_name}", new IAM role "${role_name}" (the console grants it
logs:CreateLogStream and logs:PutLogEvents).""",
        ),
    ),
    "filter": (
        Block(
            "filter",
            """\
CloudWatch console, region ${region} > Log groups > "${log_group_name}" > Metric filters > Create
metric filter (or edit it if it exists) with the filter pattern

    ${pattern}

filter name "${filter_name}", metric namespace "${metric_namespace}", metric name
"${metric_name}", metric value 1, no default value.""",
        ),
    ),
    "topic": (
        Block(
            "topic",
            """\
Amazon SNS console, region ${region} > Topics > Create topic: Standard, name "${topic_name}".
Then Create subscription: protocol Email, endpoint ${email}; confirm it from the message it
sends.""",
        ),
    ),
    "subscriber": (
        Block(
            "subscription",
            """\
Amazon SNS console, region ${region} > Topics > ${topic_arn} > Create subscription: protocol
Email, endpoint ${email}; confirm it from the message it sends (only confirmed subscriptions
receive notifications).""",
        ),
    ),
    "topic_key": (
        *_elsewhere("key"),
        Block(
            "key",
            """\
AWS KMS console, region ${region} > Customer managed keys > ${key_arn} > Key actions > Cancel key
deletion (the key encrypts the topic's notifications).""",
            when="key_pending_deletion",
        ),
        Block(
            "key",
            """\
AWS KMS console, region ${region} > Customer managed keys > ${key_arn} (it is ${key_state}) > Key
actions > Enable: SNS cannot encrypt the alarms' notifications with a key that is not enabled.""",
        ),
        *_elsewhere("key_policy"),
        Block(
            "key_policy",
            """\
AWS KMS console, region ${region} > Customer managed keys > ${key_arn} > Key policy > Edit (policy
view): add this statement to the "Statement" list, keeping the others, so that CloudWatch may
use the key that encrypts the topic:

    ${key_statement}""",
        ),
        Block(
            "key_policy",
            """\
In that key policy, remove statement "${key_policy_drop}", which explicitly denies CloudWatch (an
explicit Deny wins over every grant); if it protects something, narrow it instead (exclude
cloudwatch.amazonaws.com).""",
            when="key_policy_drop",
        ),
        *_elsewhere("topic_encryption"),
        Block(
            "topic_encryption",
            """\
Amazon SNS console, region ${region} > Topics > ${topic_arn} > Edit > Encryption: the customer
managed key ${key_arn}, whose key policy has that statement (CloudWatch cannot use the AWS
managed key alias/aws/sns).""",
        ),
    ),
    "topic_policy": (
        *_elsewhere("topic_policy"),
        Block(
            "topic_policy",
            """\
Amazon SNS console, region ${region} > Topics > ${topic_arn} > Edit > Access policy: add this
statement to the "Statement" list, so that the alarms of account ${account_id} may publish:

    ${publish_statement}""",
        ),
        Block(
            "topic_policy",
            """\
In that access policy, remove statement "${topic_policy_drop}", which explicitly denies the
alarm's publish (an explicit Deny wins over every grant); if it protects something, narrow it
instead (exclude cloudwatch.amazonaws.com).""",
            when="topic_policy_drop",
        ),
    ),
    "delivery": (
        *_elsewhere("subscription_filter"),
        Block(
            "subscription_filter",
            """\
Amazon SNS console, region ${region} > Subscriptions > ${item} > Edit > Subscription filter
policy: turn it off (the alarms' notifications carry no message attributes, so the filter
drops them), or subscribe another endpoint without a filter policy for the alarms.""",
            each="filtered_subscriptions",
        ),
    ),
    "alarm": (
        Block(
            "alarm",
            """\
CloudWatch console, region ${region} > Alarms > alarm "${alarm_name}" (create it, or edit it if it
exists), description "${alarm_description}", on metric ${metric_namespace} / ${metric_name}:
statistic Sum, period 5 minutes, static threshold "Greater/Equal" 1, 1 out of 1 datapoints to
alarm, missing data treated as good (not breaching); "In alarm" notifies SNS topic
${topic_arn}.""",
        ),
    ),
    "actions": (
        Block(
            "alarm",
            """\
CloudWatch console, region ${region} > Alarms > "${alarm_name}" > Actions > Enable actions.""",
        ),
    ),
}


def assemble(account: AccountRemediation) -> tuple[_text.Document, ...]:
    """One numbered list per account; with several findings, each step says which it fixes."""
    texts = _text.change_texts(
        account, STEPS, _quote, lambda text, note: f"{text}\n{_text.comment(note, prefix='')}"
    )
    steps = [textwrap.indent(text, "   ")[3:] for text in texts]
    lines = [f"{_text.title(account)} Fix, in order:"]
    lines += [f"{i}. {text}" for i, text in enumerate(steps, 1)]
    if _text.has_placeholders(texts):
        lines.append(_text.PLACEHOLDER_NOTE)
    return (_text.Document(f"{account.account_id}.txt", "\n".join(lines) + "\n"),)
