"""``--confirm``: ask AWS's own engine and alarm history whether they agree with the scanner.

One read-only ``logs:TestMetricFilter`` call per question :func:`scanner.evaluate.confirm.plan`
writes (a filter's pattern and up to 50 events), and one ``cloudwatch:DescribeAlarmHistory``
lookup (its Action items of the last 14 days, newest first, at most 100) per alarm
:func:`scanner.evaluate.alarm_history.plan` names, each in its resource's account and region,
through the same rate limits, retries and identities as the scan. The answers become notes on
the findings (:func:`scanner.evaluate.confirm.apply`,
:func:`scanner.evaluate.alarm_history.apply`); no verdict changes.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from scanner.aws.gateway import CallFailed, CallStats
from scanner.aws.scan import ScanOptions, _Scan
from scanner.evaluate import alarm_history
from scanner.evaluate.confirm import Check, Confirmation, apply, plan
from scanner.model import Finding, Inventory

log = structlog.get_logger(__name__)

MAX_PAGES = 3  # an emulator that ignores MaxRecords still ends the lookup


async def _engine(scan: _Scan, check: Check) -> frozenset[int] | str:
    try:
        identity = await scan.credentials.for_account(check.account_id)
        client = await scan.pool.client(identity, check.region, "logs")
        response = await scan.caller.call(
            client,
            "TestMetricFilter",
            resource=check.filter_name,
            filterPattern=check.pattern,
            logEventMessages=check.messages,
        )
    except CallFailed as failed:
        return failed.error.describe()
    return frozenset(int(m["eventNumber"]) - 1 for m in response.get("matches") or ())


async def _history(
    scan: _Scan, lookup: alarm_history.Lookup, since: datetime
) -> tuple[alarm_history.Action, ...] | str:
    """The alarm's actions since ``since``, newest first, through the alarm owner's identity."""
    items: list[Mapping[str, Any]] = []
    try:
        identity = await scan.credentials.for_account(lookup.account_id)
        client = await scan.pool.client(identity, lookup.region, "cloudwatch")
        token: str | None = None
        for _ in range(MAX_PAGES):
            page = await scan.caller.call(
                client,
                "DescribeAlarmHistory",
                resource=lookup.alarm_name,
                AlarmName=lookup.alarm_name,
                AlarmTypes=["MetricAlarm", "CompositeAlarm"],  # else only metric alarms
                HistoryItemType="Action",
                StartDate=since,
                ScanBy="TimestampDescending",
                MaxRecords=alarm_history.MAX_ITEMS,
                **_next(token),
            )
            items.extend(page.get("AlarmHistoryItems") or ())
            token = page.get("NextToken")
            if not token or len(items) >= alarm_history.MAX_ITEMS:
                break
    except CallFailed as failed:
        return failed.error.describe()
    return alarm_history.read(items[: alarm_history.MAX_ITEMS])


async def confirm(
    options: ScanOptions, inventory: Inventory, findings: Sequence[Finding]
) -> tuple[Confirmation, CallStats]:
    """The findings with AWS's disagreements and failed notifications noted, how many there
    were, and the calls made."""
    checks = plan(inventory, findings)
    lookups = alarm_history.plan(findings)
    since = alarm_history.history_start(inventory.collected_at) or (
        datetime.now(UTC) - timedelta(days=alarm_history.HISTORY_DAYS)
    )
    scan = _Scan(options, None)
    try:
        answers, histories = await asyncio.gather(
            asyncio.gather(*(_engine(scan, check) for check in checks)),
            asyncio.gather(*(_history(scan, lookup, since) for lookup in lookups)),
        )
    finally:
        await scan.close()
    engine = apply(findings, checks, dict(enumerate(answers)))
    evidence = alarm_history.apply(engine.findings, lookups, dict(enumerate(histories)))
    result = dataclasses.replace(
        engine,
        findings=evidence.findings,
        lookups=evidence.lookups,
        history_disagreements=evidence.disagreements,
        failed_actions=evidence.failed_actions,
        lookup_failures=evidence.failures,
    )
    log.info(
        "engine_confirmation",
        calls=result.checks,
        disagreements=result.disagreements,
        failures=result.failures,
        history_lookups=result.lookups,
        history_disagreements=result.history_disagreements,
        failed_actions=result.failed_actions,
        history_failures=result.lookup_failures,
    )
    return result, scan.stats


__all__ = ["confirm"]


def _next(token: str | None) -> dict[str, Any]:
    """The page parameter of a paged call after the first page."""
    return {"NextToken": token} if token else {}
