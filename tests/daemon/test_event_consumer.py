"""The event consumer's decisions, without AWS: what a message is, what it makes us re-read,
and whose verdicts it can move. The queue and the re-reads run against moto in
test_e2e_events.py."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from scanner.aws.events import QueueMessage, Read, queue_region
from scanner.aws.regions import RegionScope
from scanner.daemon.config import from_mapping
from scanner.daemon.events import ChangeEvent, EventConsumer, parse, reads_for
from scanner.daemon.metrics import Metrics
from scanner.daemon.scheduler import Service
from scanner.daemon.sharding import Shard
from scanner.evaluate.change_events import EVENT_LINKS, links_for
from scanner.model import Account, Link
from scanner.testing.builders import (
    HOME_REGION,
    LOG_GROUP_NAME,
    MANAGEMENT_ACCOUNT_ID,
    MEMBER_ACCOUNT_ID,
    TRAIL_NAME,
    healthy_account,
    organization,
    topic_arn,
    trail_arn,
    with_alarm,
)

ACCOUNT = healthy_account()


def body(
    name: str = "DeleteAlarms", source: str = "monitoring.amazonaws.com", **detail: Any
) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": "e-1",
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.monitoring",
            "account": MEMBER_ACCOUNT_ID,
            "time": "2026-12-07T06:00:00Z",
            "region": HOME_REGION,
            "detail": {
                "eventSource": source,
                "eventName": name,
                "awsRegion": HOME_REGION,
                "eventTime": "2026-12-07T06:00:00Z",
                "recipientAccountId": MEMBER_ACCOUNT_ID,
                "requestParameters": {"alarmNames": ["x"]},
                **detail,
            },
        }
    )


def event(event_name: str, source: str, **parameters: Any) -> ChangeEvent:
    return ChangeEvent("e", source, event_name, ACCOUNT.id, HOME_REGION, 0.0, parameters)


def test_an_eventbridge_envelope_of_a_cloudtrail_call_is_parsed() -> None:
    found = parse(body())
    assert found is not None
    assert (found.source, found.name, found.account_id, found.region) == (
        "monitoring.amazonaws.com",
        "DeleteAlarms",
        MEMBER_ACCOUNT_ID,
        HOME_REGION,
    )
    assert found.time == 1796623200.0 and found.error_code is None
    assert parse(body(errorCode="AccessDenied")).error_code == "AccessDenied"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({"detail-type": "Scheduled Event", "detail": {}}),
        body().replace('"recipientAccountId": "222222222222"', '"recipientAccountId": "12"'),
        body().replace('"eventName": "DeleteAlarms"', '"eventName": 7'),
        body().replace("2026-12-07T06:00:00Z", "yesterday"),
    ],
)
def test_anything_else_is_malformed(text: str) -> None:
    assert parse(text) is None


def test_the_table_names_the_links_of_chain_events_only() -> None:
    assert links_for("cloudtrail.amazonaws.com", "StopLogging") == frozenset({Link.LOGGING})
    assert links_for("sns.amazonaws.com", "Unsubscribe") == frozenset({Link.SUBSCRIBER})
    assert links_for("ec2.amazonaws.com", "RunInstances") is None
    assert all(links for links in EVENT_LINKS.values())


def test_each_change_reads_only_the_part_it_names() -> None:
    topic = topic_arn(ACCOUNT.id)
    alarms = reads_for(
        event("DeleteAlarms", "monitoring.amazonaws.com", alarmNames=["a"]),
        links_for("monitoring.amazonaws.com", "DeleteAlarms") or frozenset(),
        ACCOUNT,
    )
    assert alarms == (Read("alarms", HOME_REGION),)
    stop = reads_for(
        event("StopLogging", "cloudtrail.amazonaws.com", name=TRAIL_NAME),
        frozenset({Link.LOGGING}),
        ACCOUNT,
    )
    assert stop == (Read("trail", HOME_REGION, trail_arn(ACCOUNT.id)),)
    unsubscribe = reads_for(
        event("Unsubscribe", "sns.amazonaws.com", subscriptionArn=f"{topic}:1234-abcd"),
        frozenset({Link.SUBSCRIBER}),
        ACCOUNT,
    )
    assert unsubscribe == (Read("topic", HOME_REGION, topic),)
    filters = reads_for(
        event("DeleteMetricFilter", "logs.amazonaws.com", logGroupName=LOG_GROUP_NAME),
        frozenset({Link.FILTER}),
        ACCOUNT,
    )
    assert filters == (Read("log_group", HOME_REGION, LOG_GROUP_NAME),)


def test_what_a_narrow_read_cannot_say_reads_the_whole_account() -> None:
    whole = (Read("account"),)
    assert reads_for(event("UpdateTrail", "c"), frozenset({Link.TRAIL}), ACCOUNT) == whole
    assert reads_for(event("DisableKey", "k"), frozenset({Link.TOPIC_KEY}), ACCOUNT) == whole
    unknown_trail = event("StopLogging", "c", name="someone-elses")
    assert reads_for(unknown_trail, frozenset({Link.LOGGING}), ACCOUNT) == whole


def test_a_resource_no_chain_uses_needs_no_read() -> None:
    other_group = event("DeleteMetricFilter", "logs.amazonaws.com", logGroupName="app-logs")
    assert reads_for(other_group, frozenset({Link.FILTER}), ACCOUNT) == ()
    other_topic = event("DeleteTopic", "sns", topicArn=topic_arn(ACCOUNT.id, name="builds"))
    assert reads_for(other_topic, frozenset({Link.TOPIC}), ACCOUNT) == ()


def test_queue_urls_name_their_region() -> None:
    assert queue_region("https://sqs.eu-west-1.amazonaws.com/111111111111/q", "x") == "eu-west-1"
    assert queue_region("http://127.0.0.1:4566/000000000001/scanner-events", "x") == "x"


def service_over(inventory: Any) -> Service:
    config = from_mapping({"organization": {"enabled": False}}, {})
    service = Service(config, Shard(), Metrics())
    service.inventory = inventory
    service.covered = frozenset(a.id for a in inventory.accounts)
    return service


def test_a_management_change_rejudges_every_member_a_member_change_only_itself() -> None:
    inventory = organization(members=3)
    service = service_over(inventory)
    members = {a.id for a in inventory.accounts} - {MANAGEMENT_ACCOUNT_ID}
    member = sorted(members)[0]
    assert service.dependents(frozenset({member})) == {member}
    assert service.dependents(frozenset({MANAGEMENT_ACCOUNT_ID})) == members | {
        MANAGEMENT_ACCOUNT_ID
    }


def test_a_topic_owner_change_rejudges_the_accounts_whose_alarms_notify_it() -> None:
    owner = healthy_account("333333333333", "alerts")
    alarm = next(a for r in ACCOUNT.regions.values() for a in r.alarms or ())
    central = topic_arn(owner.id)
    notifying = with_alarm(ACCOUNT, alarm.name, alarm_actions=(central,))
    inventory = organization(members=[notifying, owner])
    service = service_over(inventory)
    assert service.dependents(frozenset({owner.id})) == {owner.id, ACCOUNT.id}


class SlowSession:
    """An event session whose re-read outlasts the visibility timeout: the message comes back
    (a new receipt handle) while the consumer still works on it."""

    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.reading = asyncio.Event()
        self.finish = asyncio.Event()
        self.scope = RegionScope()

    async def reread(self, account: Account, reads: Any, inventory: Any) -> dict[str, Account]:
        self.reading.set()
        await self.finish.wait()
        return {account.id: account}

    async def delete(self, url: str, messages: Any) -> list[str]:
        self.deleted.extend(m.receipt for m in messages)
        return []


def test_a_message_back_during_its_rejudgement_is_deleted_by_its_latest_receipt() -> None:
    async def scenario() -> None:
        inventory = organization(members=[ACCOUNT])  # its own alarms: DeleteAlarms reads them
        config = from_mapping(
            {"events": {"enabled": True, "queue_urls": ["http://q/1/scanner-events"]}}, {}
        )
        service = Service(config, Shard(), Metrics())
        service.inventory = inventory
        service.covered = frozenset(a.id for a in inventory.accounts)
        session = SlowSession()
        consumer = EventConsumer(service, session, service.metrics)  # type: ignore[arg-type]
        first = QueueMessage("m-1", "receipt-1", body())
        await consumer.take([first])
        flushing = asyncio.create_task(consumer.flush(everything=True))
        await asyncio.wait_for(session.reading.wait(), 10)
        await consumer.take([QueueMessage("m-1", "receipt-2", body(), receives=2)])
        assert not consumer.pending  # the same message is not acted on twice
        session.finish.set()
        await asyncio.wait_for(flushing, 10)
        assert session.deleted == ["receipt-2"]
        assert consumer.stats.acted == 1 and not consumer.receipts

    asyncio.run(scenario())
