"""The daemon's heart: one scan's pipeline, and the scheduler that runs it forever.

A scan: the cached account list cut to this shard (:mod:`.accounts`) -> collect (the covered
accounts plus what they depend on, on the service's long-lived AWS session) -> evaluate (in a
thread: it is CPU work) -> keep the covered accounts' findings -> record them in the state
store in ONE transaction, which computes the transitions and fills the alert outbox -> update
the metrics -> wake the alert dispatcher, which delivers in the background with its own
retries.

Invariants:

* Never two scans at once: scans run under one lock, whoever asks (the scheduler, a test).
* Only collection is abandoned: at the deadline (``schedule.deadline``) or at shutdown. Once
  the findings exist, the scan completes: the store write is shielded from cancellation, so a
  SIGTERM during it waits for the commit, and a crash leaves the previous scan intact.
* The first scan starts at once; the next one ``interval +/- jitter`` after the previous ended.
* At start-up the last known findings are loaded from the store into the metrics and the API
  before anything else, so a restarted daemon is ready at once with what it knew.
* A scan that cannot run (no credentials, Organizations refused, the deadline) changes no
  finding: it is counted, logged in one line and retried at the next tick.
* Scans are warm after the first: one :class:`~scanner.aws.session.AwsSession` lives as long
  as the service (member credentials kept in memory and renewed before they expire, the caller's
  identity known, clients kept), and the organization's listing is reused, refreshed in the
  background (:meth:`Service.refresh_listing`, run beside the schedule) every
  ``organization.account_list_refresh`` and at once on a membership event. The kept keys are
  renewed in the background too (:meth:`Service.renew_keys`, beside the schedule, see
  :mod:`.renewal`), ahead of the scans that would otherwise renew them all at once. A warm scan
  makes no AssumeRole for an account whose keys are still good, no GetCallerIdentity and no
  Organizations call; a role refused in one scan is tried again in the next.
* Between scans the service keeps the last inventory (every collected account) and what the
  event consumer (:mod:`.events`) needs to re-judge part of it: :meth:`Service.rejudge` takes
  some accounts read again, merges them and commits the findings of the accounts they can have
  changed through the same store, outbox and metrics as a scan, under the same lock. With
  events on, a scheduled scan counts the transitions no event announced since the scan before
  (``scanner_changes_missed_by_events_total``): the event path's blind spots.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from scanner.aws import CallStats, CollectResult, ScanError, ScanOptions, collect
from scanner.aws.session import AwsSession
from scanner.catalog import load_catalog
from scanner.daemon.accounts import AccountList, coverage
from scanner.daemon.config import Config
from scanner.daemon.config.suppressions import load_suppressions
from scanner.daemon.metrics import ACCOUNT_STATES, AccountView, Metrics, ScanResult
from scanner.daemon.renewal import RENEWAL_TICK_SECONDS, renewal_horizon
from scanner.daemon.sharding import Shard
from scanner.daemon.stopping import until
from scanner.errors import ConfigError
from scanner.evaluate import Listed, Suppression, apply_suppressions, each_finding, unmatched
from scanner.evaluate.confirm import Confirmation
from scanner.model import ACCOUNT_ACTIVE, Account, Finding, Inventory, Status, arn_account

log = structlog.get_logger("scanner.daemon")

Collect = Callable[[ScanOptions], Awaitable[CollectResult]]
Confirm = Callable[
    [ScanOptions, Inventory, Sequence[Finding]], Awaitable[tuple[Confirmation, CallStats]]
]


class Store(Protocol):
    """What the service needs of :class:`scanner.daemon.state.StateStore`."""

    def last_findings(self) -> Mapping[tuple[str, str], Finding]: ...

    def last_scan(self) -> Any: ...

    def account_views(self) -> Mapping[str, tuple[dict[str, Any], float | None]]: ...

    def record_scan(
        self,
        findings: Sequence[Finding],
        accounts: Mapping[str, str] | None,
        *,
        started: datetime,
        finished: datetime,
        error_after_scans: int,
        targets: Iterable[Any],
        views: Mapping[str, tuple[dict[str, Any], float | None]] | None = None,
    ) -> Sequence[Any]: ...


class Dispatcher(Protocol):
    """What the service needs of :class:`scanner.daemon.alerts.AlertDispatcher`."""

    def notify(self) -> None: ...


async def default_collect(options: ScanOptions) -> CollectResult:
    return await collect(options)


async def default_confirm(
    options: ScanOptions, inventory: Inventory, findings: Sequence[Finding]
) -> tuple[Confirmation, CallStats]:
    from scanner.aws.confirm import confirm

    return await confirm(options, inventory, findings)


def scan_options(config: Config, include_accounts: tuple[str, ...] | None = None) -> ScanOptions:
    """The collector's options; ``include_accounts`` replaces the organization filters."""
    org = config.organization
    only = include_accounts is not None
    return ScanOptions(
        organization=org.enabled,
        role_arn=org.role_arn,
        member_role_name=org.member_role_name,
        external_id=org.external_id,
        include_accounts=include_accounts if include_accounts is not None else org.include_accounts,
        exclude_accounts=() if only else org.exclude_accounts,
        include_ous=() if only else org.include_ous,
        exclude_ous=() if only else org.exclude_ous,
        regions=config.regions.include,
        exclude_regions=config.regions.exclude,
        endpoint_url=config.endpoint_url or None,
        rate_limits=dict(config.limits.rates),
        max_in_flight=config.limits.max_in_flight,
        retry_mode=config.limits.retry_mode,
        max_attempts=config.limits.max_attempts,
        account_concurrency=config.limits.account_concurrency,
        rules_profile=config.rules.profile,  # members are entered only for its undecided rules
        deep=config.scan.deep,
        patience=config.limits.patience,
        stuck_after_hours=config.rules.stuck_after / 3600,
    )


@dataclass
class ScanOutcome:
    """What one scan produced, for the logs, the tests and the metrics."""

    record: ScanResult
    transitions: Sequence[Any] = ()
    error: str | None = None
    collected: tuple[str, ...] = ()  # the account ids collected (covered + dependencies)


# The transitions an event should have announced: the control's chain itself changed.
_CHANGE_KINDS = frozenset({"failed", "resolved"})


@dataclass
class Rejudged:
    """What one re-judgement of some accounts produced (the event path's commit)."""

    judged: frozenset[str]
    findings: tuple[Finding, ...]
    transitions: Sequence[Any]
    finished: float  # Unix time the commit completed


@dataclass
class Health:
    """What /healthz and /readyz read."""

    ready: bool = False
    starting: bool = False  # the daemon is starting: alive before the scheduler loop runs
    restoring: bool = False
    loop_running: bool = False
    scan_started: float | None = None  # monotonic, while a scan runs
    scans: int = 0
    restored: int = 0  # findings restored from the store at start-up
    last_outcome: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Service:
    """Scans on a schedule; see the module docstring."""

    def __init__(
        self,
        config: Config,
        shard: Shard,
        metrics: Metrics,
        *,
        store: Store | None = None,
        dispatcher: Dispatcher | None = None,
        collect_fn: Collect = default_collect,
        confirm_fn: Confirm = default_confirm,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        renewal_tick: float = RENEWAL_TICK_SECONDS,
    ) -> None:
        self.config = config
        self.shard = shard
        self.metrics = metrics
        self.store = store
        self.dispatcher = dispatcher
        self.collect_fn = collect_fn
        self.confirm_fn = confirm_fn
        self.clock = clock
        self.rng = rng or random.Random()
        self.options = scan_options(config)
        self.accounts = (
            AccountList(self.options, config.organization.account_list_refresh)
            if config.organization.enabled
            else None
        )
        if self.accounts is not None:
            accounts = self.accounts
            metrics.state.account_list_fallbacks = lambda: accounts.fallbacks
            metrics.state.listing_age = accounts.age
        self._session: AwsSession | None = None  # built at first use, in the service's loop
        self._refreshing = False  # the background refresh of the listing runs
        # What the background renewal of keys plans by: every round's pause, when the next
        # scheduled scan starts (by ``clock``; None: one runs or none is scheduled yet) and how
        # long the last scan took (seconds).
        self.renewal_tick = renewal_tick
        self.next_scan_at: float | None = None
        self.scan_seconds = 0.0
        self.health = Health()
        self._lock = asyncio.Lock()
        self._collecting = False
        self._exceptions: tuple[Suppression, ...] = ()
        # The suppressions are checked at the first scan and after each listing, against the
        # organization as last listed (None: not listed, or incompletely: rules only).
        self._recheck = True
        self._listed: tuple[Listed, ...] | None = None
        # The last inventory and this shard's covered accounts: what the event path re-judges.
        self.inventory: Inventory | None = None
        self.covered: frozenset[str] = frozenset()
        self.names: dict[str, str] | None = None
        self.scanned = asyncio.Event()  # set by the first successful scan
        # Event path: on (a consumer runs), the accounts events named since the last scan, and
        # a request for the next scan now (a new member, a change only a scan can follow).
        self.events_active = False
        self.announced: set[str] = set()
        self._scan_soon = asyncio.Event()

    # ---------------------------------------------------------------------------- AWS

    def aws_session(self) -> AwsSession:
        """The long-lived AWS session every scan, listing and event of the service uses."""
        if self._session is None:
            self._session = AwsSession(self.options, clock=self.clock)
        return self._session

    async def close(self) -> None:
        """Close the AWS session (its connections); a later scan would open a new one."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # ---------------------------------------------------------------------------- state

    def restore(self) -> int:
        """Load the last known state into the metrics; the number of findings restored.

        Findings, and the accounts' names, OU paths, states, error labels and last successes,
        so every series keeps its labels across a restart. A worker thread's job at scale.
        """
        if self.store is None:
            return 0
        self.health.restoring = True
        try:
            owns = self.shard.owns
            findings = [f for f in self.store.last_findings().values() if owns(f.account_id)]
            stored = self.store.account_views()
            views = [AccountView.from_json(a, view) for a, (view, _) in stored.items()]
            success = {a: when for a, (_, when) in stored.items() if when is not None}
            last = self.store.last_scan()
            finished = last.finished.timestamp() if last is not None else None
            self.metrics.restore(findings, finished, views, success)
        finally:
            self.health.restoring = False
        self.health.restored = len(findings)
        self.health.ready = self.health.ready or bool(findings)
        log.info("state_restored", findings=len(findings), shard=self.shard.ordinal)
        return len(findings)

    def findings(self) -> list[Finding]:
        """The current findings of this shard (the last scan's, or those restored), sorted."""
        return list(self.metrics.state.picture.findings.values())

    # ---------------------------------------------------------------------------- one scan

    async def scan_once(self) -> ScanOutcome:
        """Run one scan now (waiting for a running one to finish first)."""
        async with self._lock:
            self.next_scan_at = None
            begun = self.health.scan_started = time.monotonic()
            try:
                return await self._scan()
            finally:
                self.health.scan_started = None
                self._collecting = False
                self.scan_seconds = time.monotonic() - begun

    async def _scan(self) -> ScanOutcome:
        started = self.clock()
        stats: list[CallStats] = []
        self._collecting = True
        self.aws_session().begin_scan()  # what was refused is tried again, listing included
        try:
            async with asyncio.timeout(self.config.schedule.deadline):
                inventory, covered, names, collected = await self._gather(stats)
        except TimeoutError:
            return self._failed(started, "deadline", stats, "the scan outlasted schedule.deadline")
        except ScanError as err:
            return self._failed(started, "failed", stats, str(err))
        self._collecting = False
        findings = await asyncio.to_thread(self._judged, inventory, covered.__contains__)
        disagreements = history_disagreements = failed_actions = 0
        if self.config.scan.confirm:
            confirmation, confirm_stats = await self.confirm_fn(self.options, inventory, findings)
            findings, disagreements = tuple(confirmation.findings), confirmation.disagreements
            history_disagreements = confirmation.history_disagreements
            failed_actions = confirmation.failed_actions
            stats.append(confirm_stats)
        findings = self._suppressed(findings, inventory, started)
        views = tuple(AccountView.of(a) for a in inventory.accounts if a.id in covered)
        self.inventory, self.covered, self.names = inventory, covered, names
        finished = self.clock()
        record = ScanResult(
            started,
            finished,
            "success",
            findings,
            views,
            tuple(stats),
            disagreements,
            alarm_history_disagreements=history_disagreements,
            failed_alarm_actions=failed_actions,
        )
        # From here on the scan completes even if the process is asked to stop.
        transitions = await asyncio.shield(self._commit(record, names))
        await asyncio.to_thread(self.metrics.record, record)
        self._count_missed(transitions or ())
        self.scanned.set()
        self.health.ready = True
        self.health.scans += 1
        self.health.last_outcome = "success"
        self._log(record, collected, transitions)
        if self.dispatcher is not None and transitions is not None:
            self.dispatcher.notify()
        return ScanOutcome(record, transitions or (), None, collected)

    def _count_missed(self, transitions: Sequence[Any]) -> None:
        """With events on, the transitions of this scan that no event announced since the scan
        before: each is a change the event path missed (a rule removed, a queue down...)."""
        if self.events_active and self.scanned.is_set():
            missed = [
                t
                for t in transitions
                if str(t.kind) in _CHANGE_KINDS and t.account_id not in self.announced
            ]
            self.metrics.state.events.changes_missed += len(missed)
            for t in missed:
                log.warning("change_missed_by_events", account_id=t.account_id, rule=t.rule)
        self.announced = set()

    # ---------------------------------------------------------------------------- events

    @property
    def lock(self) -> asyncio.Lock:
        """Held by a scan and by the event path's read-merge-commit, never both at once."""
        return self._lock

    def scan_soon(self, reason: str, *, relist: bool = False) -> None:
        """Run the next scheduled scan now (``relist``: list the organization again first: the
        background refresh lists at once and then asks for the scan)."""
        if relist and self.accounts is not None:
            self.accounts.request()
            if self._refreshing:
                log.info("listing_requested", reason=reason)
                return
        log.info("scan_requested", reason=reason, relist=relist)
        self._scan_soon.set()

    async def refresh_listing(self, stop: asyncio.Event) -> None:
        """Keep the organization's listing fresh between scans, until ``stop``: list it again
        every ``organization.account_list_refresh`` after the first successful scan, and at once
        when :meth:`scan_soon` asks (a membership event), then run a scan on it. A failed
        listing keeps the last good one (:class:`~scanner.daemon.accounts.AccountList`); its
        calls are counted in the API call metrics (no scan's)."""
        accounts = self.accounts
        if accounts is None:
            return
        # From its start, a relist request is this loop's, even while it waits for the first
        # scan: were it answered by a scan on the old listing, a new member would wait for
        # the next one.
        self._refreshing = True
        try:
            if not await until(stop, self.scanned.wait()):
                return
            while not stop.is_set():
                if accounts.due_in() > 0:
                    await until(stop, _wait(accounts.requested, accounts.due_in()))
                if stop.is_set():
                    break
                requested = accounts.requested.is_set()
                accounts.requested.clear()
                if accounts.due_in() > 0:
                    continue
                try:
                    organization, stats = await accounts.get(self.aws_session())
                except ScanError as err:  # no list yet: the next scan lists (cannot happen here)
                    log.warning("listing_refresh_failed", error=str(err))
                    continue
                if stats is not None:
                    self.metrics.count_calls(stats)
                    self._recheck, self._listed = True, organization.listed()
                    log.info(
                        "organization_listed",
                        accounts=len(organization.accounts),
                        calls=stats.calls,
                        incomplete=len(organization.incomplete),
                        requested=requested,
                    )
                if requested:
                    log.info("scan_requested", reason="organization listed again", relist=False)
                    self._scan_soon.set()
        finally:
            self._refreshing = False

    async def renew_keys(self, stop: asyncio.Event) -> None:
        """Renew the kept keys ahead of the scans, until ``stop``: a round
        (:meth:`renew_keys_now`) every ``renewal_tick`` seconds, measured from one round's start
        to the next, so a long round does not push the next one back.

        It does not take :attr:`lock`, on purpose. Under it, a round would wait for the scan in
        progress (minutes at 10,000 accounts, while keys cross their threshold: the defect this
        fixes) and delay the next scan and the event path while renewing. Beside them it is
        safe: the session's caller is shared by design (its pacing and in-flight cap are the
        process's, so renewals slow nothing beyond the sts rate they share); each key renews
        under its own lock and re-checks its age there, so a scan's request and a round never
        both assume the same role (the later one takes the new keys); new keys replace the old
        in one step, and a request signing meanwhile uses the old ones, still valid. Its calls
        are counted in its own stats, never in a scan's (this task runs outside any scan's
        counting), and added to the process-lifetime counters.
        """
        while not stop.is_set():
            started = time.monotonic()
            await until(stop, self.renew_keys_now())
            if stop.is_set():
                break
            pause = self.renewal_tick - (time.monotonic() - started)
            await until(stop, asyncio.sleep(max(0.0, pause)))

    async def renew_keys_now(self) -> int:
        """One round of background renewal (see :mod:`.renewal`): the keys renewed."""
        session = self._session
        if session is None:  # nothing kept yet
            return 0
        now = self.clock()
        ahead = self.next_scan_at - now if self.next_scan_at is not None else 0.0
        horizon = renewal_horizon(
            until_next_scan=ahead, scan_seconds=self.scan_seconds, tick=self.renewal_tick
        )
        if horizon is None:  # keys renewed now would be old again before the next scan
            return 0
        renewed, stats = await session.renew_keys(horizon)
        if stats.calls:
            self.metrics.count_calls(stats)
            log.info(
                "keys_renewed",
                renewed=renewed,
                failed=stats.errors,
                calls=stats.calls,
                horizon_seconds=round(horizon),
            )
        return renewed

    def account(self, account_id: str) -> Account | None:
        """The last inventory's account (the inventory's own index)."""
        inventory = self.inventory
        return None if inventory is None else inventory.account(account_id)

    def _known(self, account: Account) -> Account:
        """The last inventory's account when ``account`` equals it (``ScanOptions.known``): a
        warm scan then holds one inventory's objects at its peak, not two (~22 MiB of them at
        10,000 accounts), and what it finds unchanged stays where it was."""
        held = self.account(account.id)
        return held if held is not None and held == account else account

    def dependents(self, changed: frozenset[str]) -> frozenset[str]:
        """The covered accounts whose findings the changed accounts' resources can move: the
        changed ones, every member when the management account changed (its organization
        trail's chain is theirs), and the accounts whose alarms notify a changed account's
        topic. Members not entered on purpose are left out: a scan decides them."""
        inventory = self.inventory
        if inventory is None:
            return frozenset()
        management = inventory.management_account_id
        if management is not None and management in changed:
            return frozenset(a.id for a in inventory.accounts if a.id in self.covered and a.entered)
        judged = set(changed & self.covered)
        for account in inventory.accounts:
            covered = account.id in self.covered and account.id not in judged
            if covered and _notified_owners(account) & changed:
                judged.add(account.id)
        return frozenset(judged)

    async def rejudge(self, fresh: Mapping[str, Account], judged: frozenset[str]) -> Rejudged:
        """Merge accounts read again into the last inventory and commit the findings of
        ``judged`` (see :meth:`dependents`) as a scan would; the caller holds :attr:`lock`.

        The findings are evaluated on the judged accounts plus what their chains lead to (the
        management account, the owners of the topics their alarms notify), so the cost is the
        change's, not the organization's."""
        started = self.clock()
        inventory = self.inventory
        if inventory is None:
            raise RuntimeError("rejudge before the first scan")
        accounts = {a.id: a for a in inventory.accounts}
        accounts.update(fresh)
        merged = dataclasses.replace(
            inventory, accounts=tuple(accounts[k] for k in sorted(accounts))
        )
        self.inventory = merged
        judged = frozenset(
            a for a in judged if a in accounts and accounts[a].status == ACCOUNT_ACTIVE
        )
        if not judged:
            return Rejudged(judged, (), (), self.clock())
        needed = set(judged)
        if merged.management_account_id is not None:
            needed.add(merged.management_account_id)
        for account_id in judged:
            needed |= _notified_owners(accounts[account_id])
        part = dataclasses.replace(
            merged,
            accounts=tuple(accounts[k] for k in sorted(needed) if k in accounts),
            reported_accounts=tuple(sorted(judged)),
            collected_at=_utc(started).isoformat(timespec="seconds"),
        )
        found = await asyncio.to_thread(self._judged, part, lambda _: True)
        findings = self._suppressed(found, part, started)
        views = tuple(AccountView.of(accounts[a]) for a in sorted(judged))
        finished = self.clock()
        record = ScanResult(started, finished, "success", findings, views)
        transitions = await asyncio.shield(self._commit_part(record))
        await asyncio.to_thread(self.metrics.merge, record)
        if self.dispatcher is not None and transitions:
            self.dispatcher.notify()
        log.info(
            "accounts_rejudged",
            accounts=len(judged),
            findings=len(findings),
            transitions=len(transitions),
            seconds=round(finished - started, 3),
        )
        return Rejudged(judged, findings, transitions, self.clock())

    def _judged(self, inventory: Inventory, wanted: Callable[[str], bool]) -> tuple[Finding, ...]:
        """The findings of the ``wanted`` accounts; one equal to the finding the daemon holds
        for its account and rule is that very object (a worker thread's job).

        The daemon holds the last findings until the new ones are committed; without this, each
        scan held two sets at its end (at 10,000 accounts 180,000 findings each) and the
        process kept the high-water mark as its size. Now an unchanged finding is dropped as
        soon as it is made, and only what changed is held twice.
        """
        rules = self.config.rules
        held = self.metrics.state.picture.findings
        judged = []
        for finding in each_finding(
            inventory, rules.profile, stuck_after_hours=rules.stuck_after / 3600
        ):
            if not wanted(finding.account_id):
                continue
            before = held.get((finding.account_id, finding.rule))
            judged.append(before if before is not None and before == finding else finding)
        return tuple(judged)

    async def _commit_part(self, record: ScanResult) -> Sequence[Any]:
        """The findings of some accounts, through the scan's state machine: the listing is
        not judged (``accounts=None``), so every other account's tracks stand as they were."""
        if self.store is None:
            return ()
        store = self.store
        targets = self.config.alerts.targets

        def write() -> Sequence[Any]:
            return store.record_scan(
                record.findings,
                None,
                started=_utc(record.started),
                finished=_utc(record.finished),
                error_after_scans=self.config.alerts.error_after_scans,
                targets=targets,
            )

        return await asyncio.to_thread(write)

    def _suppressed(
        self, findings: tuple[Finding, ...], inventory: Inventory, started: float
    ) -> tuple[Finding, ...]:
        """The findings with the accepted exceptions marked; the file is read every scan (a
        mounted ConfigMap changes without a restart), and a file that turned bad keeps the last
        good exceptions, with an error logged."""
        path = self.config.rules.suppressions
        if not path:
            return findings
        try:
            self._exceptions = load_suppressions(path)
        except ConfigError as err:
            log.error("suppressions_unreadable", error=str(err), kept=len(self._exceptions))
        self._check_exceptions()
        paths = {a.id: a.ou_path for a in inventory.accounts}
        ids = {a.id: a.ou_ids for a in inventory.accounts}
        today = _utc(started).date()
        return tuple(apply_suppressions(findings, self._exceptions, today, paths, ids))

    def _check_exceptions(self) -> None:
        """Warn of each suppression that matches nothing: its rule at the first scan, its
        account or OU after each listing of the organization (only then are they known)."""
        if not self._recheck:
            return
        self._recheck = False
        profile = self.config.rules.profile
        rules = {rule.id for rule in load_catalog().rules_in(profile)}
        for warning in unmatched(self._exceptions, profile, rules, self._listed):
            log.warning("suppression_matches_nothing", warning=warning)

    async def _gather(
        self, stats: list[CallStats]
    ) -> tuple[Inventory, frozenset[str], dict[str, str] | None, tuple[str, ...]]:
        """Collect; the inventory, covered ids, their names (for the store), collected ids."""
        session = self.aws_session()
        if self.accounts is None:  # the caller's own account
            result = await self.collect_fn(dataclasses.replace(self.options, session=session))
            stats.append(result.stats)
            ids = [a.id for a in result.inventory.accounts if self.shard.owns(a.id)]
            names = {a.id: a.name for a in result.inventory.accounts if a.id in ids}
            return result.inventory, frozenset(ids), names, tuple(ids)
        accounts = self.accounts
        if accounts.organization is None:  # the first scan: list while collecting
            return await self._gather_listing(accounts, session, stats)
        if self._refreshing:  # warm: the cached list
            organization, listing = accounts.organization, None
        else:  # no background refresh: list if due
            organization, listing = await accounts.get(self.aws_session())
        if listing is not None:
            stats.append(listing)
            self._recheck, self._listed = True, organization.listed()
        cover = coverage(organization, self.options, self.shard)
        names = {a.id: a.name for a in cover.covered if a.active}
        if not cover.covered:
            return Inventory(), frozenset(), names, ()
        options = scan_options(self.config, include_accounts=tuple(sorted(cover.covered_ids)))
        result = await self.collect_fn(
            dataclasses.replace(options, listing=organization, session=session, known=self._known)
        )
        stats.append(result.stats)
        collected = tuple(a.id for a in result.inventory.accounts)
        return result.inventory, cover.covered_ids, names, collected

    async def _gather_listing(
        self, accounts: AccountList, session: AwsSession, stats: list[CallStats]
    ) -> tuple[Inventory, frozenset[str], dict[str, str] | None, tuple[str, ...]]:
        """The first scan (no list yet): the collector lists the organization and enters each
        member of this shard as its page arrives, as ``scan --organization`` does. Listing first
        and collecting after took the listing's time twice over at 10,000 accounts (Organizations'
        ~280 s, then AssumeRole's ~250 s); the list it made is kept for the scans after."""
        options = dataclasses.replace(self.options, session=session, owns=self.shard.owns)
        result = await self.collect_fn(options)
        stats.append(result.stats)
        organization = result.listing
        if organization is None:  # a collector that did not list (cannot happen with AWS)
            raise ScanError("the collector returned no organization listing")
        accounts.took(organization)
        self._recheck, self._listed = True, organization.listed()
        cover = coverage(organization, self.options, self.shard)
        names = {a.id: a.name for a in cover.covered if a.active}
        collected = tuple(a.id for a in result.inventory.accounts)
        return result.inventory, cover.covered_ids, names, collected

    async def _commit(
        self, record: ScanResult, names: dict[str, str] | None
    ) -> Sequence[Any] | None:
        if self.store is None:
            return None
        store = self.store
        targets = self.config.alerts.targets
        success = self.metrics.account_success_after(record)
        views = {v.id: (v.to_json(), success.get(v.id)) for v in record.accounts}

        def write() -> Sequence[Any]:
            return store.record_scan(
                record.findings,
                names,
                started=_utc(record.started),
                finished=_utc(record.finished),
                error_after_scans=self.config.alerts.error_after_scans,
                targets=targets,
                views=views,
            )

        return await asyncio.to_thread(write)

    def _failed(
        self, started: float, outcome: str, stats: list[CallStats], reason: str
    ) -> ScanOutcome:
        record = ScanResult(started, self.clock(), outcome, stats=tuple(stats))
        self.metrics.record(record)
        self.health.scans += 1
        self.health.last_outcome = outcome
        log.error("scan_failed", outcome=outcome, reason=reason, seconds=round(record.duration, 3))
        return ScanOutcome(record, (), reason)

    def _log(
        self, record: ScanResult, collected: tuple[str, ...], transitions: Sequence[Any] | None
    ) -> None:
        for view in record.accounts:
            for error in view.errors:
                log.warning(
                    "account_error",
                    account_id=view.id,
                    account_name=view.name,
                    service=error.service,
                    operation=error.operation,
                    code=error.code,
                    aws_region=error.region,
                    message=error.message,
                )
        counts = {s.value: 0 for s in Status}
        for finding in record.findings:
            counts[finding.status.value] += 1
        states = dict.fromkeys(ACCOUNT_STATES, 0)
        for view in record.accounts:
            states[view.state] += 1
        calls: Counter[tuple[str, str]] = Counter()
        for stats in record.stats:
            calls.update({key: op.calls for key, op in stats.by_operation().items()})
        age = self.accounts.age() if self.accounts is not None else None
        log.info(
            "scan_completed",
            seconds=round(record.duration, 3),
            accounts=len(record.accounts),
            collected=len(collected),
            **{f"accounts_{k}": v for k, v in states.items()},
            findings=len(record.findings),
            **counts,
            api_calls=sum(s.calls for s in record.stats),
            # What a warm scan saves: 0 on a scan that reused keys, identity and listing.
            assume_role_calls=calls[("sts", "AssumeRole")],
            caller_identity_calls=calls[("sts", "GetCallerIdentity")],
            organizations_calls=sum(n for (svc, _), n in calls.items() if svc == "organizations"),
            credential_refreshes=sum(s.credential_refreshes for s in record.stats),
            listing_age_seconds=round(age, 1) if age is not None else None,
            transitions=len(transitions) if transitions is not None else None,
            shard=self.shard.ordinal,
            total_shards=self.shard.total,
        )

    # ---------------------------------------------------------------------------- schedule

    def next_delay(self) -> float:
        schedule = self.config.schedule
        return max(0.0, schedule.interval + self.rng.uniform(-schedule.jitter, schedule.jitter))

    def alive(self) -> bool:
        """Starting, restoring the state, or the scheduler loop runs and no scan is stuck past its
        deadline (plus a minute)."""
        started = self.health.scan_started
        stuck = started is not None and (
            time.monotonic() - started > self.config.schedule.deadline + 60
        )
        health = self.health
        return (health.loop_running or health.restoring or health.starting) and not stuck

    async def run(self, stop: asyncio.Event) -> None:
        """Scan now, then every interval, until ``stop`` is set; returns promptly after it.
        The listing's background refresh (:meth:`refresh_listing`) and the kept keys' background
        renewal (:meth:`renew_keys`) run beside it."""
        self.health.loop_running = True
        beside = [
            asyncio.create_task(self.refresh_listing(stop)),
            asyncio.create_task(self.renew_keys(stop)),
        ]
        try:
            while not stop.is_set():
                await self._scan_until(stop)
                if stop.is_set():
                    break
                delay = self.next_delay()
                self.next_scan_at = self.clock() + delay
                await self._wait(stop, delay)
        finally:
            self.health.loop_running = False
            for task in beside:
                task.cancel()
            for task in beside:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _wait(self, stop: asyncio.Event, delay: float) -> None:
        """Until the next scan is due, ``stop`` is set, or :meth:`scan_soon` asks for one."""
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._scan_soon.wait())]
        try:
            await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        self._scan_soon.clear()

    async def _scan_until(self, stop: asyncio.Event) -> None:
        scan = asyncio.ensure_future(self.scan_once())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({scan, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not scan.done():
                if self._collecting:
                    log.info("scan_abandoned", reason="shutdown")
                    scan.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await scan  # a scan past collection completes: its state gets written
            elif scan.exception() is not None:
                log.error("scan_crashed", error=repr(scan.exception()))
        finally:
            stopping.cancel()


def _notified_owners(account: Account) -> set[str]:
    """The accounts owning the topics the account's alarms notify, other than itself."""
    return {
        arn_account(arn)
        for region in account.regions.values()
        for alarms in (region.alarms or (), region.composite_alarms or ())
        for alarm in alarms
        for arn in (*alarm.alarm_actions, *alarm.ok_actions, *alarm.insufficient_data_actions)
        if arn.startswith("arn:") and ":sns:" in arn and arn_account(arn) != account.id
    } - {""}


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Until ``event`` is set or ``seconds`` have passed."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


__all__ = ["Dispatcher", "Health", "Rejudged", "ScanOutcome", "Service", "Store", "scan_options"]
