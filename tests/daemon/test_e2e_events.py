"""End to end through moto's server: a chain broken in a member is alerted seconds after its
CloudTrail event arrives in the queue, without a scheduled scan.

moto emits no CloudTrail event and has no EventBridge, so the test does what a member's
forwarding rule would: it puts the event EventBridge delivers (the envelope of a CloudTrail
call) into the SQS queue, in moto. Everything else is the daemon's own: the consumer long-polls
moto's SQS, re-reads the member's alarms through moto, commits through the SQLite state and the
outbox, and the dispatcher delivers the webhook. The schedule's interval is an hour: only the
first scan runs (unless a test asks for another).
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from daemon.test_alerts import SECRET, Receiver, serving
from e2e.faults import WARNING_FILTER, inject
from moto.cloudwatch.models import cloudwatch_backends
from moto.sqs.responses import SQSResponse

from scanner.aws.events import EventSession
from scanner.catalog import load_catalog
from scanner.daemon import events as events_module
from scanner.daemon.alerts import AlertDispatcher
from scanner.daemon.config import Config, from_mapping
from scanner.daemon.events import EventConsumer
from scanner.daemon.lifecycle import Daemon
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

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings(MOTO_ERROR_SHAPE_WARNING),
    pytest.mark.filterwarnings(WARNING_FILTER),
]

RULES = ("iam-policy-changes", "ssm-actions")
MEMBER = "222222222222"
REGION = "us-east-1"
ORGANIZATION = OrganizationSpec(
    management=AccountSpec(MANAGEMENT_ACCOUNT_ID, "management"),
    members=(
        AccountSpec(
            MEMBER,
            "payments",
            trails=(TrailSpec("member-trail", log_group="member-logs", monitors=monitors(*RULES)),),
            topics=(TopicSpec(),),
        ),
    ),
)
IAM_ALARM = load_catalog().rule("iam-policy-changes").remediation.alarm_name


def daemon_config(endpoint: str, state: Path, receiver: str, secret: Path, queue: str) -> Config:
    return from_mapping(
        {
            "organization": {"enabled": True},
            "regions": {"include": [REGION]},
            "rules": {"profile": "cloudguard"},
            "state": {"path": str(state)},
            "schedule": {"interval": "1h", "jitter": "0s"},
            "limits": {"max_attempts": 1},
            "alerts": {
                "webhooks": [{"name": "relay", "url": receiver, "secret_file": str(secret)}],
                "retry": {"initial": "1s", "max": "1s"},
            },
            "events": {
                "enabled": True,
                "queue_urls": [queue],
                "wait_seconds": 1,
                "debounce": "200ms",
            },
            "endpoint_url": endpoint,
        },
        {},
    )


def cloudtrail_event(
    account: str, source: str, name: str, parameters: dict[str, Any], **detail: Any
) -> str:
    """The body EventBridge puts in SQS for a CloudTrail call (what a forwarding rule sends)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws." + source.split(".", maxsplit=1)[0],
            "account": account,
            "time": now,
            "region": REGION,
            "resources": [],
            "detail": {
                "eventVersion": "1.09",
                "eventTime": now,
                "eventSource": source,
                "eventName": name,
                "awsRegion": REGION,
                "requestParameters": parameters,
                "recipientAccountId": account,
                "eventType": "AwsApiCall",
                **detail,
            },
        }
    )


def delete_alarm_event() -> str:
    return cloudtrail_event(
        MEMBER, "monitoring.amazonaws.com", "DeleteAlarms", {"alarmNames": [IAM_ALARM]}
    )


@dataclass
class Wired:
    """Service, store, dispatcher and consumer as the daemon wires them; scans by hand."""

    service: Service
    store: StateStore
    dispatcher: AlertDispatcher
    consumer: EventConsumer
    session: EventSession
    sqs: Any
    queue: str

    def send(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.queue, MessageBody=body)

    @property
    def events(self) -> Any:
        return self.service.metrics.state.events


async def eventually(check: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


def queue_of(endpoint: str) -> tuple[Any, str]:
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
    return sqs, sqs.create_queue(QueueName="scanner-events")["QueueUrl"]


@asynccontextmanager
async def wired(tmp_path: Path, receiver: Receiver) -> AsyncIterator[Wired]:
    emulator = emulate(ORGANIZATION)
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    sqs, queue = queue_of(emulator.endpoint_url)
    cfg = daemon_config(emulator.endpoint_url, tmp_path / "state.db", receiver.url, secret, queue)
    store = StateStore.open(cfg.state.path)
    dispatcher = AlertDispatcher(store, cfg.alerts)
    metrics = Metrics()
    service = Service(cfg, Shard(), metrics, store=store, dispatcher=dispatcher)
    session = EventSession(service.options)
    consumer = EventConsumer(service, session, metrics)
    stop = asyncio.Event()
    first = await service.scan_once()  # the baseline: no alert
    assert first.record.outcome == "success", first.error
    tasks = [
        asyncio.create_task(consumer.run(stop)),
        asyncio.create_task(dispatcher.run(stop)),
    ]
    try:
        yield Wired(service, store, dispatcher, consumer, session, sqs, queue)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await session.close()
        await dispatcher.aclose()
        store.close()


def test_a_member_alarm_deleted_is_alerted_from_its_event_without_a_scan(tmp_path: Path) -> None:
    async def scenario() -> None:
        receiver = Receiver()
        async with serving(receiver), wired(tmp_path, receiver) as daemon:
            findings = {(f.account_id, f.rule): f for f in daemon.service.findings()}
            assert findings[(MEMBER, "iam-policy-changes")].status.value == "PASS"

            cloudwatch_backends[MEMBER][REGION].delete_alarms([IAM_ALARM])
            daemon.send(delete_alarm_event())
            await eventually(lambda: len(receiver.accepted) == 1)

            [alert] = [json.loads(r.body) for r in receiver.accepted]
            assert (alert["account"]["id"], alert["rule"], alert["from"], alert["to"]) == (
                MEMBER,
                "iam-policy-changes",
                "PASS",
                "FAIL",
            )
            assert alert["broken_link"]["link"] == "alarm"
            assert daemon.service.health.scans == 1  # no scheduled scan ran
            now = {(f.account_id, f.rule): f.status.value for f in daemon.service.findings()}
            assert now[(MEMBER, "iam-policy-changes")] == "FAIL"
            assert now[(MEMBER, "ssm-actions")] == "PASS"  # the other rule still holds
            stats = daemon.events
            # The alert leaves with the commit; the message is counted once it is deleted.
            await eventually(lambda: stats.acted == 1)
            assert (stats.received, stats.acted) == (1, 1)
            assert sum(stats.detection) == 1 and stats.detection_sum < 20
            exposition = daemon.service.metrics.exposition().decode()
            assert "scanner_events_acted_total 1.0" in exposition
            assert 'scanner_event_last_timestamp_seconds{aws_region="us-east-1"}' in exposition

            # The same event delivered again (SQS is at least once): nothing new is sent.
            daemon.send(delete_alarm_event())
            await eventually(lambda: daemon.events.acted == 2)
            await daemon.dispatcher.deliver_pending()
            assert len(receiver.accepted) == 1
            queued = daemon.sqs.get_queue_attributes(
                QueueUrl=daemon.queue, AttributeNames=["ApproximateNumberOfMessages"]
            )
            assert queued["Attributes"]["ApproximateNumberOfMessages"] == "0"

    with fake_credentials():
        asyncio.run(scenario())


def test_malformed_foreign_and_unknown_events_are_counted_and_dropped(tmp_path: Path) -> None:
    async def scenario() -> None:
        receiver = Receiver()
        async with serving(receiver), wired(tmp_path, receiver) as daemon:
            daemon.send("not json")
            daemon.send(json.dumps({"detail-type": "AWS API Call via CloudTrail"}))
            daemon.send(delete_alarm_event().replace(MEMBER, "999999999999"))
            daemon.send(cloudtrail_event(MEMBER, "ec2.amazonaws.com", "RunInstances", {}))
            daemon.send(
                cloudtrail_event(
                    MEMBER,
                    "monitoring.amazonaws.com",
                    "DeleteAlarms",
                    {"alarmNames": ["nope"]},
                    errorCode="ResourceNotFound",
                )
            )
            await eventually(lambda: daemon.events.received == 5)
            await eventually(lambda: sum(daemon.events.ignored.values()) == 5)
            assert dict(daemon.events.ignored) == {
                "malformed": 2,
                "foreign_account": 1,
                "unknown_event": 1,
                "failed_call": 1,
            }
            assert daemon.events.acted == 0
            exposition = daemon.service.metrics.exposition().decode()
            assert 'scanner_events_ignored_total{reason="malformed"} 2.0' in exposition
            await eventually(lambda: not queue_depth(daemon))
            assert receiver.accepted == []
            assert daemon.service.health.scans == 1

    with fake_credentials():
        asyncio.run(scenario())


def queue_depth(daemon: Wired) -> int:
    attributes = daemon.sqs.get_queue_attributes(
        QueueUrl=daemon.queue,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_a_forwarding_rule_removed_is_counted_per_account_and_region(tmp_path: Path) -> None:
    async def scenario() -> None:
        receiver = Receiver()
        async with serving(receiver), wired(tmp_path, receiver) as daemon:
            daemon.send(
                cloudtrail_event(MEMBER, "events.amazonaws.com", "DisableRule", {"name": "fwd"})
            )
            await eventually(lambda: bool(daemon.events.forwarding_changes))
            assert dict(daemon.events.forwarding_changes) == {(MEMBER, REGION): 1}
            exposition = daemon.service.metrics.exposition().decode()
            assert (
                f'scanner_event_forwarding_changes_total{{account_id="{MEMBER}",'
                f'aws_region="{REGION}"}} 1.0'
            ) in exposition

    with fake_credentials():
        asyncio.run(scenario())


def test_an_unreachable_queue_backs_off_the_schedule_goes_on_and_nothing_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue answers 503 for a while: the consumer backs off, a scheduled scan still
    runs, /healthz stays 200, and the event sent meanwhile is acted on once the queue is back."""
    monkeypatch.setattr(events_module, "BACKOFF", (0.2, 1.0))
    emulator = emulate(ORGANIZATION)
    secret = tmp_path / "secret"
    secret.write_text(SECRET)

    async def scenario() -> None:
        receiver = Receiver()
        sqs, queue = queue_of(emulator.endpoint_url)
        async with serving(receiver):
            cfg = daemon_config(
                emulator.endpoint_url, tmp_path / "state.db", receiver.url, secret, queue
            )
            cfg = cfg.replace("schedule", interval=4.0).replace("http", listen="127.0.0.1:0")
            async with Daemon(cfg) as daemon:
                service = daemon.service
                assert service is not None
                await eventually(lambda: service.events_active)
                faults = inject(
                    monkeypatch, SQSResponse, "receive_message", "ServiceUnavailable", times=12
                )
                # A long poll already in flight would still take the message: send it only once
                # a receive has met the fault (every later one does, until the 12 are spent).
                await eventually(lambda: faults[0] >= 1)
                cloudwatch_backends[MEMBER][REGION].delete_alarms([IAM_ALARM])
                sqs.send_message(QueueUrl=queue, MessageBody=delete_alarm_event())
                scans = service.health.scans
                events = service.metrics.state.events
                # moto counts a fault as it answers; the consumer, once it has read the answer.
                await eventually(lambda: faults[0] >= 4 and events.receive_errors >= 4)
                assert events.receive_errors >= 4 and events.acted == 0
                assert healthz(daemon.url) == 200
                await eventually(lambda: service.health.scans > scans, 30)  # the schedule runs
                await eventually(lambda: faults[0] == 12, 30)
                # The scan found the change first: no event had announced it, so the event path
                # is counted as having missed it (what the alert on that counter is for).
                assert events.changes_missed == 1
                # The queue is back: the message is received and acted on, never lost.
                await eventually(lambda: events.acted == 1, 30)
                assert events.received == 1
                assert healthz(daemon.url) == 200
                await eventually(lambda: len(receiver.accepted) == 1, 10)
                [alert] = [json.loads(r.body) for r in receiver.accepted]
                assert (alert["account"]["id"], alert["to"]) == (MEMBER, "FAIL")

    with fake_credentials():
        asyncio.run(scenario())


def healthz(base: str) -> int:
    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
        return int(response.status)
