"""``--confirm``: ask CloudWatch Logs' own engine whether it agrees with the scanner's matcher.

One read-only ``logs:TestMetricFilter`` call per question :func:`scanner.evaluate.confirm.plan`
writes (a filter's pattern and up to 50 events), in the filter's account and region, through the
same rate limits, retries and identities as the scan. The answers become notes on the findings
(:func:`scanner.evaluate.confirm.apply`); no verdict changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from scanner.aws.gateway import CallFailed, CallStats
from scanner.aws.scan import ScanOptions, _Scan
from scanner.evaluate.confirm import Check, Confirmation, apply, plan
from scanner.model import Finding, Inventory

log = structlog.get_logger(__name__)


async def confirm(
    options: ScanOptions, inventory: Inventory, findings: Sequence[Finding]
) -> tuple[Confirmation, CallStats]:
    """The findings with AWS's disagreements noted, how many there were, and the calls made."""
    checks = plan(inventory, findings)
    scan = _Scan(options, None)

    async def ask(check: Check) -> frozenset[int] | str:
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

    try:
        answers = await asyncio.gather(*(ask(check) for check in checks))
    finally:
        await scan.pool.close()
    result = apply(findings, checks, dict(enumerate(answers)))
    log.info(
        "engine_confirmation",
        calls=result.checks,
        disagreements=result.disagreements,
        failures=result.failures,
    )
    return result, scan.caller.stats


__all__ = ["confirm"]
