"""End to end through moto's server: a control that breaks alerts once, its fix resolves once,
a restart on the same state sends nothing, and a receiver that refuses for a while still gets
every alert exactly once when it recovers.

The daemon's parts are the real ones (collector over HTTP, evaluator, SQLite state, outbox,
dispatcher, a local aiohttp receiver); scans are started by the test instead of the timer.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from daemon.test_alerts import SECRET, Receiver, serving

from scanner.daemon.alerts import AlertDispatcher
from scanner.daemon.config import Config, from_mapping
from scanner.daemon.metrics import Metrics
from scanner.daemon.scheduler import Service
from scanner.daemon.sharding import Shard
from scanner.daemon.state import StateStore
from scanner.testing.emulation import (
    MANAGEMENT_ACCOUNT_ID,
    MOTO_ERROR_SHAPE_WARNING,
    AccountSpec,
    OrganizationSpec,
    TopicSpec,
    TrailSpec,
    emulate,
    fake_credentials,
    monitors,
)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(MOTO_ERROR_SHAPE_WARNING)]

RULES = ("iam-policy-changes", "ssm-actions")
LOG_GROUP = "trail-logs"
ORGANIZATION = OrganizationSpec(
    management=AccountSpec(
        MANAGEMENT_ACCOUNT_ID,
        "management",
        trails=(TrailSpec("account-trail", log_group=LOG_GROUP, monitors=monitors(*RULES)),),
        topics=(TopicSpec(),),
    )
)


def daemon_config(endpoint: str, state: Path, receiver: str, secret: Path) -> Config:
    return from_mapping(
        {
            "organization": {"enabled": False},
            "regions": {"include": ["us-east-1"]},
            "rules": {"profile": "cloudguard"},
            "state": {"path": str(state)},
            "alerts": {
                "webhooks": [{"name": "relay", "url": receiver, "secret_file": str(secret)}],
                "retry": {"initial": "1s", "max": "1s"},
            },
            "endpoint_url": endpoint,
        },
        {},
    )


class Daemon:
    """Service + store + dispatcher, wired as in .lifecycle, with scans started by hand."""

    def __init__(self, cfg: Config) -> None:
        self.store = StateStore.open(cfg.state.path)
        self.dispatcher = AlertDispatcher(self.store, cfg.alerts)
        self.service = Service(
            cfg, Shard(), Metrics(), store=self.store, dispatcher=self.dispatcher
        )

    async def scan_and_deliver(self, receiver: Receiver, expected: int) -> None:
        outcome = await self.service.scan_once()
        assert outcome.record.outcome == "success", outcome.error
        for _ in range(50):  # a refusing receiver is retried after the 1 s backoff
            await self.dispatcher.deliver_pending()
            if len(receiver.accepted) >= expected and not self.store.pending_counts().get("relay"):
                return
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        await self.dispatcher.aclose()
        self.store.close()


def bodies(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.accepted]


def test_a_break_alerts_once_its_fix_resolves_once_and_a_restart_sends_nothing(
    tmp_path: Path,
) -> None:
    emulator = emulate(ORGANIZATION)
    secret = tmp_path / "secret"
    secret.write_text(SECRET)

    async def scenario() -> None:
        logs = boto3.client("logs", region_name="us-east-1", endpoint_url=emulator.endpoint_url)
        receiver = Receiver()
        async with serving(receiver):
            cfg = daemon_config(emulator.endpoint_url, tmp_path / "state.db", receiver.url, secret)
            daemon = Daemon(cfg)
            try:
                # The first scan on an empty state alerts nobody (installing floods no one).
                await daemon.scan_and_deliver(receiver, 0)
                assert receiver.accepted == []

                # Break one control: its metric filter disappears.
                saved = logs.describe_metric_filters(
                    logGroupName=LOG_GROUP, filterNamePrefix="IAMPolicyChanges"
                )["metricFilters"][0]
                logs.delete_metric_filter(logGroupName=LOG_GROUP, filterName=saved["filterName"])
                receiver.statuses = [503, 503]  # and the receiver is down for a while
                await daemon.scan_and_deliver(receiver, 1)
                [failed] = bodies(receiver)
                assert (failed["account"]["id"], failed["rule"]) == (
                    MANAGEMENT_ACCOUNT_ID,
                    "iam-policy-changes",
                )
                assert (failed["from"], failed["to"], failed["broken_link"]["link"]) == (
                    "PASS",
                    "FAIL",
                    "filter",
                )
                assert failed["remediation"]["cli"]  # the fix travels with the alert
                assert len(receiver.requests) == 3  # two refusals, then delivered once

                # Fix it: one resolution, nothing else.
                logs.put_metric_filter(
                    logGroupName=LOG_GROUP,
                    filterName=saved["filterName"],
                    filterPattern=saved["filterPattern"],
                    metricTransformations=saved["metricTransformations"],
                )
                await daemon.scan_and_deliver(receiver, 2)
                resolved = bodies(receiver)[1]
                assert (resolved["rule"], resolved["from"], resolved["to"]) == (
                    "iam-policy-changes",
                    "FAIL",
                    "PASS",
                )
            finally:
                await daemon.close()

            # A restart on the same state file: the same verdicts, nothing new to send.
            again = Daemon(cfg)
            try:
                again.service.restore()
                await again.scan_and_deliver(receiver, 2)
            finally:
                await again.close()
            assert len(receiver.accepted) == 2
            keys = [r.headers.get("Idempotency-Key") for r in receiver.accepted]
            assert len(set(keys)) == 2

    with fake_credentials():
        asyncio.run(scenario())
