"""The event path: an account re-judged seconds after CloudTrail says its chain changed.

EventBridge rules in every member forward the CloudTrail calls that change a monitoring chain
(the IaC, issue 17) to a central bus, which puts them in an SQS queue per shard. This consumer
long-polls the queue and, for each message:

1. **Validates** it before acting (:func:`parse`, :meth:`EventConsumer.classify`): an EventBridge
   envelope of a CloudTrail call, a call that succeeded, an event of the table
   (:func:`scanner.evaluate.change_events.links_for`), a region name the configuration allows,
   an account of the organization held by this shard's inventory. Anything else is counted by
   reason (``scanner_events_ignored_total``) and deleted; nothing a message says can crash the
   loop. Two families act differently: a membership change (an account created, accepted,
   moved) has the scans' reused listing refreshed at once (in the background,
   :meth:`~scanner.daemon.scheduler.Service.refresh_listing`), then runs the next scheduled
   scan on it (a new account has no inventory to merge into: the scan is the cheapest correct
   way; the accounts already entered cost it no AssumeRole); a forwarding rule
   deleted or disabled is counted per account and region, for an alert.
2. **Coalesces** per account over ``events.debounce``: a burst of changes to one account is
   read once.
3. **Re-reads only what the events can have changed** (:func:`reads_for`): the trail named,
   the log group named (and its region's alarms), the region's alarms, the topic named; what a
   narrow read cannot express (a trail created, updated or deleted; a key; an account not
   entered before) is the whole account read again, as a scan reads it.
4. **Re-judges** the account and every account whose chains pass through it
   (:meth:`~scanner.daemon.scheduler.Service.dependents`) and commits through the scan's own
   state machine, outbox and metrics (:meth:`~scanner.daemon.scheduler.Service.rejudge`), under
   the scan's lock: a scan and an event never interleave.
5. **Deletes** the messages only then: at least once, and idempotent (a redelivered event reads
   the same state and finds nothing new).

A queue that cannot be read is retried with exponential backoff (1 s to a minute); the
scheduled scan, the probes and the API go on, and since nothing is deleted before it is
committed, nothing is lost. The scheduled scan stays the backstop and counts what the events
missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from scanner.aws.events import EventSession, QueueMessage, Read
from scanner.aws.gateway import CallFailed
from scanner.daemon.config.checks import ACCOUNT_ID, REGION
from scanner.daemon.metrics import EventStats, Metrics
from scanner.daemon.scheduler import Service
from scanner.daemon.stopping import until
from scanner.errors import ScanError
from scanner.evaluate.change_events import FORWARDING_EVENTS, ORGANIZATION_EVENTS, links_for
from scanner.model import Account, Link

log = structlog.get_logger("scanner.daemon.events")

DETAIL_TYPES = frozenset({"AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"})
BACKOFF = (1.0, 60.0)  # seconds: the first retry of an unreadable queue, the longest wait
DEPTH_EVERY = 15.0  # seconds between looks at the queue's depth

# Links a narrow read cannot follow: the account is read again whole.
_WHOLE = frozenset({Link.TRAIL, Link.TOPIC_KEY})
_TRAIL_READ = frozenset({Link.LOGGING, Link.SELECTORS})
_LOG_GROUP_READ = frozenset({Link.LOG_GROUP, Link.FILTER})
_ALARM_READ = frozenset({Link.ALARM, Link.ALARM_CONDITION, Link.ACTIONS})
_TOPIC_READ = frozenset({Link.TOPIC, Link.SUBSCRIBER, Link.TOPIC_POLICY, Link.DELIVERY})


@dataclass(frozen=True)
class ChangeEvent:
    """A CloudTrail call as EventBridge delivers it, the parts the consumer uses."""

    id: str
    source: str  # detail.eventSource, e.g. monitoring.amazonaws.com
    name: str  # detail.eventName, e.g. DeleteAlarms
    account_id: str  # detail.recipientAccountId, else the envelope's account
    region: str  # detail.awsRegion, else the envelope's region
    time: float  # detail.eventTime, else the envelope's time (Unix seconds)
    parameters: Mapping[str, Any] = field(default_factory=dict)  # detail.requestParameters
    error_code: str | None = None  # detail.errorCode: the call failed


def _time(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def parse(body: str) -> ChangeEvent | None:
    """The event a message body carries, or ``None`` when it is not a CloudTrail call's
    EventBridge envelope (the shape only: what it means is :meth:`EventConsumer.classify`'s)."""
    try:
        envelope = json.loads(body)
    except ValueError:
        return None
    if not isinstance(envelope, dict) or envelope.get("detail-type") not in DETAIL_TYPES:
        return None
    detail = envelope.get("detail")
    if not isinstance(detail, dict):
        return None
    source, name = detail.get("eventSource"), detail.get("eventName")
    account = detail.get("recipientAccountId") or envelope.get("account")
    region = detail.get("awsRegion") or envelope.get("region")
    when = _time(detail.get("eventTime") or envelope.get("time"))
    if not all(isinstance(v, str) and v for v in (source, name, account, region)):
        return None
    if when is None or not ACCOUNT_ID.fullmatch(str(account)):
        return None
    parameters = detail.get("requestParameters")
    error = detail.get("errorCode")
    return ChangeEvent(
        id=str(envelope.get("id") or detail.get("eventID") or ""),
        source=str(source),
        name=str(name),
        account_id=str(account),
        region=str(region),
        time=when,
        parameters=parameters if isinstance(parameters, dict) else {},
        error_code=str(error) if error else None,
    )


def _text(parameters: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = parameters.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _topic_of(event: ChangeEvent, account: Account) -> str:
    """The topic ARN an SNS call names (a subscription's ARN is its topic's plus an id)."""
    found = _text(event.parameters, "topicArn", "TopicArn")
    if found:
        return found
    subscription = _text(event.parameters, "subscriptionArn", "SubscriptionArn")
    if subscription.count(":") >= 6:
        return subscription.rsplit(":", 1)[0]
    name = _text(event.parameters, "name", "Name")
    if name and event.name == "CreateTopic":
        return f"arn:{account.partition}:sns:{event.region}:{account.id}:{name}"
    return ""


def reads_for(event: ChangeEvent, links: frozenset[Link], account: Account) -> tuple[Read, ...]:
    """What to read again in ``account`` for ``event``, from the links it can change and the
    resource its request names; the whole account when a narrow read cannot say it. Nothing
    when the change touches no resource any chain of the account uses (a log group no trail
    delivers to, a topic no alarm notifies)."""
    if account.error is not None or links & _WHOLE:
        return (Read("account"),)
    region = account.regions.get(event.region)
    reads: list[Read] = []
    if links & _TRAIL_READ:
        named = _text(event.parameters, "name", "Name", "trailName", "TrailName")
        owned = [
            t
            for r in account.regions.values()
            for t in r.trails or ()
            if t.account_id == account.id and named in (t.arn, t.name)
        ]
        if not owned:
            return (Read("account"),)
        reads.append(Read("trail", owned[0].home_region, owned[0].arn))
    if links & _LOG_GROUP_READ:
        group = _text(event.parameters, "logGroupName")
        if not group:
            return (Read("account"),)
        if region is not None and group in region.log_groups:
            reads.append(Read("log_group", event.region, group))
    if links & _ALARM_READ and region is not None and region.log_groups:
        reads.append(Read("alarms", event.region))
    if links & _TOPIC_READ:
        topic = _topic_of(event, account)
        if not topic:
            return (Read("account"),)
        # A topic no alarm notifies is in no chain (a new one joins with the alarm's event).
        if region is not None and topic in region.topics:
            reads.append(Read("topic", event.region, topic))
    return tuple(reads)


@dataclass
class _Pending:
    """An account's events waiting for the debounce: when the first came, and each message."""

    first: float
    items: list[tuple[ChangeEvent, frozenset[Link], QueueMessage, float]] = field(
        default_factory=list
    )


class EventConsumer:
    """Reads one queue for one shard; see the module docstring."""

    def __init__(
        self,
        service: Service,
        session: EventSession,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.session = session
        self.metrics = metrics
        self.clock = clock
        config = service.config.events
        self.config = config
        urls = config.queue_urls
        shard = service.shard
        self.url = urls[shard.ordinal] if len(urls) > 1 else urls[0]
        self.shared = len(urls) == 1 and shard.total > 1  # other shards read it too
        self.queue = self.url.rstrip("/").rsplit("/", 1)[-1]
        self.pending: dict[str, _Pending] = {}
        self.backoff = 0.0
        self._depth_at = 0.0
        self._arrived = asyncio.Event()  # the receiver added pending accounts
        # The latest receipt of each change message taken and not yet deleted, by message id:
        # a re-judgement that outlasts the visibility timeout sees its messages come back with
        # new receipt handles, and only the latest deletes (else they would come back forever).
        self.receipts: dict[str, QueueMessage] = {}

    @property
    def stats(self) -> EventStats:
        return self.metrics.state.events

    # ---------------------------------------------------------------------------- the loop

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop``; starts once the first scan gave an inventory to merge into.

        Two loops: one receives (always long-polling, so the queue never waits for a commit),
        one re-judges the accounts whose debounce ran out (a commit costs the same for one
        account as for a hundred, so a backlog makes larger, not more, commits)."""
        if not await until(stop, self.service.scanned.wait()):
            return
        self.service.events_active = True
        log.info("events_consuming", queue=self.url, shared=self.shared)
        receiving = asyncio.create_task(self._loop(stop, self.receive))
        try:
            await self._loop(stop, self.flush_when_due)
        finally:
            receiving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiving
            if self.pending:  # not deleted: they come back after the visibility timeout
                log.info("events_left_pending", accounts=len(self.pending))

    @staticmethod
    async def _loop(stop: asyncio.Event, step: Callable[[asyncio.Event], Awaitable[None]]) -> None:
        while not stop.is_set():
            try:
                await step(stop)
            except Exception:  # a bug must not end the event path: log it, go on
                log.exception("event_step_failed", step=step.__name__)
                await until(stop, asyncio.sleep(BACKOFF[0]))

    async def receive(self, stop: asyncio.Event) -> None:
        """One long poll (after the backoff, if the last one failed), its messages sorted."""
        if self.backoff:
            await until(stop, asyncio.sleep(self.backoff))
        try:
            received = await until(
                stop,
                self.session.receive(self.url, self.config.batch_size, self.config.wait_seconds),
            )
        except (CallFailed, ScanError) as failed:
            self.stats.receive_errors += 1
            self.backoff = min(BACKOFF[1], max(BACKOFF[0], self.backoff * 2))
            log.warning(
                "event_queue_unreadable", queue=self.url, error=str(failed), retry_in=self.backoff
            )
            return
        self.backoff = 0.0
        if received:
            await self.take(received)
            self._arrived.set()
        await self._depth()

    async def flush_when_due(self, stop: asyncio.Event) -> None:
        """Wait for the first pending account's debounce to run out, then flush."""
        if not self.pending:
            self._arrived.clear()
            await until(stop, self._arrived.wait())
            return
        due = min(p.first for p in self.pending.values()) + self.config.debounce
        delay = due - self.clock()
        if delay > 0:
            await until(stop, asyncio.sleep(delay))
        if not stop.is_set():
            await self.flush()

    async def _depth(self) -> None:
        now = self.clock()
        if now - self._depth_at < DEPTH_EVERY:
            return
        self._depth_at = now
        try:
            depth = await self.session.depth(self.url)
        except (CallFailed, ScanError) as failed:
            log.warning("event_queue_depth_unreadable", queue=self.url, error=str(failed))
            return
        self.stats.queue_messages = {**self.stats.queue_messages, self.queue: float(depth)}

    # ---------------------------------------------------------------------------- intake

    def classify(self, event: ChangeEvent) -> tuple[str, frozenset[Link]]:
        """``("change", links)``, ``("organization" | "forwarding", ∅)``, or
        ``("ignored:<reason>", ∅)``."""
        none: frozenset[Link] = frozenset()
        key = (event.source, event.name)
        if event.error_code:
            return "ignored:failed_call", none
        if key in ORGANIZATION_EVENTS:
            return "organization", none
        if not REGION.fullmatch(event.region) or not self.session.scope.allows(event.region):
            return "ignored:unknown_region", none
        if key in FORWARDING_EVENTS:
            return "forwarding", none
        links = links_for(event.source, event.name)
        if links is None:
            return "ignored:unknown_event", none
        held = self.service.account(event.account_id)
        if held is None:
            listed = self._listed()
            if event.account_id in listed:
                return "ignored:other_shard", none
            return "ignored:foreign_account", none
        if not held.entered and held.error is None:
            return "ignored:not_entered", none
        return "change", links

    def _listed(self) -> frozenset[str]:
        """The organization's accounts (the cached listing), or the inventory's."""
        accounts = self.service.accounts
        if accounts is not None and accounts.organization is not None:
            return frozenset(a.id for a in accounts.organization.accounts)
        inventory = self.service.inventory
        return frozenset(a.id for a in inventory.accounts) if inventory is not None else frozenset()

    async def take(self, messages: Sequence[QueueMessage]) -> None:
        """Sort a batch: changes wait for their account's debounce, the rest is done now."""
        now = self.clock()
        stats = self.stats
        stats.received += len(messages)
        sent = [m.sent for m in messages if m.sent is not None]
        if sent:
            stats.oldest_age = {**stats.oldest_age, self.queue: max(0.0, now - min(sent))}
        done: list[QueueMessage] = []
        for message in messages:
            event = parse(message.body)
            if event is None:
                self._ignore("malformed", message.id)
                done.append(message)
                continue
            stats.last_event = {
                **stats.last_event,
                event.region: max(event.time, stats.last_event.get(event.region, 0.0)),
            }
            kind, links = self.classify(event)
            if kind == "change":
                if message.id in self.receipts:  # back while we work on it: keep the new handle
                    self.receipts[message.id] = message
                    continue
                self.receipts[message.id] = message
                pending = self.pending.setdefault(event.account_id, _Pending(now))
                pending.items.append((event, links, message, now))
                self.service.announced.add(event.account_id)
                continue
            if kind == "ignored:other_shard" and self.shared:
                stats.ignored = stats.ignored + Counter({"other_shard": 1})
                continue  # another shard's account: left in the queue for it
            if kind.startswith("ignored:"):
                self._ignore(kind.partition(":")[2], message.id, event)
            elif kind == "organization":
                stats.acted += 1
                self.service.scan_soon(f"organization changed: {event.name}", relist=True)
            elif kind == "forwarding":
                stats.acted += 1
                key = (event.account_id, event.region)
                stats.forwarding_changes = stats.forwarding_changes + Counter({key: 1})
                log.warning(
                    "event_forwarding_changed",
                    account_id=event.account_id,
                    aws_region=event.region,
                    event_name=event.name,
                    rule=_text(event.parameters, "name", "rule", "Rule"),
                )
            done.append(message)
        if done:
            await self._delete(done)

    def _ignore(self, reason: str, message_id: str, event: ChangeEvent | None = None) -> None:
        self.stats.ignored = self.stats.ignored + Counter({reason: 1})
        log.info(
            "event_ignored",
            reason=reason,
            message_id=message_id,
            event_name=event.name if event else None,
            account_id=event.account_id if event else None,
        )

    async def _delete(self, messages: Sequence[QueueMessage]) -> None:
        try:
            await self.session.delete(self.url, messages)
        except (CallFailed, ScanError) as failed:  # they come back; acting again is harmless
            log.warning("event_delete_failed", count=len(messages), error=str(failed))

    # ---------------------------------------------------------------------------- acting

    async def flush(self, *, everything: bool = False) -> None:
        """Re-read, re-judge and commit the accounts whose debounce ran out, then delete
        their messages."""
        now = self.clock()
        due = [
            a
            for a, p in self.pending.items()
            if everything or p.first + self.config.debounce <= now
        ]
        if not due:
            return
        batch = {a: self.pending.pop(a) for a in due}
        taken = [m.id for p in batch.values() for _, _, m, _ in p.items]
        try:
            await self._judge(batch)
        finally:  # committed and deleted, or failed: a redelivery is acted on again either way
            for message_id in taken:
                self.receipts.pop(message_id, None)

    async def _judge(self, batch: dict[str, _Pending]) -> None:
        service = self.service
        async with service.lock:
            inventory = service.inventory
            if inventory is None:  # cannot happen after the first scan; keep them for later
                self.pending.update(batch)
                return
            work: dict[str, tuple[Account, set[Read]]] = {}
            for account_id, pending in batch.items():
                account = service.account(account_id)
                if account is None:  # the last scan dropped it (it left the organization)
                    continue
                reads = {
                    r for e, links, _, _ in pending.items for r in reads_for(e, links, account)
                }
                if reads:
                    work[account_id] = (account, reads)
            limit = asyncio.Semaphore(max(1, service.config.limits.account_concurrency))

            async def read(account: Account, reads: set[Read]) -> dict[str, Account]:
                async with limit:
                    return await self.session.reread(account, reads, inventory)

            results = await asyncio.gather(*(read(a, r) for a, r in work.values()))
            fresh: dict[str, Account] = {}
            for result in results:
                fresh.update(result)
            changed = frozenset(work)
            judged = service.dependents(changed | frozenset(fresh))
            management = inventory.management_account_id
            if management in changed and any(
                not a.entered for a in inventory.accounts if a.id in service.covered
            ):
                service.scan_soon("the management account's chain changed: members not entered")
            outcome = await service.rejudge(fresh, judged)
        messages = [self.receipts.get(m.id, m) for p in batch.values() for _, _, m, _ in p.items]
        await self._delete(messages)
        stats = self.stats
        for pending in batch.values():
            for event, _, _, received in pending.items:
                stats.observe(outcome.finished - event.time, outcome.finished - received)
        stats.acted += len(messages)
        stats.rejudged_accounts += len(outcome.judged)
        log.info(
            "events_committed",
            events=len(messages),
            accounts=sorted(batch)[:20],
            read=len(work),
            reads=dict(Counter(r.kind for _, reads in work.values() for r in reads)),
            judged=len(outcome.judged),
            transitions=len(outcome.transitions),
        )


__all__ = ["BACKOFF", "DETAIL_TYPES", "ChangeEvent", "EventConsumer", "parse", "reads_for"]
