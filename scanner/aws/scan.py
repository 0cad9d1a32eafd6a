"""One scan: list the accounts, collect each with bounded concurrency, return the Inventory.

This is the package's entry point (the CLI, the demo and the daemon call :func:`collect`).
Invariants:

* One :class:`~scanner.aws.clients.ClientPool` (one base session) and one
  :class:`~scanner.aws.gateway.Caller` (throttles, counters) per scan; every AWS call of the scan
  goes through them, so :attr:`CollectResult.stats` counts all of them.
* An account that cannot be entered (AssumeRole refused, missing role) is an
  :class:`~scanner.model.Account` with ``error`` set; an account that fails unexpectedly is one
  too. The scan always goes on; only "cannot run at all" raises :class:`ScanError`.
* Accounts that are not ACTIVE are never entered: they are returned in
  :attr:`CollectResult.suspended` and in the inventory with their status and no regions.
* SNS topics owned by another scanned account are read with that account's identity after the
  accounts are collected, and land in the owner's regions (where the evaluator looks).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog

from scanner.aws.account import (
    AccountCollector,
    AccountData,
    RegionData,
    collect_topics,
    topic_region,
)
from scanner.aws.clients import ClientOptions, ClientPool, Identity
from scanner.aws.credentials import Credentials
from scanner.aws.gateway import Caller, CallFailed, CallStats, RateLimits
from scanner.aws.organization import (
    ORGANIZATIONS_REGION,
    OrgAccount,
    Organization,
    list_organization,
    select,
)
from scanner.aws.regions import enabled_regions
from scanner.aws_defaults import (
    DEFAULT_ACCOUNT_CONCURRENCY,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MEMBER_ROLE,
)
from scanner.errors import ScanError
from scanner.model import Account, CollectionError, Inventory, arn_account

log = structlog.get_logger(__name__)

DEFAULT_HOME_REGION = "us-east-1"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ScanOptions:
    """What to scan and how gently. Every field has a default that works against real AWS.

    * ``organization``: scan every account of the organization (else the caller's own).
    * ``role_arn``: a hub role assumed first; ``member_role_name`` / ``external_id``: the role
      assumed in every other account.
    * ``regions`` / ``exclude_regions``: narrow the enabled regions of each account.
    * ``include_accounts`` / ``exclude_accounts`` / ``include_ous`` / ``exclude_ous``: account
      ids and OU (or root) ids; exclusion wins.
    * ``profile``: the AWS profile of the base credentials; ``endpoint_url``: one endpoint for
      every service (an emulator), else botocore's resolution including ``AWS_ENDPOINT_URL``;
      ``home_region``: where STS and EC2 DescribeRegions are called (default: the profile's
      region, else us-east-1).
    * ``rate_limits``: requests per second per (account, region, service), by service name,
      overriding :data:`~scanner.aws_defaults.DEFAULT_RATES`; ``max_in_flight``: global cap.
    * ``retry_mode`` (standard | adaptive) and ``max_attempts``: botocore's retries.
    * ``account_concurrency``: accounts collected at the same time.
    * ``listing``: the organization as :func:`list_accounts` gave it earlier (the daemon caches
      it: Organizations tolerates little traffic); ``None`` lists it now.
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
    max_attempts: int = 5
    account_concurrency: int = DEFAULT_ACCOUNT_CONCURRENCY
    listing: Organization | None = None


@dataclass(frozen=True)
class CollectResult:
    """The inventory, the call counters, the accounts not scanned for their status, seconds."""

    inventory: Inventory
    stats: CallStats
    suspended: tuple[Account, ...]
    duration: float
    clients: int = 0  # botocore clients created during the scan


class _Scan:
    def __init__(self, options: ScanOptions, progress: Progress | None) -> None:
        self.options = options
        self.progress = progress
        self.pool = ClientPool(
            ClientOptions(
                profile=options.profile,
                endpoint_url=options.endpoint_url,
                retry_mode=options.retry_mode,
                max_attempts=options.max_attempts,
            )
        )
        self.caller = Caller(RateLimits(options.rate_limits, options.max_in_flight))
        region = self.pool.base_session.get_config_variable("region")
        self.home = options.home_region or region or DEFAULT_HOME_REGION
        self.credentials = Credentials(
            self.pool,
            self.caller,
            home_region=self.home,
            role_arn=options.role_arn,
            member_role_name=options.member_role_name,
            external_id=options.external_id,
        )
        self.collected: dict[str, AccountData] = {}
        self.foreign_topics: set[str] = set()
        self.done = 0

    async def accounts(self, me: Identity) -> Organization:
        if not self.options.organization:
            return Organization(None, None, (OrgAccount(me.account_id, me.account_id),))
        if self.options.listing is not None:
            return self.options.listing
        region = ORGANIZATIONS_REGION.get(me.partition, self.home)
        client = await self.pool.client(me, region, "organizations")
        return await list_organization(self.caller, client)

    async def account(self, org_account: OrgAccount, partition: str, total: int) -> Account:
        try:
            return await self._account(org_account, partition)
        except Exception as error:  # a bug or an unexpected response: report it, go on
            log.exception("account_failed", account=org_account.id)
            failure = CollectionError("scanner", "CollectAccount", type(error).__name__, str(error))
            return _account_shell(org_account, partition, error=failure)
        finally:
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, total)

    async def _account(self, org_account: OrgAccount, partition: str) -> Account:
        try:
            identity = await self.credentials.for_account(org_account.id)
        except CallFailed as failed:
            return _account_shell(org_account, partition, error=failed.error)
        ec2 = await self.pool.client(identity, self.home, "ec2")
        choice = await enabled_regions(
            self.caller, self.pool, ec2, self.options.regions, self.options.exclude_regions
        )
        collector = AccountCollector(self.caller, self.pool, identity, choice.regions)
        if choice.error is not None:
            collector.data.errors.append(choice.error)
        self.foreign_topics |= await collector.run()
        self.collected[org_account.id] = collector.data
        if identity is not await self.credentials.caller_identity():
            await self.pool.release(identity)
        return collector.data.freeze(org_account.name, org_account.ou_names, identity.partition)

    async def other_accounts_topics(
        self, members: Mapping[str, OrgAccount], attempted: set[str]
    ) -> list[str]:
        """Topics owned by another account, read there, into that account's data.

        An owner that was not collected but is an active member of the organization (another
        shard's, or filtered out) is entered just for its topics; its id is returned, so the
        caller reports it as a dependency. Topics outside the organization stay unread and the
        evaluator says so."""
        by_owner: dict[str, set[str]] = {}
        for arn in self.foreign_topics:
            owner = arn_account(arn)
            if owner in self.collected or (
                owner in members and members[owner].active and owner not in attempted
            ):  # an owner attempted and not collected could not be entered: say so, no retry
                by_owner.setdefault(owner, set()).add(arn)
        entered: list[str] = []

        async def read(owner: str, arns: set[str]) -> None:
            data = self.collected.get(owner)
            if data is None:
                data = AccountData(owner, {topic_region(a): RegionData() for a in arns})
            try:
                identity = await self.credentials.for_account(owner)
            except CallFailed as failed:
                data.errors.append(failed.error)
            else:
                await collect_topics(self.caller, self.pool, identity, arns, data)
            if owner not in self.collected:
                self.collected[owner] = data
                entered.append(owner)

        await asyncio.gather(*(read(owner, arns) for owner, arns in sorted(by_owner.items())))
        return entered

    async def run(self) -> CollectResult:
        started = time.monotonic()
        me = await self.credentials.caller_identity()
        organization = await self.accounts(me)
        chosen = select(
            organization.accounts,
            include_accounts=self.options.include_accounts,
            exclude_accounts=self.options.exclude_accounts,
            include_ous=self.options.include_ous,
            exclude_ous=self.options.exclude_ous,
        )
        active = [a for a in chosen if a.active]
        suspended = tuple(
            _account_shell(a, me.partition, status=a.status) for a in chosen if not a.active
        )
        members = {a.id: a for a in organization.accounts}
        # The management account's organization trails cover every member: collect it even
        # when the selection leaves it out (its findings are not reported then).
        management = members.get(organization.management_account_id or "")
        dependencies = (
            [management]
            if management is not None and management.active and management not in chosen
            else []
        )
        log.info("scan_started", accounts=len(active), suspended=len(suspended))
        limit = asyncio.Semaphore(max(1, self.options.account_concurrency))
        total = len(active) + len(dependencies)

        async def bounded(org_account: OrgAccount) -> Account:
            async with limit:
                return await self.account(org_account, me.partition, total)

        scanned = list(await asyncio.gather(*(bounded(a) for a in [*active, *dependencies])))
        entered: list[str] = []
        if self.foreign_topics:
            known = {a.id for a in scanned}
            entered = await self.other_accounts_topics(members, known)
            scanned = [
                self.collected[a.id].freeze(members[a.id].name, members[a.id].ou_names, a.partition)
                if a.id in self.collected and a.id in members
                else a
                for a in scanned
            ] + [
                self.collected[owner].freeze(
                    members[owner].name, members[owner].ou_names, me.partition
                )
                for owner in entered
                if owner not in known
            ]
        reported = None
        if dependencies or entered:
            reported = tuple(sorted(a.id for a in chosen))
        inventory = Inventory(
            management_account_id=organization.management_account_id,
            organization_id=organization.id,
            accounts=tuple(sorted([*scanned, *suspended], key=lambda a: a.id)),
            reported_accounts=reported,
        )
        duration = time.monotonic() - started
        log.info("scan_finished", calls=self.caller.stats.calls, seconds=round(duration, 3))
        return CollectResult(
            inventory, self.caller.stats, suspended, duration, clients=self.pool.created
        )


def _account_shell(
    org_account: OrgAccount,
    partition: str,
    *,
    status: str | None = None,
    error: CollectionError | None = None,
) -> Account:
    return Account(
        id=org_account.id,
        name=org_account.name,
        ou_path=org_account.ou_names,
        partition=partition,
        status=status or org_account.status,
        error=error,
    )


async def list_accounts(options: ScanOptions) -> tuple[Organization, CallStats]:
    """The organization's accounts as :func:`collect` would list them, and the calls it took."""
    scan = _Scan(dataclasses.replace(options, organization=True, listing=None), None)
    try:
        me = await scan.credentials.caller_identity()
        return await scan.accounts(me), scan.caller.stats
    finally:
        await scan.pool.close()


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
        await scan.pool.close()


__all__ = ["CollectResult", "Progress", "ScanError", "ScanOptions", "collect", "list_accounts"]
