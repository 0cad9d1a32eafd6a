"""DescribeAlarmHistory Action items as AWS writes them, for the tests that need one.

The texts are AWS's: "Successfully executed action <topic>", and for a topic whose access policy
does not let the alarm publish (AWS knowledge center, "Why didn't I receive an SNS notification
for my CloudWatch alarm trigger?"):

    Failed to execute action arn:aws:sns:us-east-1:ACCOUNT_ID:TOPIC_NAME. Received error:
    "Resource: arn:aws:cloudwatch:us-east-1:ACCOUNT_ID:alarm:ALARM_NAME is not authorized to
    perform: SNS:Publish on resource: arn:aws:sns:us-east-1:ACCOUNT_ID:TOPIC_NAME"

``HistoryData`` is a JSON string: ``actionState`` (Succeeded | Failed), ``stateUpdateTimestamp``
(epoch milliseconds), ``notificationResource`` (the topic), ``publishedMessage``, ``error``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from scanner.model.arns import arn_parts


def failed_summary(alarm_arn: str, topic_arn: str) -> str:
    return (
        f'Failed to execute action {topic_arn}. Received error: "Resource: {alarm_arn} is not '
        f'authorized to perform: SNS:Publish on resource: {topic_arn}"'
    )


def action_item(alarm_arn: str, topic_arn: str, at: datetime, *, succeeded: bool) -> dict[str, Any]:
    """One Action item of ``alarm_arn``'s history: a notification to ``topic_arn`` at ``at``."""
    name = arn_parts(alarm_arn)[4].removeprefix("alarm:")
    summary = (
        f"Successfully executed action {topic_arn}"
        if succeeded
        else failed_summary(alarm_arn, topic_arn)
    )
    data = {
        "actionState": "Succeeded" if succeeded else "Failed",
        "stateUpdateTimestamp": int(at.timestamp() * 1000),
        "notificationResource": topic_arn,
        "publishedMessage": None if not succeeded else '{"default": "..."}',
        "error": None if succeeded else summary.split("Received error: ", 1)[1],
    }
    return {
        "AlarmName": name,
        "AlarmType": "MetricAlarm",
        "Timestamp": at,
        "HistoryItemType": "Action",
        "HistorySummary": summary,
        "HistoryData": json.dumps(data),
    }
