"""One account's part of the inventory, found by following references instead of sweeping.

Theory of operation (the call plan of one account; each step waits for the one before, the
calls inside a step run concurrently):

1. DescribeTrails (``includeShadowTrails``) once, in the scan's listing region
   (:mod:`scanner.aws.regions`): it shows every multi-region trail of the account and every
   organization trail covering it, whatever their home region; a single-region trail homed
   elsewhere is not seen and could not count.
2. GetTrailStatus and GetEventSelectors for each trail the account *owns*, once, in the trail's
   home region. Trails of other accounts (an organization trail seen from a member) are
   collected in their owner's account, where the evaluator looks for them.
3. DescribeMetricFilters (``logGroupName=``) for each log group an owned trail delivers to; a
   ResourceNotFoundException, or (when it lists no filter) DescribeLogGroups not finding the
   group, marks a log group as not existing.
4. DescribeAlarms once per region that has candidate metric filters (listed and filtered
   client-side, keeping the alarms that watch a candidate filter's metric and the composite
   alarms whose rule names one of them; both types come in the same listing). Listing beats
   DescribeAlarmsForMetric: one paged call per region instead of one per metric, and
   DescribeAlarmsForMetric does not return metric-math alarms.
5. ListSubscriptionsByTopic for each SNS topic those alarms name in any action, in the topic's
   account and region. Topics of this account are read here (:func:`collect_topics`); the others are
   returned to the caller, which reads them with the owner account's identity.
6. For each topic that exists: GetTopicAttributes (access policy, KmsMasterKeyId) and
   GetSubscriptionAttributes of each confirmed subscription (FilterPolicy, FilterPolicyScope),
   concurrently; for an encrypted topic DescribeKey (which resolves an alias and tells an AWS
   managed key) and, for a customer managed key, GetKeyPolicy, once per key however many
   topics use it.

A healthy account with one multi-region trail and one topic with one subscriber thus costs eight
reads (plus the AssumeRole that enters it). Regions appear in the account's data only where
something was read; the listing region's ``trails`` is the listing, the others' ``None`` (not
listed there). A reference into a region the options exclude is not followed: the evaluator
says that region was not collected.

Every failed call is recorded in the account's errors (service, operation, region, resource,
code, message) and the datum it would have produced is ``None``; only the codes in
:data:`NOT_FOUND` ever mean "absent".
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from scanner.aws import _shapes
from scanner.aws.clients import Client, ClientPool, Identity
from scanner.aws.gateway import Caller, CallFailed
from scanner.aws.regions import RegionScope
from scanner.evaluate.alarms import watches
from scanner.evaluate.composites import above
from scanner.model import (
    Account,
    Alarm,
    CollectionError,
    CompositeAlarm,
    KmsKey,
    LogGroup,
    Region,
    Subscription,
    Topic,
    TopicAccess,
    Trail,
    Transformation,
    arn_account,
    arn_region,
    is_aws_managed_sns_key,
    is_sns_topic,
    log_group_of,
)

# The error codes that mean the resource does not exist, per operation.
NOT_FOUND = {
    "DescribeMetricFilters": frozenset({"ResourceNotFoundException"}),
    "ListSubscriptionsByTopic": frozenset({"NotFound", "NotFoundException"}),
    "DescribeKey": frozenset({"NotFoundException"}),
}

ALARM_PAGE_SIZE = 100  # the largest page DescribeAlarms allows


@dataclass
class RegionData:
    """A region being collected; :meth:`freeze` gives the model's :class:`Region`."""

    trails: list[Trail] | None = None  # None: not listed here (or the listing failed)
    log_groups: dict[str, LogGroup] = field(default_factory=dict)
    alarms: list[Alarm] | None = field(default_factory=list)
    topics: dict[str, Topic] = field(default_factory=dict)
    composite_alarms: list[CompositeAlarm] | None = field(default_factory=list)

    def freeze(self) -> Region:
        composites = self.composite_alarms
        return Region(
            trails=None if self.trails is None else tuple(self.trails),
            log_groups=dict(sorted(self.log_groups.items())),
            alarms=None if self.alarms is None else tuple(sorted(self.alarms, key=_by_arn)),
            topics=dict(sorted(self.topics.items())),
            composite_alarms=None if composites is None else tuple(sorted(composites, key=_by_arn)),
        )


def _by_arn(alarm: Alarm | CompositeAlarm) -> str:
    return alarm.arn


@dataclass
class AccountData:
    """An account being collected: its regions and every failed call."""

    account_id: str
    regions: dict[str, RegionData] = field(default_factory=dict)
    errors: list[CollectionError] = field(default_factory=list)
    # KMS keys being read, by (region, key id): topics sharing a key read it once.
    _keys: dict[tuple[str, str], asyncio.Task[KmsKey]] = field(default_factory=dict)

    async def key(
        self, key_id: str, region: str, read: Callable[[], Coroutine[Any, Any, KmsKey]]
    ) -> KmsKey:
        """The key, read by ``read`` on first demand and shared with every later asker."""
        task = self._keys.get((region, key_id))
        if task is None:
            task = self._keys[(region, key_id)] = asyncio.ensure_future(read())
        return await task

    def freeze(
        self, name: str, ou_path: tuple[str, ...], ou_ids: tuple[str, ...], partition: str
    ) -> Account:
        return Account(
            id=self.account_id,
            name=name,
            ou_path=ou_path,
            ou_ids=ou_ids,
            partition=partition,
            regions={r: data.freeze() for r, data in sorted(self.regions.items())},
            errors=tuple(self.errors),
        )

    def region(self, name: str, scope: RegionScope) -> RegionData | None:
        """The region's data, added on first use; ``None`` where the options forbid reading."""
        if name not in self.regions:
            if not scope.allows(name):
                return None
            self.regions[name] = RegionData()
        return self.regions[name]


def _owned(trail: Trail, account_id: str) -> bool:
    return trail.account_id == account_id


def _log_group(arn: str) -> tuple[str, str, str] | None:
    """``(account, region, name)`` of a log group ARN, ``None`` if it is not one."""
    parsed = log_group_of(arn)
    return (parsed[2], parsed[1], parsed[3]) if parsed else None


def _topic(arn: str) -> tuple[str, str] | None:
    """``(account, region)`` of an SNS topic ARN, ``None`` for any other action."""
    return (arn_account(arn), arn_region(arn)) if is_sns_topic(arn) else None


class AccountCollector:
    """Collects one account with one identity; :meth:`run` follows the plan above.

    ``data`` continues what an earlier reader of the account gathered (its topics, read for
    another account's alarm)."""

    def __init__(
        self,
        caller: Caller,
        pool: ClientPool,
        identity: Identity,
        *,
        scope: RegionScope,
        listing_region: str,
        data: AccountData | None = None,
    ) -> None:
        self.caller = caller
        self.pool = pool
        self.identity = identity
        self.scope = scope
        self.listing_region = listing_region
        self.data = data or AccountData(identity.account_id)

    @property
    def account_id(self) -> str:
        return self.identity.account_id

    async def run(self) -> set[str]:
        """Collect, and return the SNS topic ARNs of the kept alarms not read here."""
        await self._trails()
        await self._trail_details()
        await self._metric_filters()
        await self._alarms()
        return await self._topics()

    async def _topics(self) -> set[str]:
        """Read the account's own topics its kept alarms name and are not read yet; return
        the other accounts' topics they name."""
        topics = {
            arn
            for region in self.data.regions.values()
            for alarm in [*(region.alarms or ()), *(region.composite_alarms or ())]
            for arn in (*alarm.alarm_actions, *alarm.ok_actions, *alarm.insufficient_data_actions)
            if _topic(arn) is not None
        }
        own = {arn for arn in topics if _topic(arn) == (self.account_id, topic_region(arn))}
        await collect_topics(
            self.caller, self.pool, self.identity, own, self.data, scope=self.scope
        )
        return topics - own

    # Re-reads of one part of an account collected earlier (``data``), for the event consumer
    # (:mod:`scanner.aws.events`): each replaces what the collection held for that part, with
    # the same calls and the same rules as the plan above.

    async def refresh_trail(self, trail: Trail) -> None:
        """Step 2 again for one trail the account owns (its status and selectors)."""
        fresh = await self._trail_detail(trail)
        for region in self.data.regions.values():
            if region.trails is not None:
                region.trails = [fresh if t.arn == trail.arn else t for t in region.trails]

    async def refresh_log_group(self, region: str, name: str) -> set[str]:
        """Step 3 again for one log group, then step 4 in its region (which alarms are kept
        depends on the filters); returns the other accounts' topics, as :meth:`run`."""
        await self._log_group(region, name)
        return await self.refresh_alarms(region)

    async def refresh_alarms(self, region: str) -> set[str]:
        """Step 4 again in one region, and step 5 for the topics new alarms name."""
        data = self.data.regions.get(region)
        if data is None:
            return set()
        metrics = [
            t
            for group in data.log_groups.values()
            for f in group.metric_filters or ()
            for t in f.transformations
        ]
        if metrics:
            await self._region_alarms(region, data, metrics)
        else:  # no candidate filter: no alarm of the region can be part of a chain
            data.alarms, data.composite_alarms = [], []
        return await self._topics()

    # Step 1.
    async def _trails(self) -> None:
        region = self.listing_region
        target = self.data.regions.setdefault(region, RegionData())
        client = await self.pool.client(self.identity, region, "cloudtrail")
        try:
            response = await self.caller.call(client, "DescribeTrails", includeShadowTrails=True)
        except CallFailed as failed:
            self.data.errors.append(failed.error)
            target.trails = None
            return
        target.trails = [_shapes.trail(item, region) for item in response.get("trailList") or ()]

    # Step 2.
    async def _trail_details(self) -> None:
        owned: dict[str, Trail] = {}
        for region in self.data.regions.values():
            for trail in region.trails or ():
                if _owned(trail, self.account_id):
                    owned.setdefault(trail.arn, trail)
        details = await asyncio.gather(*(self._trail_detail(t) for t in owned.values()))
        complete = {t.arn: t for t in details}
        for region in self.data.regions.values():
            if region.trails is not None:
                region.trails = [complete.get(t.arn, t) for t in region.trails]

    async def _attempt(self, call: Awaitable[dict[str, Any]]) -> dict[str, Any] | None:
        """The response, or ``None`` with the failure recorded."""
        try:
            return await call
        except CallFailed as failed:
            self.data.errors.append(failed.error)
            return None

    async def _trail_detail(self, trail: Trail) -> Trail:
        client = await self.pool.client(self.identity, trail.home_region, "cloudtrail")
        status, selectors = await asyncio.gather(
            self._attempt(
                self.caller.call(client, "GetTrailStatus", resource=trail.arn, Name=trail.arn)
            ),
            self._attempt(
                self.caller.call(
                    client, "GetEventSelectors", resource=trail.arn, TrailName=trail.arn
                )
            ),
        )
        if status is not None:
            delivery_error = status.get("LatestCloudWatchLogsDeliveryError")
            trail = dataclasses.replace(
                trail,
                is_logging=bool(status.get("IsLogging", False)),
                latest_cloudwatch_logs_delivery_error=str(delivery_error or "") or None,
            )
        if selectors is not None:
            basic, advanced = _shapes.selectors(selectors)
            trail = dataclasses.replace(
                trail, event_selectors=basic, advanced_event_selectors=advanced
            )
        return trail

    # Step 3.
    async def _metric_filters(self) -> None:
        wanted: set[tuple[str, str]] = set()
        for region in self.data.regions.values():
            for trail in region.trails or ():
                parsed = _log_group(trail.log_group_arn or "")
                if _owned(trail, self.account_id) and parsed and parsed[0] == self.account_id:
                    wanted.add((parsed[1], parsed[2]))
        await asyncio.gather(*(self._log_group(r, n) for r, n in sorted(wanted)))

    async def _log_group(self, region: str, name: str) -> None:
        target = self.data.region(region, self.scope)
        if target is None:
            return  # a region the options exclude: the evaluator says it was not collected
        client = await self.pool.client(self.identity, region, "logs")
        try:
            items = await self.caller.paginate(
                client, "DescribeMetricFilters", "metricFilters", resource=name, logGroupName=name
            )
        except CallFailed as failed:
            if failed.code in NOT_FOUND["DescribeMetricFilters"]:
                target.log_groups[name] = LogGroup(name, exists=False)
                return
            self.data.errors.append(failed.error)
            target.log_groups[name] = LogGroup(name, metric_filters=None)
            return
        filters = tuple(_shapes.metric_filter(item, name) for item in items)
        # DescribeMetricFilters matches logGroupName exactly, but keep only that group's filters.
        filters = tuple(f for f in filters if f.log_group_name == name)
        if not filters and not await self._log_group_exists(client, name):
            target.log_groups[name] = LogGroup(name, exists=False)
            return
        target.log_groups[name] = LogGroup(name, metric_filters=filters)

    async def _log_group_exists(self, client: Client, name: str) -> bool:
        """Whether a log group without metric filters exists: DescribeMetricFilters lists
        nothing for a deleted group as for a bare one, so DescribeLogGroups tells them apart
        (only then: a group with filters exists). A failed call says it exists: the evaluator
        then reports that no filter was found, which holds either way."""
        try:
            items = await self.caller.paginate(
                client, "DescribeLogGroups", "logGroups", resource=name, logGroupNamePrefix=name
            )
        except CallFailed as failed:
            self.data.errors.append(failed.error)
            return True
        return any(item.get("logGroupName") == name for item in items)

    # Step 4.
    async def _alarms(self) -> None:
        work = []
        for region, data in self.data.regions.items():
            metrics = [
                t
                for group in data.log_groups.values()
                for f in group.metric_filters or ()
                for t in f.transformations
            ]
            if metrics:
                work.append(self._region_alarms(region, data, metrics))
        await asyncio.gather(*work)

    async def _region_alarms(
        self, region: str, data: RegionData, metrics: list[Transformation]
    ) -> None:
        client = await self.pool.client(self.identity, region, "cloudwatch")
        try:
            items = await self.caller.paginate_keys(
                client,
                "DescribeAlarms",
                ("MetricAlarms", "CompositeAlarms"),
                AlarmTypes=["MetricAlarm", "CompositeAlarm"],
                MaxRecords=ALARM_PAGE_SIZE,
            )
        except CallFailed as failed:
            self.data.errors.append(failed.error)
            data.alarms = data.composite_alarms = None
            return
        alarms = (_shapes.alarm(item) for item in items["MetricAlarms"])
        data.alarms = [a for a in alarms if any(watches(a, t) for t in metrics)]
        composites = (_shapes.composite_alarm(item) for item in items["CompositeAlarms"])
        data.composite_alarms = above(data.alarms, composites)  # nested ones too


def topic_region(arn: str) -> str:
    found = _topic(arn)
    return found[1] if found else ""


async def collect_topics(
    caller: Caller,
    pool: ClientPool,
    identity: Identity,
    arns: Iterable[str],
    data: AccountData,
    *,
    scope: RegionScope,
) -> None:
    """Read the topics (all in ``data``'s account) into ``data``, in the regions ``scope``
    allows: the subscriptions, then what decides whether a message gets through (the access
    policy and the key, the confirmed subscriptions' filter policies)."""
    reader = _TopicReader(caller, pool, identity, data)

    async def one(arn: str) -> None:
        region = topic_region(arn)
        target = data.region(region, scope)
        if target is None or arn in target.topics:
            return
        client = await pool.client(identity, region, "sns")
        try:
            items = await caller.paginate(
                client, "ListSubscriptionsByTopic", "Subscriptions", resource=arn, TopicArn=arn
            )
        except CallFailed as failed:
            if failed.code in NOT_FOUND["ListSubscriptionsByTopic"]:
                target.topics[arn] = Topic(arn, exists=False, subscriptions=())
                return
            # Whether the topic exists is unknown too: record no Topic, only the failed call,
            # and the evaluator reports the topic link (and so the rule) as unknown.
            data.errors.append(failed.error)
            return
        listed = [_shapes.subscription(item) for item in items]
        access, subscriptions = await asyncio.gather(
            reader.access(client, arn),
            asyncio.gather(*(reader.filter_of(client, s) for s in listed)),
        )
        target.topics[arn] = Topic(arn, subscriptions=tuple(subscriptions), access=access)

    await asyncio.gather(*(one(arn) for arn in sorted(set(arns))))


@dataclass
class _TopicReader:
    """What decides delivery, read with the topic owner's identity; failures are recorded in
    ``data`` and leave the datum ``None`` (unknown)."""

    caller: Caller
    pool: ClientPool
    identity: Identity
    data: AccountData

    async def access(self, client: Client, arn: str) -> TopicAccess | None:
        """GetTopicAttributes' access policy and key."""
        try:
            response = await self.caller.call(
                client, "GetTopicAttributes", resource=arn, TopicArn=arn
            )
        except CallFailed as failed:
            self.data.errors.append(failed.error)
            return None
        attributes = response.get("Attributes") or {}
        policy = str(attributes.get("Policy") or "") or None
        key_id = str(attributes.get("KmsMasterKeyId") or "")
        if not key_id:
            return TopicAccess(policy=policy)
        # An alias or key id names a key of the topic's account and region.
        region = arn_region(key_id) if key_id.startswith("arn:") else topic_region(arn)
        key = await self.data.key(key_id, region, lambda: self._key(key_id, region))
        return TopicAccess(policy=policy, key=key)

    async def _key(self, key_id: str, region: str) -> KmsKey:
        """DescribeKey (which resolves an alias and tells an AWS managed key) and, for a
        customer managed key, GetKeyPolicy: once per key, however many topics use it."""
        if is_aws_managed_sns_key(key_id):
            # AWS's own key for SNS, by its reserved alias (no customer key can carry it).
            return KmsKey(key_id, manager="AWS")
        client = await self.pool.client(self.identity, region, "kms")
        try:
            response = await self.caller.call(client, "DescribeKey", resource=key_id, KeyId=key_id)
        except CallFailed as failed:
            if failed.code in NOT_FOUND["DescribeKey"]:
                return KmsKey(key_id, exists=False)
            self.data.errors.append(failed.error)
            return KmsKey(key_id)
        key = _shapes.kms_key(key_id, response.get("KeyMetadata") or {})
        if key.manager != "CUSTOMER" or key.arn is None:
            return key  # an AWS managed key's policy is AWS's: CloudWatch may never use it
        try:
            found = await self.caller.call(
                client, "GetKeyPolicy", resource=key.arn, KeyId=key.arn, PolicyName="default"
            )
        except CallFailed as failed:
            self.data.errors.append(failed.error)
            return key
        return dataclasses.replace(key, policy=str(found.get("Policy") or "") or None)

    async def filter_of(self, client: Client, subscription: Subscription) -> Subscription:
        """The subscription with its filter policy; a pending one is not read (it receives
        nothing anyway)."""
        if not subscription.confirmed:
            return subscription
        try:
            response = await self.caller.call(
                client,
                "GetSubscriptionAttributes",
                resource=subscription.arn,
                SubscriptionArn=subscription.arn,
            )
        except CallFailed as failed:
            self.data.errors.append(failed.error)
            return subscription
        found = _shapes.subscription_filter(response.get("Attributes") or {})
        return dataclasses.replace(subscription, filter=found)
