"""The event path's AWS calls: the SQS queue EventBridge fills, and narrow re-reads of accounts.

:class:`EventSession` lives as long as the daemon, on the daemon's
:class:`~scanner.aws.session.AwsSession` (the one its scans use): one client pool, one call
gateway and one set of identities, so an event for an account a scan entered costs no
AssumeRole and no new client, and events and scans share each account's pacing. Its calls are
throttled, retried and counted like a scan's; ``session.stats`` counts them (a scan's calls
are counted in the scan's own stats). Without a session given it builds its own.

The queue: ReceiveMessage (long poll), DeleteMessage,
GetQueueAttributes (its depth). The re-reads (:class:`Read`) name one part of one account, and
each does what the collector's plan does for that part (:class:`~scanner.aws.account.
AccountCollector`'s ``refresh_*``), on the account's last collected data, which it replaces:

* ``trail``: GetTrailStatus and GetEventSelectors of one trail the account owns;
* ``log_group``: DescribeMetricFilters of one log group a trail delivers to, then the region's
  DescribeAlarms (which alarms are kept depends on the filters) and the topics new alarms name;
* ``alarms``: DescribeAlarms in one region, and the topics new alarms name;
* ``topic``: one topic read again (subscriptions, attributes, filter policies, its key);
* ``account``: the whole account read again, as a scan reads it (what the others cannot say).

Topics of other accounts that a re-read alarm names and the inventory lacks are read with the
owner's identity and land in the owner's account, as in a scan.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog

from scanner.aws.account import AccountCollector, AccountData, RegionData, collect_topics
from scanner.aws.clients import Client, Identity
from scanner.aws.gateway import CallFailed, CallStats
from scanner.aws.regions import listing_region
from scanner.aws.scan import ScanOptions
from scanner.aws.session import AwsSession
from scanner.model import Account, CollectionError, Inventory, arn_account, is_sns_topic

log = structlog.get_logger(__name__)

READ_KINDS = ("account", "trail", "log_group", "alarms", "topic")
# The operations each re-read makes: their earlier failures are forgotten when it is made again.
_OPERATIONS = {
    "trail": ("GetTrailStatus", "GetEventSelectors"),
    "log_group": ("DescribeMetricFilters", "DescribeLogGroups", "DescribeAlarms"),
    "alarms": ("DescribeAlarms",),
    "topic": (
        "ListSubscriptionsByTopic",
        "GetTopicAttributes",
        "GetSubscriptionAttributes",
        "DescribeKey",
        "GetKeyPolicy",
    ),
}
_QUEUE_HOST = re.compile(r"^(?:sqs\.)?([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:queue\.)?amazonaws\.com")


@dataclass(frozen=True)
class QueueMessage:
    """One message received: its body and what SQS says of it."""

    id: str
    receipt: str
    body: str
    sent: float | None = None  # SentTimestamp, Unix seconds
    receives: int = 1  # ApproximateReceiveCount


@dataclass(frozen=True)
class Read:
    """One part of one account to read again (see the module docstring for the kinds)."""

    kind: str  # one of READ_KINDS
    region: str = ""
    name: str = ""  # the trail's ARN, the log group's name or the topic's ARN


def queue_region(url: str, default: str) -> str:
    """The region a queue URL names (``https://sqs.eu-west-1.amazonaws.com/...``), else
    ``default`` (an emulator's URL names none)."""
    found = _QUEUE_HOST.match(urlsplit(url).hostname or "")
    return found.group(1) if found else default


def thaw(account: Account) -> AccountData:
    """The collector's working copy of a collected account, to re-read parts of."""
    data = AccountData(account.id, errors=list(account.errors))
    for name, region in account.regions.items():
        data.regions[name] = RegionData(
            trails=None if region.trails is None else list(region.trails),
            log_groups=dict(region.log_groups),
            alarms=None if region.alarms is None else list(region.alarms),
            topics=dict(region.topics),
            composite_alarms=(
                None if region.composite_alarms is None else list(region.composite_alarms)
            ),
        )
    return data


def _forget(data: AccountData, read: Read) -> None:
    """Drop what a re-read replaces: the earlier failures of its calls there, and the topic."""
    operations = _OPERATIONS.get(read.kind, ())

    def stale(error: CollectionError) -> bool:
        if error.operation not in operations:
            return False
        if read.kind in ("alarms", "log_group") and error.operation == "DescribeAlarms":
            return error.region in (None, read.region)
        if read.kind == "topic":
            resource = error.resource or ""
            return resource == read.name or resource.startswith(read.name + ":")
        return error.resource in (None, read.name)

    data.errors = [e for e in data.errors if not stale(e)]
    if read.kind == "topic":
        region = data.regions.get(read.region)
        if region is not None:
            region.topics.pop(read.name, None)


class EventSession:
    """The daemon's long-lived AWS session for events; see the module docstring."""

    def __init__(self, options: ScanOptions, session: AwsSession | None = None) -> None:
        self.options = options
        self._owned = session is None  # else the daemon's: closed by its owner
        shared = session or AwsSession(options)
        self.pool = shared.pool
        self.caller = shared.caller
        self.home = shared.home
        self.scope = shared.scope
        self.credentials = shared.credentials
        self._listing_region: str | None = None

    @property
    def stats(self) -> CallStats:
        """Every call of the event path so far (cumulative; scans count theirs apart)."""
        return self.caller.stats

    async def close(self) -> None:
        if self._owned:
            await self.pool.close()

    # ---------------------------------------------------------------------------- the queue

    async def _me(self) -> Identity:
        return await self.credentials.caller_identity()

    async def receive(self, url: str, max_messages: int, wait_seconds: int) -> list[QueueMessage]:
        """Up to ``max_messages`` messages, waiting up to ``wait_seconds`` for the first one;
        raises :class:`CallFailed` (or :class:`~scanner.errors.ScanError` without credentials)."""
        client = await self.pool.client(await self._me(), queue_region(url, self.home), "sqs")
        response = await self.caller.call(
            client,
            "ReceiveMessage",
            resource=url,
            QueueUrl=url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
        )
        messages = []
        for item in response.get("Messages") or ():
            attributes = item.get("Attributes") or {}
            sent = attributes.get("SentTimestamp")
            messages.append(
                QueueMessage(
                    id=str(item.get("MessageId") or ""),
                    receipt=str(item.get("ReceiptHandle") or ""),
                    body=str(item.get("Body") or ""),
                    sent=int(sent) / 1000 if sent else None,
                    receives=int(attributes.get("ApproximateReceiveCount") or 1),
                )
            )
        return messages

    async def delete(self, url: str, messages: Sequence[QueueMessage]) -> list[str]:
        """Delete the messages (one DeleteMessage each, concurrently: the IAM action is the
        same as the batch's, and a failure stays one message's); the ids not deleted."""
        client = await self.pool.client(await self._me(), queue_region(url, self.home), "sqs")
        results = await asyncio.gather(*(self._delete_one(client, url, m) for m in messages))
        return [r for r in results if r is not None]

    async def _delete_one(self, client: Client, url: str, message: QueueMessage) -> str | None:
        try:
            await self.caller.call(
                client, "DeleteMessage", resource=url, QueueUrl=url, ReceiptHandle=message.receipt
            )
        except CallFailed as failed:
            log.warning("event_delete_failed", message_id=message.id, error=str(failed))
            return message.id
        return None

    async def depth(self, url: str) -> int:
        """ApproximateNumberOfMessages: the messages waiting to be received."""
        client = await self.pool.client(await self._me(), queue_region(url, self.home), "sqs")
        response = await self.caller.call(
            client,
            "GetQueueAttributes",
            resource=url,
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages"],
        )
        attributes = response.get("Attributes") or {}
        return int(attributes.get("ApproximateNumberOfMessages") or 0)

    # ---------------------------------------------------------------------------- re-reads

    async def _listing(self) -> str:
        if self._listing_region is None:
            me = await self._me()
            self._listing_region = await listing_region(
                self.scope, self.home, self.pool, me.partition
            )
        return self._listing_region

    async def reread(
        self, account: Account, reads: Iterable[Read], inventory: Inventory
    ) -> dict[str, Account]:
        """The account with the parts ``reads`` name read again, and any other account whose
        topics its alarms newly name (read there); by id. A failed call is recorded in the
        account's errors, as a scan records it; an account that cannot be entered comes back
        with ``error`` set."""
        try:
            identity = await self.credentials.for_account(account.id)
        except CallFailed as failed:
            return {account.id: dataclasses.replace(account, error=failed.error)}
        reads = sorted(set(reads), key=lambda r: (READ_KINDS.index(r.kind), r.region, r.name))
        whole = any(r.kind == "account" for r in reads)
        data = AccountData(account.id) if whole else thaw(account)
        collector = AccountCollector(
            self.caller,
            self.pool,
            identity,
            scope=self.scope,
            listing_region=await self._listing(),
            data=data,
        )
        foreign: set[str] = set()
        if whole:
            foreign |= await collector.run()
        else:
            for read in reads:
                _forget(data, read)
            foreign |= await self._partial(collector, account, reads)
        fresh = data.freeze(account.name, account.ou_path, account.ou_ids, account.partition)
        fresh = dataclasses.replace(fresh, status=account.status)
        changed = {account.id: fresh}
        changed.update(await self._foreign_topics(foreign, inventory))
        return changed

    async def _partial(
        self, collector: AccountCollector, account: Account, reads: Sequence[Read]
    ) -> set[str]:
        foreign: set[str] = set()
        trails = {
            t.arn: t
            for region in account.regions.values()
            for t in region.trails or ()
            if t.account_id == account.id
        }
        topics: set[str] = set()
        for read in reads:
            if read.kind == "trail" and read.name in trails:
                await collector.refresh_trail(trails[read.name])
            elif read.kind == "log_group":
                foreign |= await collector.refresh_log_group(read.region, read.name)
            elif read.kind == "alarms":
                foreign |= await collector.refresh_alarms(read.region)
            elif read.kind == "topic":
                topics.add(read.name)
        if topics:
            await collect_topics(
                self.caller,
                self.pool,
                collector.identity,
                topics,
                collector.data,
                scope=self.scope,
            )
        return foreign

    async def _foreign_topics(self, arns: set[str], inventory: Inventory) -> dict[str, Account]:
        """Topics of other accounts the inventory does not hold yet, read with their owner's
        identity into the owner's account (only owners the inventory holds: members)."""
        if not arns:
            return {}
        known = {
            arn
            for account in inventory.accounts
            for region in account.regions.values()
            for arn in region.topics
        }
        by_owner: dict[str, set[str]] = {}
        for arn in arns - known:
            if is_sns_topic(arn):
                by_owner.setdefault(arn_account(arn), set()).add(arn)
        changed: dict[str, Account] = {}

        async def read(owner: Account, wanted: set[str]) -> None:
            try:
                identity = await self.credentials.for_account(owner.id)
            except CallFailed as failed:
                log.warning("event_topic_owner_refused", account=owner.id, error=str(failed))
                return
            data = thaw(owner)
            await collect_topics(self.caller, self.pool, identity, wanted, data, scope=self.scope)
            fresh = data.freeze(owner.name, owner.ou_path, owner.ou_ids, owner.partition)
            changed[owner.id] = dataclasses.replace(
                fresh, status=owner.status, entered=owner.entered, error=owner.error
            )

        owners = [(inventory.account(o), wanted) for o, wanted in sorted(by_owner.items())]
        await asyncio.gather(*(read(o, w) for o, w in owners if o is not None))
        return changed


__all__ = ["READ_KINDS", "EventSession", "QueueMessage", "Read", "queue_region", "thaw"]
