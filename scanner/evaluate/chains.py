"""The walk: every chain of links by which one rule could hold for one account.

Pure. For one trail and one rule, :class:`Walker` branches at each choice the data offer (each
metric filter of the trail's log group, each alarm watching that filter's metric, each SNS topic
among the alarm's actions) and gives every :class:`Chain` a status on each of the thirteen links of
:data:`scanner.model.LINKS`. How a verdict is drawn from the chains is :mod:`.verdict`'s job.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scanner.catalog import Reference, Rule, Verdict, judge
from scanner.evaluate import alarms, composites, delivery
from scanner.evaluate.alarms import num
from scanner.evaluate.sharing import Sharing
from scanner.evaluate.trails import KINDS, Watched, selectors_problem
from scanner.model import (
    ACCOUNT_SUSPENDED,
    LINKS,
    Account,
    Alarm,
    CollectionError,
    CompositeAlarm,
    Finding,
    Inventory,
    Link,
    LinkResult,
    LinkStatus,
    LogGroup,
    MetricFilter,
    Region,
    Topic,
    Trail,
    Transformation,
    arn_account,
    arn_region,
    is_sns_topic,
    log_group_of,
)
from scanner.patterns import (
    Comparison,
    Coverage,
    JsonPattern,
    Op,
    Pattern,
    PatternSyntaxError,
    atoms,
    overlaps,
    parse,
    pin,
)

OK, BROKEN, UNKNOWN, MISSING = (
    LinkStatus.OK,
    LinkStatus.BROKEN,
    LinkStatus.UNKNOWN,
    LinkStatus.MISSING,
)

# An alarm in ALARM for longer than this at scan time is taken to sit there (it cannot notify).
STUCK_AFTER_HOURS = 24.0
STUCK_AFTER = timedelta(hours=STUCK_AFTER_HOURS)

# Accounts that are closed or closing are not evaluated; the caller reports them.
SKIPPED_ACCOUNT_STATUSES = frozenset({ACCOUNT_SUSPENDED, "PENDING_CLOSURE"})

# The calls whose failure leaves each kind of datum unknown: (service, operations).
CALLS: dict[str, tuple[str, tuple[str, ...]]] = {
    "trails": ("cloudtrail", ("DescribeTrails",)),
    "logging": ("cloudtrail", ("GetTrailStatus",)),
    "selectors": ("cloudtrail", ("GetEventSelectors",)),
    "log_group": ("logs", ("DescribeMetricFilters",)),
    "filters": ("logs", ("DescribeMetricFilters",)),
    "alarms": ("cloudwatch", ("DescribeAlarms",)),
    "topic": ("sns", ("ListSubscriptionsByTopic",)),
    "subscriptions": ("sns", ("ListSubscriptionsByTopic",)),
    "topic_access": ("sns", ("GetTopicAttributes",)),
    "key": ("kms", ("DescribeKey", "GetKeyPolicy")),
    "subscription_filter": ("sns", ("GetSubscriptionAttributes",)),
}


@dataclass(frozen=True, slots=True)
class Chain:
    """One way the rule could hold: a LinkResult per link, and what remediation needs."""

    links: tuple[LinkResult, ...]
    owner: str  # the account whose trail, log group, filters and alarms the chain uses
    region: str | None = None  # the log group's region
    trail: Trail | None = None
    log_group: str | None = None
    metric_filter: MetricFilter | None = None
    transformation: Transformation | None = None
    verdict: Verdict | None = None
    alarm: Alarm | None = None
    topic: str | None = None
    notes: tuple[str, ...] = ()
    pattern: Pattern | None = None  # what the alarm hears: the filter's, narrowed by dimensions
    composite: CompositeAlarm | None = None  # the composite alarm the metric alarm notifies by
    through: tuple[CompositeAlarm, ...] = ()  # composites between the alarm and that one
    # Links broken only because the pattern (as the alarm hears it) misses some of the rule's
    # events: the chain still notifies the events it does match.
    coverage_breaks: frozenset[Link] = frozenset()
    # Set by the verdict: the working chains taken together, and what they cover.
    union: tuple[Chain, ...] = ()
    union_coverage: Coverage | None = None
    union_reference: Reference | None = None

    @property
    def working(self) -> bool:
        """Every link holds but for coverage: the chain notifies the events its pattern
        matches, so it can share the rule with other working chains."""
        if not self.coverage_breaks or self.pattern is None or self.verdict is None:
            return False
        return all(
            r.status is OK or (r.status is BROKEN and r.link in self.coverage_breaks)
            for r in self.links
        )

    def first(self, status: LinkStatus) -> LinkResult | None:
        return next((r for r in self.links if r.status is status), None)

    @property
    def status(self) -> LinkStatus:
        for status in (BROKEN, UNKNOWN):
            if self.first(status) is not None:
                return status
        return OK

    def rank(self) -> tuple[int, int, int, int, int, int, int]:
        """Larger is the better explanation of a failure: first a chain whose filter covers the
        rule (the chain meant for this rule, e.g. a member's own trail that only needs
        ``start-logging``, rather than an organization trail whose log group watches other
        things), then one with a filter that at least concerns the rule, then the furthest first
        broken link, then (at the filter) the closest pattern, then the most links that hold,
        then the longest path through composite alarms."""
        filter_link = next((r for r in self.links if r.link is Link.FILTER), None)
        covering = int(filter_link is not None and filter_link.status is OK)
        candidate = int(self.verdict is not None)
        broken = self.first(BROKEN)
        position = broken.link.position if broken else len(LINKS)
        decided, closeness = 0, 0
        if broken is not None and broken.link is Link.FILTER and self.verdict is not None:
            decided = int(self.verdict.decided)
            closeness = -self.verdict.coverage.gap_count
        ok = sum(1 for r in self.links if r.status is OK)
        # Through composites: the longer the path, the further the alarm's notice got.
        via_composite = len(self.through) + int(self.composite is not None)
        return covering, candidate, position, decided, closeness, ok, via_composite


# Where a link was judged: the resource (ARN or name), its account and its region.
_At = tuple[str, str, str | None]


def _result(link: Link, status: LinkStatus, detail: str, at: _At) -> LinkResult:
    resource, account, region = at
    return LinkResult(link, status, resource, account, region, detail)


def _complete(links: Sequence[LinkResult]) -> tuple[LinkResult, ...]:
    """Pad the links not reached with ``missing``."""
    done = {r.link for r in links}
    rest = [LinkResult(s.link, MISSING, detail="not reached") for s in LINKS if s.link not in done]
    return (*links, *rest)


def _unscanned(account: Account | None) -> str:
    if account is None or account.error is None:
        return "was not scanned"
    return f"could not be scanned: {account.error.describe()}"


def _quote(error: CollectionError | None) -> str:
    return error.describe() if error else "no result was collected and no error was recorded"


# --------------------------------------------------------------------------------------------
# The walk.


class Walker:
    """Builds the chains of one rule; holds the inventory and caches per (trail, rule), and what
    the findings built from the walk share."""

    def __init__(
        self, inventory: Inventory, profile: str, stuck_after: timedelta = STUCK_AFTER
    ) -> None:
        self.inventory = inventory
        self.profile = profile
        self.stuck_after = stuck_after
        self._cache: dict[tuple[Trail, str], _Replay] = {}
        self._cached_for: dict[Trail, list[tuple[Trail, str]]] = {}  # trail -> its keys
        # (pattern text, rule id) -> whether the filter concerns the rule: asked of each filter
        # of each member's own log group, whose patterns are as often as not the same text.
        self._concerning: dict[tuple[str, str], bool] = {}
        # The findings' repeated texts, one object each, for the walk's life (evaluate.sharing).
        self.sharing = Sharing()
        # (rule id, what of the member was not read, its chains' ids) -> (those chains, the PASS
        # they gave a member without a chain of its own): the next member they pass alike gets
        # the same finding under its own name (evaluate.verdict._judged_alike).
        self.passed_outside: dict[tuple[object, ...], tuple[tuple[Chain, ...], Finding]] = {}

    def forget(self) -> None:
        """Drop what the walk cached, once its findings are made.

        A cached chain is a generator of this walker's, so the cache and the walker refer to
        each other: without this, everything a walk made (the chains of every member, ~50-70
        MiB at 10,000 accounts) outlived it until the garbage collector's next full pass, and a
        daemon's warm scan held a second walk's worth of it at its high-water mark
        (bench/README.md, "A walk that frees itself").
        """
        self._cache.clear()
        self._cached_for.clear()
        self._concerning.clear()
        self.passed_outside.clear()

    def done_with(self, account_id: str, trails: Iterable[Trail]) -> None:
        """Drop the chains of the account's own trails once its findings are made: a trail
        that is not an organization trail covers its own account only, so no later account
        reads them, and a walk of 10,000 accounts no longer holds every member's chains at
        once."""
        for trail in trails:
            if trail.account_id == account_id and not trail.is_organization_trail:
                for key in self._cached_for.pop(trail, ()):
                    self._cache.pop(key, None)

    # Lookups that may be unknown: a value, or the sentence saying why it is unknown.

    def account(self, account_id: str, what: str, call: str | None = None) -> Account | str:
        """The account, or why it is unknown; ``call`` names the read that needed it."""
        account = self.inventory.account(account_id)
        if account is None or account.error is not None:
            needed = ""
            if call is not None:
                service, operations = CALLS[call]
                needed = f" ({service} {operations[0]} not called)"
            return f"{what} is in account {account_id}{needed}, which {_unscanned(account)}"
        return account

    def region(
        self, account_id: str, region: str, what: str, call: str, resource: str | None = None
    ) -> Region | str:
        account = self.account(account_id, what, call)
        if isinstance(account, str):
            return account
        found = account.regions.get(region)
        if found is None:
            service, operations = CALLS[call]
            error = account.error_for(service, operations, region, resource)
            tail = f": {error.describe()}" if error else ""
            return f"{what} is in {region} of account {account_id}, which was not collected{tail}"
        return found

    def recorded(
        self, account_id: str, call: str, region: str | None, resource: str | None
    ) -> CollectionError | None:
        """The failed call recorded for a datum of ``call``'s kind, if any."""
        account = self.inventory.account(account_id)
        service, operations = CALLS[call]
        return account.error_for(service, operations, region, resource) if account else None

    def error(self, account_id: str, call: str, region: str | None, resource: str | None) -> str:
        """Why a datum of ``call``'s kind is missing, in words."""
        account = self.inventory.account(account_id)
        if account is None or account.error is not None:
            return f"account {account_id} {_unscanned(account)}"
        return _quote(self.recorded(account_id, call, region, resource))

    # Links.

    def chains(self, trail: Trail, rule: Rule) -> Iterable[Chain]:
        """The trail's chains for the rule, computed once and only as far as they are read."""
        key = (trail, rule.id)
        if key not in self._cache:
            self._cache[key] = _Replay(self._trail_chains(trail, rule))
            self._cached_for.setdefault(trail, []).append(key)
        return self._cache[key]

    def _trail_links(self, trail: Trail, rule: Rule) -> list[LinkResult]:
        owner = trail.account_id
        name = f'trail "{trail.name}"'

        def link(link: Link, status: LinkStatus, detail: str) -> LinkResult:
            return _result(link, status, detail, (trail.arn, owner, trail.home_region))

        if trail.is_multi_region:
            links = [link(Link.TRAIL, OK, f"{name} records every region")]
        else:
            links = [link(Link.TRAIL, BROKEN, f"{name} records only {trail.home_region}")]
        if trail.is_logging is None:
            why = self.error(owner, "logging", trail.home_region, trail.arn)
            links.append(link(Link.LOGGING, UNKNOWN, f"cannot tell whether {name} logs: {why}"))
        elif trail.is_logging:
            links.append(link(Link.LOGGING, OK, f"{name} is logging"))
        else:
            links.append(link(Link.LOGGING, BROKEN, f"{name} is not logging (stopped)"))
        if trail.event_selectors is None and trail.advanced_event_selectors is None:
            why = self.error(owner, "selectors", trail.home_region, trail.arn)
            detail = f"cannot read the event selectors of {name}: {why}"
            links.append(link(Link.SELECTORS, UNKNOWN, detail))
        else:
            problem = selectors_problem(trail, watched(rule))
            if problem is None:
                detail = f"{name} records all management events of this rule"
                links.append(link(Link.SELECTORS, OK, detail))
            else:
                links.append(link(Link.SELECTORS, BROKEN, problem))
        return links

    def _trail_chains(self, trail: Trail, rule: Rule) -> Iterator[Chain]:
        head = self._trail_links(trail, rule)
        notes: tuple[str, ...] = ()
        if trail.latest_cloudwatch_logs_delivery_error:
            notes = (
                f'trail "{trail.name}" reports a CloudWatch Logs delivery error: '
                f"{trail.latest_cloudwatch_logs_delivery_error}",
            )
        located = _log_group_of(trail)
        if isinstance(located, str):
            at = (trail.log_group_arn or trail.arn, trail.account_id, trail.home_region)
            links = _complete([*head, _result(Link.LOG_GROUP, BROKEN, located, at)])
            yield Chain(links, trail.account_id, trail=trail, notes=notes)
            return
        name, arn, account_id, region = located
        base = Chain((), account_id, region, trail, name, notes=notes)
        link, group = self._log_group_link(trail, name, (arn, account_id, region))
        head.append(link)
        at = (name, account_id, region)
        if group is None:
            yield dataclasses.replace(base, links=_complete(head))
        elif group.metric_filters is None:
            why = self.error(account_id, "filters", region, name)
            detail = f'cannot list the metric filters of log group "{name}": {why}'
            yield dataclasses.replace(
                base, links=_complete([*head, _result(Link.FILTER, UNKNOWN, detail, at)])
            )
        elif not group.metric_filters:
            detail = f'log group "{name}" has no metric filter'
            yield dataclasses.replace(
                base, links=_complete([*head, _result(Link.FILTER, BROKEN, detail, at)])
            )
        else:
            relevant = [f for f in group.metric_filters if self._concerns(f, rule)]
            if not relevant:
                count = len(group.metric_filters)
                detail = (
                    f'none of the {count} metric filters on log group "{name}" catches any '
                    "event of this rule"
                )
                yield dataclasses.replace(
                    base, links=_complete([*head, _result(Link.FILTER, BROKEN, detail, at)])
                )
            for metric_filter in _likely_first(relevant, rule, self.profile):
                yield from self._filter_chains(base, head, metric_filter, rule)

    def _concerns(self, metric_filter: MetricFilter, rule: Rule) -> bool:
        """:func:`_concerns`, once per pattern text and rule."""
        key = (metric_filter.pattern, rule.id)
        found = self._concerning.get(key)
        if found is None:
            found = self._concerning[key] = _concerns(metric_filter, rule, self.profile)
        return found

    def _log_group_link(
        self, trail: Trail, name: str, at: _At
    ) -> tuple[LinkResult, LogGroup | None]:
        """The log_group link, and the group when its metric filters can be looked at."""
        _, account_id, region = at
        what = f'log group "{name}"'
        found = self.region(account_id, region or "", what, "log_group", name)
        if isinstance(found, str):
            return _result(Link.LOG_GROUP, UNKNOWN, found, at), None
        group = found.log_groups.get(name)
        if group is None:
            error = self.recorded(account_id, "log_group", region, name)
            if error is not None:
                detail = f"cannot read {what}: {error.describe()}"
                return _result(Link.LOG_GROUP, UNKNOWN, detail, at), None
            group = LogGroup(name)  # the listing succeeded and found no metric filter on it
        if not group.exists:
            detail = f'{what} of trail "{trail.name}" does not exist'
            return _result(Link.LOG_GROUP, BROKEN, detail, at), None
        detail = f'trail "{trail.name}" delivers to {what}'
        return _result(Link.LOG_GROUP, OK, detail, at), group

    def _filter_chains(
        self, base: Chain, head: list[LinkResult], metric_filter: MetricFilter, rule: Rule
    ) -> Iterator[Chain]:
        owner, region = base.owner, base.region
        name = f'metric filter "{metric_filter.name}" on log group "{metric_filter.log_group_name}"'
        notes = base.notes
        verdict: Verdict | None = None
        pattern: Pattern | None = None
        try:
            pattern = parse(metric_filter.pattern)
            verdict = judge(rule, self.profile, pattern)
        except PatternSyntaxError as error:
            status, detail = BROKEN, f"{name} has a pattern that does not parse: {error}"
            notes = (*notes, f'pattern of metric filter "{metric_filter.name}": {error}')
        else:
            status, detail = _filter_detail(name, verdict)
            notes = (*notes, *verdict.notes)
        link = _result(Link.FILTER, status, detail, (metric_filter.name, owner, region))
        chain = dataclasses.replace(
            base,
            metric_filter=metric_filter,
            verdict=verdict,
            pattern=pattern,
            notes=notes,
            coverage_breaks=_gaps_only(verdict, Link.FILTER),
        )
        if not metric_filter.transformations:
            detail = f"{name} publishes no metric"
            alarm_link = _result(Link.ALARM, BROKEN, detail, (metric_filter.name, owner, region))
            yield dataclasses.replace(chain, links=_complete([*head, link, alarm_link]))
            return
        for transformation in metric_filter.transformations:
            with_t = dataclasses.replace(chain, transformation=transformation)
            yield from self._alarm_chains(with_t, [*head, link], transformation, rule)

    def _alarm_chains(
        self, base: Chain, head: list[LinkResult], t: Transformation, rule: Rule
    ) -> Iterator[Chain]:
        owner, region = base.owner, base.region or ""
        metric = f"{t.metric_namespace}/{t.metric_name}"
        filter_name = base.metric_filter.name if base.metric_filter else ""
        found = self.region(owner, region, f"metric {metric}", "alarms")
        if isinstance(found, str) or found.alarms is None:
            why = found if isinstance(found, str) else self.error(owner, "alarms", region, None)
            detail = f"cannot list the alarms on metric {metric}: {why}"
            link = _result(Link.ALARM, UNKNOWN, detail, (metric, owner, region))
            yield dataclasses.replace(base, links=_complete([*head, link]))
            return
        watching = [a for a in found.alarms if alarms.watches(a, t)]
        if not watching:
            detail = (
                f'no alarm in {region} watches metric {metric} of metric filter "{filter_name}"'
            )
            link = _result(Link.ALARM, BROKEN, detail, (metric, owner, region))
            yield dataclasses.replace(base, links=_complete([*head, link]))
            return
        for alarm in watching:
            heard, links = self._alarm_links(alarm, t, base, rule)
            with_alarm = dataclasses.replace(heard, alarm=alarm)
            yield from self._action_chains(with_alarm, [*head, *links], alarm)
            above = found.composite_alarms or ()
            for composite in composites.parents(alarm, above):
                yield from self._composite_chains(
                    with_alarm, [*head, *links[:2]], composite, alarm, among=above
                )

    def _heard(
        self, alarm: Alarm, t: Transformation, base: Chain, rule: Rule
    ) -> tuple[Chain, str | None]:
        """The chain narrowed to what the alarm hears of the filter's dimensions, and why the
        alarm link is broken (``None``: it is not)."""
        filter_name = base.metric_filter.name if base.metric_filter else ""
        try:
            pins = alarms.dimension_pins(alarm, t, filter_name)
        except alarms.Unprovable as why:
            return base, str(why)
        if isinstance(pins, str):
            return base, pins
        if not pins or base.pattern is None:
            return base, None
        if not isinstance(base.pattern, JsonPattern):
            return base, (
                f'cannot prove what alarm "{alarm.name}" hears: it reads dimension values of a '
                "filter whose pattern is not a JSON pattern"
            )
        pattern = base.pattern
        for path, value in pins.items():
            pattern = pin(pattern, path, value)
        verdict = judge(rule, self.profile, pattern)
        heard = ", ".join(f'$.{path} = "{value}"' for path, value in pins.items())
        narrowed = dataclasses.replace(
            base,
            pattern=pattern,
            verdict=verdict,
            coverage_breaks=base.coverage_breaks | _gaps_only(verdict, Link.ALARM),
        )
        if verdict.covered:
            return narrowed, None
        name = f'alarm "{alarm.name}"'
        _, missed = _filter_detail(f"{name} hears only events where {heard}: it", verdict)
        return narrowed, missed

    def _alarm_links(
        self, alarm: Alarm, t: Transformation, base: Chain, rule: Rule
    ) -> tuple[Chain, list[LinkResult]]:
        owner, region = base.owner, base.region

        def link(link: Link, status: LinkStatus, detail: str) -> LinkResult:
            return _result(link, status, detail, (alarm.arn, owner, region))

        name = f'alarm "{alarm.name}"'
        chain, deaf = self._heard(alarm, t, base, rule)
        if deaf is not None:
            links = [link(Link.ALARM, BROKEN, deaf)]
        else:
            metric = f"{t.metric_namespace}/{t.metric_name}"
            links = [link(Link.ALARM, OK, f"{name} watches {metric}")]
        try:
            firing = alarms.condition(alarm, t)
        except alarms.Unprovable as why:
            links.append(link(Link.ALARM_CONDITION, BROKEN, str(why)))
        else:
            stuck = self._stuck(name, alarm.state_value, alarm.state_updated)
            if firing.problem is not None:
                links.append(link(Link.ALARM_CONDITION, BROKEN, firing.problem))
            elif stuck is not None:
                links.append(link(Link.ALARM_CONDITION, BROKEN, stuck))
            else:
                late = f" ({firing.note})" if firing.note else ""
                links.append(link(Link.ALARM_CONDITION, OK, f"{name} fires on one event{late}"))
                if firing.note:
                    chain = dataclasses.replace(chain, notes=(*chain.notes, firing.note))
        links.append(link(Link.ACTIONS, *_actions(name, alarm)))
        return chain, links

    def _stuck(self, name: str, state: str | None, since: str | None) -> str | None:
        """Why an alarm (or composite) that has sat in ALARM too long cannot notify, or None."""
        if state != "ALARM" or since is None or self.inventory.collected_at is None:
            return None
        try:
            entered = datetime.fromisoformat(since)
            now = datetime.fromisoformat(self.inventory.collected_at)
            if now - entered <= self.stuck_after:
                return None
        except (ValueError, TypeError):  # unreadable, or naive and aware mixed: no claim
            return None
        hours = self.stuck_after.total_seconds() / 3600
        return (
            f"{name} has been in ALARM since {entered.isoformat()} (more than {num(hours)} h "
            "before the scan), and CloudWatch notifies only when the state changes, so it "
            "cannot notify a new event"
        )

    def _action_chains(self, base: Chain, head: list[LinkResult], alarm: Alarm) -> Iterator[Chain]:
        topics = [a for a in alarm.alarm_actions if is_sns_topic(a)]
        if not topics:
            yield dataclasses.replace(base, links=_complete(head))
            return
        for arn in topics:
            links = [*head, *self._topic_links(arn, alarm)]
            yield dataclasses.replace(base, links=_complete(links), topic=arn)

    def _composite_chains(
        self,
        base: Chain,
        head: list[LinkResult],
        composite: CompositeAlarm,
        child: Alarm | CompositeAlarm,
        *,
        among: tuple[CompositeAlarm, ...],
        through: tuple[CompositeAlarm, ...] = (),
    ) -> Iterator[Chain]:
        """The metric alarm notifies through a composite alarm that goes to ALARM whenever
        ``child`` (the alarm, or the composite below on the path ``through``) does; and through
        the composites of the region (``among``) above that one, each a chain of its own."""
        assert base.alarm is not None
        owner, region = base.owner, base.region
        name = f'composite alarm "{composite.name}"'

        def link(status: LinkStatus, detail: str) -> LinkResult:
            return _result(Link.ACTIONS, status, detail, (composite.arn, owner, region))

        chain = dataclasses.replace(base, composite=composite, through=through)
        why = composites.fires_with(composite, child)
        stuck = self._stuck(name, composite.state_value, composite.state_updated)
        broken = why or stuck
        if broken is not None:
            yield dataclasses.replace(chain, links=_complete([*head, link(BROKEN, broken)]))
            return
        status, detail = _actions(name, composite)
        if status is not OK:
            yield dataclasses.replace(chain, links=_complete([*head, link(status, detail)]))
        else:
            path = " and ".join(
                f'composite alarm "{c.name}" ({c.alarm_rule})' for c in (*through, composite)
            )
            actions = link(OK, f'alarm "{base.alarm.name}" notifies through {path}: {detail}')
            for arn in [a for a in composite.alarm_actions if is_sns_topic(a)]:
                links = [*head, actions, *self._topic_links(arn, composite)]
                yield dataclasses.replace(chain, links=_complete(links), topic=arn)
        if len(through) + 1 < composites.MAX_NESTING:
            path_so_far = (*through, composite)
            for parent in composites.parents(composite, among):
                if parent not in path_so_far:  # AWS refuses cycles; a bad inventory may not
                    yield from self._composite_chains(
                        base, head, parent, composite, among=among, through=path_so_far
                    )

    def _topic_links(self, arn: str, publisher: Alarm | CompositeAlarm) -> list[LinkResult]:
        account_id, region = arn_account(arn), arn_region(arn)

        def link(link: Link, status: LinkStatus, detail: str) -> LinkResult:
            return _result(link, status, detail, (arn, account_id, region))

        name = f"topic {arn}"
        found = self.region(account_id, region, name, "topic", arn)
        if isinstance(found, str):
            return [link(Link.TOPIC, UNKNOWN, found)]
        topic: Topic | None = found.topics.get(arn)
        if topic is None:
            error = self.recorded(account_id, "topic", region, arn)
            if error is not None:
                return [link(Link.TOPIC, UNKNOWN, f"cannot read {name}: {error.describe()}")]
            return [link(Link.TOPIC, BROKEN, f"{name} does not exist")]
        if not topic.exists:
            return [link(Link.TOPIC, BROKEN, f"{name} does not exist")]
        links = [link(Link.TOPIC, OK, f"{name} exists")]
        if topic.subscriptions is None:
            why = self.error(account_id, "subscriptions", region, arn)
            links.append(
                link(Link.SUBSCRIBER, UNKNOWN, f"cannot list the subscriptions of {name}: {why}")
            )
            return [*links, *self._notification_links(topic, publisher)]
        confirmed = sum(1 for s in topic.subscriptions if s.confirmed)
        pending = len(topic.subscriptions) - confirmed
        if confirmed:
            plural = "s" if confirmed > 1 else ""
            links.append(
                link(Link.SUBSCRIBER, OK, f"{name} has {confirmed} confirmed subscription{plural}")
            )
        else:
            extra = f" ({pending} pending)" if pending else ""
            links.append(
                link(Link.SUBSCRIBER, BROKEN, f"{name} has no confirmed subscription{extra}")
            )
        return [*links, *self._notification_links(topic, publisher)]

    def _notification_links(
        self, topic: Topic, publisher: Alarm | CompositeAlarm
    ) -> list[LinkResult]:
        """The key, access-policy and delivery links (:mod:`.delivery`)."""
        account_id, region = arn_account(topic.arn), arn_region(topic.arn)

        def why(call: str, resource: str) -> str:
            return self.error(account_id, call, region, resource)

        judged = delivery.notification_links(topic, publisher, self.inventory.organization_id, why)
        return [
            _result(link, status, detail, (resource, account_id, region))
            for link, status, detail, resource in judged
        ]


class _Replay:
    """An iterator's items, produced on first demand and replayed to later readers."""

    def __init__(self, items: Iterator[Chain]) -> None:
        self._items = items
        self._seen: list[Chain] = []

    def __iter__(self) -> Iterator[Chain]:
        yield from self._seen
        for item in self._items:
            self._seen.append(item)
            yield item


_OTHER_ACTIONS = (
    (
        "ok_actions",
        "OK actions, which run only when it returns to OK, not when an event sends it to ALARM",
    ),
    (
        "insufficient_data_actions",
        "INSUFFICIENT_DATA actions, which run only when it runs out "
        "of data, not when an event sends it to ALARM",
    ),
)


def _actions(name: str, alarm: Alarm | CompositeAlarm) -> tuple[LinkStatus, str]:
    """The actions link of an alarm or composite alarm: an SNS topic among its ALARM actions."""
    sns = [a for a in alarm.alarm_actions if is_sns_topic(a)]
    if not alarm.actions_enabled:
        return BROKEN, f"{name} has its actions disabled"
    if sns:
        return OK, f"{name} notifies {', '.join(sns)}"
    detail = f"{name} has no SNS topic among its alarm actions"
    if alarm.alarm_actions:
        detail += f" (its alarm actions: {', '.join(alarm.alarm_actions)})"
    for attribute, why in _OTHER_ACTIONS:
        topics = [a for a in getattr(alarm, attribute) if is_sns_topic(a)]
        if topics:
            plural = "s" if len(topics) > 1 else ""
            detail += f"; topic{plural} {', '.join(topics)} among its {why}"
    return BROKEN, detail


def watched(rule: Rule) -> Watched:
    """The management events a trail must record for the rule, as the catalog states them."""
    sources = rule.event_sources
    return Watched(
        sources=None if sources is None else frozenset(sources),
        kinds=frozenset({"write"}) if rule.write_events_only else KINDS,
    )


def _concerns(metric_filter: MetricFilter, rule: Rule, profile: str) -> bool:
    """Whether a filter is about the rule's events: it looks at the same fields as a reference
    and shares at least one event with it (or might: undecidable, or a pattern that does not
    parse, which deserves to be reported). A filter written for another control (IAM changes
    for a VPC rule, root usage for a security-group rule) is not a near miss of this one and
    must not explain its failure."""
    try:
        pattern = parse(metric_filter.pattern)
    except PatternSyntaxError:
        return True
    references = [ref.pattern for ref in rule.accepted_in(profile)]
    if not isinstance(pattern, JsonPattern):
        return True  # judged (and explained) as undecidable, or the empty pattern: covers all
    paths = _equality_paths(pattern)
    if any(
        paths & _equality_paths(ref) and overlaps(pattern, ref) is not False for ref in references
    ):
        return True
    if not paths & frozenset().union(*(_equality_paths(ref) for ref in references)):
        # Orthogonal (root usage vs security groups, or unauthorized calls, whose eventName
        # appears only in a "!=" clause): it shares events by accident, unless it covers.
        return judge(rule, profile, pattern).covered
    # A filter that can match nothing at all (events joined with && where || was meant) but
    # names this rule's conditions is this rule's filter, broken: it explains the failure.
    if overlaps(pattern, pattern) is False:
        own = set(atoms(pattern.expr))
        return any(own & set(atoms(ref.expr)) for ref in references)
    return False


def _equality_paths(pattern: JsonPattern) -> frozenset[str]:
    """The fields a pattern pins with ``=``: what it is about."""
    return frozenset(
        a.selector.dotted()
        for a in atoms(pattern.expr)
        if isinstance(a, Comparison) and a.op is Op.EQ
    )


def _likely_first(filters: Sequence[MetricFilter], rule: Rule, profile: str) -> list[MetricFilter]:
    """Filters whose pattern is an accepted reference verbatim first: judging is costly and a
    PASS stops at the first chain that holds. Only the order changes, never a verdict."""
    accepted = {ref.pattern for ref in rule.accepted_in(profile)}

    def verbatim(metric_filter: MetricFilter) -> bool:
        try:
            return parse(metric_filter.pattern) in accepted
        except PatternSyntaxError:
            return False

    return sorted(filters, key=lambda f: not verbatim(f))


def _log_group_of(trail: Trail) -> tuple[str, str, str, str] | str:
    """``(name, arn, account, region)`` of the trail's log group, or why there is none."""
    if not trail.log_group_arn:
        return f'trail "{trail.name}" does not deliver to CloudWatch Logs'
    parsed = log_group_of(trail.log_group_arn)
    if parsed is None:
        return f'trail "{trail.name}" names an invalid log group ARN {trail.log_group_arn}'
    _, region, account_id, name = parsed
    return name, trail.log_group_arn.removesuffix(":*"), account_id, region


def _gaps_only(verdict: Verdict | None, link: Link) -> frozenset[Link]:
    """``{link}`` when the verdict breaks it only because some events are missed."""
    if verdict is None or verdict.covered or not verdict.decided or verdict.over_broad:
        return frozenset()
    return frozenset({link})


def missed_summary(coverage: Coverage) -> str:
    """``3 events (A, B, C)``: the missed events, by eventName when that tells them apart."""
    names = [gap.example.get("eventName") for gap in coverage.gaps]
    if all(isinstance(name, str) for name in names) and len(set(names)) == len(names):
        shown = ", ".join(str(name) for name in names)
    else:
        shown = ", ".join(gap.description for gap in coverage.gaps)
    more = f", and {coverage.truncated} more" if coverage.truncated else ""
    count = coverage.gap_count
    return f"{count} {'event' if count == 1 else 'events'} ({shown}{more})"


def _filter_detail(name: str, verdict: Verdict) -> tuple[LinkStatus, str]:
    reference = verdict.reference.name
    if verdict.over_broad:
        return BROKEN, f"{name} is {verdict.over_broad_reason}"
    if verdict.covered:
        return OK, f"{name} covers {reference}"
    if not verdict.decided:
        return BROKEN, f"cannot prove {name} covers {reference}: {verdict.coverage.reason}"
    return BROKEN, f"{name} misses {missed_summary(verdict.coverage)}"


def unknown_trails(account: Account) -> Chain:
    error = account.error_for(*CALLS["trails"])
    why = "no region was collected" if error is None and not account.regions else _quote(error)
    detail = f"cannot list the trails of account {account.id}: {why}"
    link = _result(Link.TRAIL, UNKNOWN, detail, (account.id, account.id, None))
    return Chain(_complete([link]), account.id)


def unknown_organization_trails(inventory: Inventory, management: str) -> Chain:
    """The chain of the management account's organization trails when they could not be listed
    (:func:`~scanner.evaluate.trails.organization_trails_unknown`): unknown at the trail, naming
    the management account and the call that failed."""
    owner = inventory.account(management)
    if owner is None:
        why = "the management account was not scanned"
    elif owner.error is not None:
        why = f"the account could not be scanned: {owner.error.describe()}"
    else:
        error = owner.error_for(*CALLS["trails"])
        why = "no region was collected" if error is None and not owner.regions else _quote(error)
    detail = (
        f"cannot list the organization trails of management account {management}, which "
        f"cover every member: {why}"
    )
    link = _result(Link.TRAIL, UNKNOWN, detail, (management, management, None))
    return Chain(_complete([link]), management)


def no_trail(account: Account) -> Chain:
    # Trails are listed once per account (scanner.aws.regions): a single-region trail homed
    # elsewhere is not seen, and could not count anyway.
    detail = f"no multi-region or organization trail records the events of account {account.id}"
    link = _result(Link.TRAIL, BROKEN, detail, (account.id, account.id, None))
    return Chain(_complete([link]), account.id)
