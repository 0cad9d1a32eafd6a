"""What ``--confirm`` asks of AWS that moto (5.x) does not answer, added to moto's handlers in
this process: ``logs:TestMetricFilter`` (moto has none) and ``cloudwatch:DescribeAlarmHistory``
(moto has none, and records no action executions to answer from).

Each fake answers as AWS does from what the test gives it, and returns what it was asked, so
that a test can count the calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult
from moto.logs.responses import LogsResponse


def engine(
    monkeypatch: pytest.MonkeyPatch, decide: Callable[[str, dict[str, object]], bool]
) -> list[int]:
    """Give moto a TestMetricFilter answering with ``decide(pattern, event)``; count calls."""
    calls = [0]

    def test_metric_filter(self: LogsResponse) -> str:
        calls[0] += 1
        pattern = self._get_param("filterPattern")
        messages = self._get_param("logEventMessages")
        found = [
            {"eventNumber": i, "eventMessage": m, "extractedValues": {}}
            for i, m in enumerate(messages, start=1)
            if decide(pattern, json.loads(m))
        ]
        return json.dumps({"matches": found})

    monkeypatch.setattr(LogsResponse, "test_metric_filter", test_metric_filter, raising=False)
    return calls


def history(
    monkeypatch: pytest.MonkeyPatch, items: Mapping[str, Sequence[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Give moto a DescribeAlarmHistory answering from ``items`` (alarm name -> its history
    items), filtered by the request's AlarmName, HistoryItemType and StartDate as CloudWatch
    does; returns the requests it received (account, region, alarm name, item type)."""
    requests: list[dict[str, Any]] = []

    def describe_alarm_history(self: CloudWatchResponse) -> ActionResult:
        name = self._get_param("AlarmName")
        kind = self._get_param("HistoryItemType")
        start = self._get_param("StartDate")
        start = datetime.fromisoformat(start) if isinstance(start, str) else start
        start = start.replace(tzinfo=start.tzinfo or UTC) if start is not None else None
        requests.append(
            {"account": self.current_account, "region": self.region, "name": name, "kind": kind}
        )
        found = [
            i
            for i in items.get(name, ())
            if (kind is None or i["HistoryItemType"] == kind)
            and (start is None or i["Timestamp"] >= start)
        ]
        return ActionResult({"AlarmHistoryItems": found})

    monkeypatch.setattr(
        CloudWatchResponse, "describe_alarm_history", describe_alarm_history, raising=False
    )
    return requests
