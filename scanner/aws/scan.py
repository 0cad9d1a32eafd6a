"""One scan: list the accounts, decide whom to enter, collect them, return the Inventory.

This is the package's entry point (the CLI, the demo and the daemon call :func:`collect`).

The plan (issue 9: calls in proportion to what is monitored):

1. ListRoots (its ARN) names the management account; it is collected at once, with the topics
   its alarms notify in other accounts (read there), while the listing of the organization goes
   on: accounts flow in page by page with their OU paths (Organizations' quota makes listing a
   thousand accounts take half a minute).
2. From the management account's data alone, :class:`~scanner.evaluate.OutsideVerdicts` tells
   which rules its organization trails' chains PASS for any member. A member's own resources
   can only add chains, so those rules are decided: a member with nothing left undecided is not
   entered at all (no call; ``Account.entered=False``), the others are entered and read by
   following references from their one DescribeTrails (:mod:`scanner.aws.account`).
   ``deep`` enters every account fully.
3. SNS topics owned by another account are read with that account's identity after the accounts
   are collected, and land in the owner's regions (where the evaluator looks).

Invariants:

* One :class:`~scanner.aws.clients.ClientPool` (one base session) and one
  :class:`~scanner.aws.gateway.Caller` (throttles) per scan, or those of the long-lived
  :class:`~scanner.aws.session.AwsSession` the options name (the daemon's: identities, clients
  and pacing kept across scans); every AWS call of the scan goes through them and is counted
  in :attr:`CollectResult.stats` (:func:`~scanner.aws.gateway.counting`).
* An account that cannot be entered (AssumeRole refused, missing role) is an
  :class:`~scanner.model.Account` with ``error`` set; an account that fails unexpectedly is one
  too. The scan always goes on; only "cannot run at all" raises :class:`ScanError`.
* Accounts that are not ACTIVE are never entered: they are returned in
  :attr:`CollectResult.suspended` and in the inventory with their status and no regions.
* What a member is entered for is decided before any of its calls, from data the scan already
  holds, so the same inventory evaluates to the same findings offline.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from scanner.aws.account import (
    AccountCollector,
    AccountData,
    collect_topics,
    topic_region,
)
from scanner.aws.clients import Identity
from scanner.aws.gateway import CallFailed, CallStats, counting
from scanner.aws.organization import (
    ORGANIZATIONS_REGION,
    Described,
    OrgAccount,
    Organization,
    list_organization,
    open_organization,
    select,
)
from scanner.aws.regions import listing_region
from scanner.aws.session import DEFAULT_HOME_REGION, AwsSession
from scanner.aws_defaults import (
    DEFAULT_ACCOUNT_CONCURRENCY,
    DEFAULT_BACKOFF,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MEMBER_ROLE,
    DEFAULT_PATIENCE,
)
from scanner.catalog import load_catalog
from scanner.errors import ScanError
from scanner.evaluate import STUCK_AFTER_HOURS, OutsideVerdicts
from scanner.model import Account, CollectionError, Inventory, arn_account

log = structlog.get_logger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ScanOptions:
    """What to scan and how gently. Every field has a default that works against real AWS.

    * ``organization``: scan every account of the organization (else the caller's own).
    * ``role_arn``: a hub role assumed first; ``member_role_name`` / ``external_id``: the role
      assumed in every other account.
    * ``regions`` / ``exclude_regions``: the regions the scan may read; a reference into another
      region is not followed (its verdict is ERROR, saying the region was not collected).
    * ``include_accounts`` / ``exclude_accounts`` / ``include_ous`` / ``exclude_ous``: account
      ids and OU (or root) ids; exclusion wins.
    * ``profile``: the AWS profile of the base credentials; ``endpoint_url``: one endpoint for
      every service (an emulator), else botocore's resolution including ``AWS_ENDPOINT_URL``;
      ``home_region``: where STS is called and trails are listed (default: the profile's
      region, else us-east-1).
    * ``rate_limits``: requests per second per (account, region, service), by service name,
      overriding :data:`~scanner.aws_defaults.DEFAULT_RATES`; ``max_in_flight``: global cap.
    * ``max_attempts``: attempts per call (the gateway's retries, see
      :class:`~scanner.aws.gateway.RetryPolicy`); ``patience``: seconds a throttled
      Organizations or STS call keeps retrying; ``backoff``: (base, cap) of the exponential
      backoff in seconds; ``retry_mode``: botocore's mode (adaptive adds its client-side
      rate limiter).
    * ``account_concurrency``: accounts collected at the same time.
    * ``listing``: the organization as :func:`list_accounts` gave it earlier (the daemon caches
      it: Organizations tolerates little traffic); ``None`` lists it now.
    * ``rules_profile``: the rule profile the findings will be drawn for; a member is entered
      only for the rules of it that no chain outside the account decides. ``None`` plans for
      every profile of the catalog (a member is left out only when every rule of every profile
      is decided outside it). ``deep``: enter every account and read all it holds.
      ``stuck_after_hours``: when an alarm in ALARM stops counting, as the evaluation will
      judge it (the plan must agree with the verdicts it saves calls for).
    * ``owns``: of the accounts the filters keep, those this scan reports (the daemon's shard,
      decided per account as the listing's pages arrive); ``None``: all of them.
    * ``session``: a long-lived :class:`~scanner.aws.session.AwsSession` to scan with (built
      from these options; its owner calls its ``begin_scan`` before each scan and closes it);
      ``None``: one for this scan only.
    * ``known``: given each account the scan found, gives back the caller's own object when
      it holds an equal one (the daemon's last inventory): a warm scan's inventory is then
      mostly the last one's objects, and the two are not held side by side; ``None``: every
      account is new.
    """

    organization: bool = False
    role_arn: str | None = None
    member_role_name: str = DEFAULT_MEMBER_ROLE
    external_id: str | None = None
    regions: tuple[str, ...] = ()
    exclude_regions: tuple[str, ...] = ()
    include_accounts: tuple[str, ...] = ()
    exclude_accounts: tuple[str, ...] = ()
    include_ous: tuple[str, ...] = ()
    exclude_ous: tuple[str, ...] = ()
    profile: str | None = None
    endpoint_url: str | None = None
    home_region: str | None = None
    rate_limits: Mapping[str, float] = field(default_factory=dict)
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    retry_mode: str = "standard"
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    patience: float = DEFAULT_PATIENCE
    backoff: tuple[float, float] = DEFAULT_BACKOFF
    account_concurrency: int = DEFAULT_ACCOUNT_CONCURRENCY
    listing: Organization | None = None
    rules_profile: str | None = None
    deep: bool = False
    stuck_after_hours: float = STUCK_AFTER_HOURS
    session: AwsSession | None = None
    owns: Callable[[str], bool] | None = None
    known: Callable[[Account], Account] | None = None


@dataclass(frozen=True)
class CollectResult:
    """The inventory, the call counters, the accounts not scanned for their status, seconds."""

    inventory: Inventory
    stats: CallStats
    suspended: tuple[Account, ...]
    duration: float
    clients: int = 0  # botocore clients created during the scan
    # The organization as this scan listed it (or was given it), with the parents it could not
    # list; ``None`` for a scan of the caller's own account.
    listing: Organization | None = None


# The reads of a topic whose failure an account depending on it is told of (by the topic's ARN).
_TOPIC_READS = ("ListSubscriptionsByTopic", "GetTopicAttributes")


class _Plan:
    """How many rules chains outside a member still leave undecided, from the data collected
    first (the management account's and its topics' owners'), for the profile(s) the scan plans
    for.

    Those chains start at the management account's organization trails and read nothing of the
    member (:mod:`scanner.evaluate.verdict`), so the answer is the same for every member and is
    computed once, here (CPU work: callers build the plan off the event loop). It is computed
    for a stand-in member, never for the management account itself: its organization trail is
    its own, not a chain outside it."""

    MEMBER = "member"  # a stand-in id: no account of the inventory, no trail's owner

    def __init__(self, inventory: Inventory, profile: str | None, stuck_after_hours: float) -> None:
        catalog = load_catalog()
        names = [profile] if profile is not None else [p.name for p in catalog.profiles]
        verdicts = [
            OutsideVerdicts(inventory, name, catalog, stuck_after_hours=stuck_after_hours)
            for name in names
        ]
        self.undecided = sum(len(v.rules) - len(v.decided(self.MEMBER)) for v in verdicts)


class _Scan:
    def __init__(self, options: ScanOptions, progress: Progress | None) -> None:
        self.options = options
        self.progress = progress
        self.owned = options.session is None  # else the caller's: kept open after the scan
        session = options.session or AwsSession(options)
        self.pool = session.pool
        self.caller = session.caller
        self.home = session.home
        self.scope = session.scope
        self.listing_region = self.home
        self.credentials = session.credentials
        # This scan's calls; a shared caller's own stats count the other users'.
        self.stats = self.caller.stats if self.owned else CallStats()
        self.partition = "aws"
        self.collected: dict[str, AccountData] = {}  # accounts read, even only for topics
        self.failed: dict[str, CollectionError] = {}  # accounts that could not be entered
        self.not_entered: set[str] = set()
        self.foreign_topics: dict[str, set[str]] = {}  # topic ARN -> accounts whose alarms need it
        self.listed: dict[str, OrgAccount] = {}
        self.listing_done = False
        self.listing_gaps: list[CollectionError] = []  # parents the listing could not read
        self.page_arrived = asyncio.Condition()
        self.plan_ready = asyncio.Event()
        self.plan: _Plan | None = None
        self.done = 0
        self.total = 0

    async def accounts(self, me: Identity) -> Organization:
        if not self.options.organization:
            return Organization(None, None, (OrgAccount(me.account_id, me.account_id),))
        if self.options.listing is not None:
            self.listing_gaps = list(self.options.listing.incomplete)
            return self.options.listing
        region = ORGANIZATIONS_REGION.get(me.partition, self.home)
        client = await self.pool.client(me, region, "organizations")
        return await list_organization(self.caller, client)

    async def _stream(self, me: Identity) -> tuple[Described, AsyncIterator[list[OrgAccount]]]:
        """The organization as it is listed: described first, then pages of accounts."""
        if not self.options.organization or self.options.listing is not None:
            known = await self.accounts(me)

            async def one_page() -> AsyncIterator[list[OrgAccount]]:
                yield list(known.accounts)

            return Described(known.id, known.management_account_id), one_page()
        region = ORGANIZATIONS_REGION.get(me.partition, self.home)
        client = await self.pool.client(me, region, "organizations")
        return await open_organization(self.caller, client, self.listing_gaps)

    async def member_of_organization(self, account_id: str) -> OrgAccount | None:
        """The account as the listing shows it, waiting for its page; ``None`` if not listed."""
        async with self.page_arrived:
            await self.page_arrived.wait_for(lambda: account_id in self.listed or self.listing_done)
        return self.listed.get(account_id)

    def _finished(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)

    async def enter(self, account_id: str) -> None:
        """Collect the account by following references from its trails."""
        try:
            await self._enter(account_id)
        except Exception as error:  # a bug or an unexpected response: report it, go on
            log.exception("account_failed", account=account_id)
            failure = CollectionError("scanner", "CollectAccount", type(error).__name__, str(error))
            self.failed[account_id] = failure

    async def _enter(self, account_id: str) -> None:
        try:
            identity = await self.credentials.for_account(account_id)
        except CallFailed as failed:
            self.failed[account_id] = failed.error
            return
        collector = AccountCollector(
            self.caller,
            self.pool,
            identity,
            scope=self.scope,
            listing_region=self.listing_region,
            data=self.collected.get(account_id),
        )
        self.collected[account_id] = collector.data
        for arn in await collector.run():
            self.foreign_topics.setdefault(arn, set()).add(account_id)

    async def other_accounts_topics(self) -> None:
        """Topics owned by another account, read there, into that account's data.

        An owner that was not collected but is an active member of the organization (not
        entered, another shard's, or filtered out) is entered just for its topics. Topics
        outside the organization stay unread and the evaluator says so; an owner that could not
        be entered is not tried again (the evaluator quotes its failure)."""
        pending, self.foreign_topics = self.foreign_topics, {}
        by_owner: dict[str, set[str]] = {}
        for arn in pending:
            by_owner.setdefault(arn_account(arn), set()).add(arn)

        async def read(owner: str, arns: set[str]) -> None:
            if owner not in self.collected:
                member = await self.member_of_organization(owner)
                if member is None or not member.active:
                    return
                if owner in self.failed:
                    self._depended(owner, arns, pending)
                    return
            try:
                identity = await self.credentials.for_account(owner)
            except CallFailed as failed:
                self.failed[owner] = failed.error
                self._depended(owner, arns, pending)
                return
            data = self.collected.setdefault(owner, AccountData(owner))
            await collect_topics(self.caller, self.pool, identity, arns, data, scope=self.scope)
            self._depended(owner, arns, pending)

        await asyncio.gather(*(read(owner, arns) for owner, arns in sorted(by_owner.items())))

    def _depended(self, owner: str, arns: set[str], needed_by: Mapping[str, set[str]]) -> None:
        """Record in each account whose alarm notifies one of the owner's topics the read that
        failed there (or could not be made: the owner could not be entered), naming the owner,
        so the report's account errors say what the account's ERROR depended on (issue 12.5)."""
        data = self.collected.get(owner)
        for arn in sorted(arns):
            failure = self.failed.get(owner)
            if failure is None and data is not None:
                failure = next(
                    (e for e in data.errors if e.operation in _TOPIC_READS and e.resource == arn),
                    None,
                )
            if failure is None:
                continue
            note = CollectionError(
                "sns",
                failure.operation if failure.operation in _TOPIC_READS else _TOPIC_READS[0],
                failure.code,
                f"account {owner} owns the topic: {failure.describe()}",
                region=topic_region(arn),
                resource=arn,
            )
            for dependent in sorted(needed_by.get(arn, ())):
                if dependent in self.collected:
                    self.collected[dependent].errors.append(note)

    async def management_first(self, management: str | None) -> None:
        """The management account and its chains' topics, then the plan for every member."""
        try:
            if management is None:
                return
            self.total += 1
            await self.enter(management)
            await self.other_accounts_topics()
            self._finished()
            if not self.options.deep and management not in self.failed:
                inventory = Inventory(
                    management_account_id=management,
                    accounts=tuple(self._account(a) for a in sorted(self.collected)),
                )
                # Built in a worker thread: it evaluates the organization trails' chains (the
                # catalog, the patterns), CPU work that would stall whatever else shares the
                # event loop (the daemon's probes).
                options = self.options
                self.plan = await asyncio.to_thread(
                    _Plan, inventory, options.rules_profile, options.stuck_after_hours
                )
        finally:
            self.plan_ready.set()

    async def member(self, account: OrgAccount, limit: asyncio.Semaphore) -> None:
        await self.plan_ready.wait()
        async with limit:
            if self.plan is not None and not self.plan.undecided:
                self.not_entered.add(account.id)
                log.debug("account_not_entered", account=account.id)
            else:
                await self.enter(account.id)
        self._finished()

    def _account(self, account_id: str, listed: OrgAccount | None = None) -> Account:
        """The model's account from what the scan learnt of it."""
        listed = listed or self.listed.get(account_id) or OrgAccount(account_id, account_id)
        shell = Account(
            id=account_id,
            name=listed.name,
            ou_path=listed.ou_names,
            partition=self.partition,
            status=listed.status,
            ou_ids=listed.ou_ids,
        )
        data = self.collected.get(account_id)
        frozen = (
            data.freeze(listed.name, listed.ou_names, listed.ou_ids, self.partition)
            if data is not None
            else shell
        )
        frozen = dataclasses.replace(frozen, status=listed.status)
        if account_id in self.failed:
            return dataclasses.replace(frozen, error=self.failed[account_id])
        if account_id in self.not_entered:
            return dataclasses.replace(frozen, entered=False)
        return frozen

    async def close(self) -> None:
        """Close the session if it is this scan's own."""
        if self.owned:
            await self.pool.close()

    async def run(self) -> CollectResult:
        with counting(self.stats):
            return await self._run()

    async def _run(self) -> CollectResult:
        started = time.monotonic()
        collected_at = datetime.now(UTC).isoformat(timespec="seconds")
        me = await self.credentials.caller_identity()
        self.partition = me.partition
        self.listing_region = await listing_region(self.scope, self.home, self.pool, me.partition)
        described, pages = await self._stream(me)
        management = described.management_account_id
        limit = asyncio.Semaphore(max(1, self.options.account_concurrency))
        tasks = [asyncio.create_task(self.management_first(management))]
        chosen: list[OrgAccount] = []
        try:
            async for page in pages:
                async with self.page_arrived:
                    self.listed.update((a.id, a) for a in page)
                    self.page_arrived.notify_all()
                picked = select(
                    page,
                    include_accounts=self.options.include_accounts,
                    exclude_accounts=self.options.exclude_accounts,
                    include_ous=self.options.include_ous,
                    exclude_ous=self.options.exclude_ous,
                )
                if self.options.owns is not None:
                    picked = [a for a in picked if self.options.owns(a.id)]
                chosen.extend(picked)
                members = [a for a in picked if a.active and a.id != management]
                self.total += len(members)
                tasks.extend(asyncio.create_task(self.member(a, limit)) for a in members)
            async with self.page_arrived:
                self.listing_done = True
                self.page_arrived.notify_all()
            log.info("accounts_listed", accounts=len(self.listed), chosen=len(chosen))
            await asyncio.gather(*tasks)
            await self.other_accounts_topics()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return self._result(management, described, chosen, started, collected_at)

    def _result(
        self,
        management: str | None,
        described: Described,
        chosen: list[OrgAccount],
        started: float,
        collected_at: str,
    ) -> CollectResult:
        known = self.options.known or (lambda account: account)
        suspended = tuple(known(self._account(a.id, a)) for a in chosen if not a.active)
        chosen_ids = {a.id for a in chosen}
        active = [a.id for a in chosen if a.active]
        # Collected only because a chosen account depends on it: the management account, whose
        # organization trails cover every member, and the owners of topics alarms notify.
        dependencies = {
            account_id
            for account_id in {*self.collected, *self.failed}
            if account_id not in chosen_ids
            and (account_id == management or account_id in self.listed)
        }
        accounts = [known(self._account(a)) for a in {*active, *dependencies}]
        reported = tuple(sorted(chosen_ids)) if dependencies else None
        inventory = Inventory(
            management_account_id=management,
            organization_id=described.id,
            accounts=tuple(sorted([*accounts, *suspended], key=lambda a: a.id)),
            reported_accounts=reported,
            collected_at=collected_at,
            errors=tuple(self.listing_gaps),
        )
        duration = time.monotonic() - started
        if self.listing_gaps:
            log.warning(
                "organization_listing_incomplete",
                parents=[e.resource for e in self.listing_gaps],
                errors=[e.describe() for e in self.listing_gaps],
            )
        log.info(
            "scan_finished",
            calls=self.stats.calls,
            entered=len(self.collected),
            not_entered=len(self.not_entered),
            seconds=round(duration, 3),
        )
        listing = None
        if self.options.organization:
            listing = Organization(
                described.id,
                management,
                tuple(sorted(self.listed.values(), key=lambda a: a.id)),
                tuple(self.listing_gaps),
            )
        return CollectResult(
            inventory,
            self.stats,
            suspended,
            duration,
            clients=self.pool.created,
            listing=listing,
        )


async def list_accounts(options: ScanOptions) -> tuple[Organization, CallStats]:
    """The organization's accounts as :func:`collect` would list them, and the calls it took."""
    scan = _Scan(dataclasses.replace(options, organization=True, listing=None), None)
    try:
        with counting(scan.stats):
            me = await scan.credentials.caller_identity()
            return await scan.accounts(me), scan.stats
    finally:
        await scan.close()


async def collect(
    options: ScanOptions | None = None, progress: Progress | None = None
) -> CollectResult:
    """Collect the inventory of the accounts ``options`` selects.

    ``progress(done, total)`` is called after each account. Raises :class:`ScanError` (with a
    one-line message) when the scan cannot run: no credentials, credentials refused, hub role
    refused, organization not listable. Everything else is recorded in the inventory.
    """
    scan = _Scan(options or ScanOptions(), progress)
    try:
        return await scan.run()
    finally:
        await scan.close()


__all__ = [
    "DEFAULT_HOME_REGION",  # defined in .session now; importable from here as before
    "CollectResult",
    "Progress",
    "ScanError",
    "ScanOptions",
    "collect",
    "list_accounts",
]
