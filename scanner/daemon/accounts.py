"""The accounts a scan covers: the organization's list, cached, cut to a shard, plus dependencies.

Organizations tolerates little traffic, so the list is fetched on its own slower schedule
(``organization.account_list_refresh``) and reused by the scans in between; a failed refresh
keeps the previous list (the organization rarely changes between two refreshes, and a scan of
a slightly old list beats no scan), only a first listing that fails fails the scan.

A scan *covers* this shard's accounts (those :class:`~scanner.daemon.sharding.Shard` owns
among the configuration's filters) but *collects* more: the management account, whose
organization trails cover every member, and every account owning an SNS topic that a covered
account's alarms notify (the collector reads a topic with its owner's identity, and only for
an owner it collected). Dependencies are learnt from each inventory and remembered, so only
the first scan that meets a new one collects twice. Findings are then kept for covered
accounts only: each shard exports its own, and together the shards export each account once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from scanner.aws import CallStats, ScanOptions
from scanner.aws.clients import ClientOptions, ClientPool
from scanner.aws.credentials import Credentials
from scanner.aws.limits import Caller, RateLimits
from scanner.aws.organization import (
    ORGANIZATIONS_REGION,
    OrgAccount,
    Organization,
    list_organization,
    select,
)
from scanner.aws.scan import DEFAULT_HOME_REGION
from scanner.daemon.sharding import Shard
from scanner.model import Inventory, arn_parts


async def list_accounts(options: ScanOptions) -> tuple[Organization, CallStats]:
    """The organization's accounts as the collector would list them, and the calls it took."""
    pool = ClientPool(
        ClientOptions(
            profile=options.profile,
            endpoint_url=options.endpoint_url,
            retry_mode=options.retry_mode,
            max_attempts=options.max_attempts,
        )
    )
    caller = Caller(RateLimits(options.rate_limits, options.max_in_flight))
    try:
        region = pool.base_session.get_config_variable("region")
        home = options.home_region or region or DEFAULT_HOME_REGION
        credentials = Credentials(
            pool,
            caller,
            home_region=home,
            role_arn=options.role_arn,
            member_role_name=options.member_role_name,
            external_id=options.external_id,
        )
        me = await credentials.caller_identity()
        client = await pool.client(
            me, ORGANIZATIONS_REGION.get(me.partition, home), "organizations"
        )
        return await list_organization(caller, client), caller.stats
    finally:
        await pool.close()


class AccountList:
    """The organization's account list, listed at most once per ``refresh`` seconds."""

    def __init__(
        self,
        options: ScanOptions,
        refresh: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options
        self.refresh = refresh
        self.clock = clock
        self.organization: Organization | None = None
        self.listed_at: float | None = None

    async def get(self) -> tuple[Organization, CallStats | None]:
        """The list (fresh or cached) and the stats of the listing if one was made now.

        Raises :class:`~scanner.aws.ScanError` only when there is no list at all.
        """
        now = self.clock()
        fresh = self.listed_at is not None and now - self.listed_at < self.refresh
        if self.organization is not None and fresh:
            return self.organization, None
        try:
            organization, stats = await list_accounts(self.options)
        except Exception:
            if self.organization is None:
                raise
            self.listed_at = now  # retry at the next refresh, not at every scan
            return self.organization, None
        self.organization, self.listed_at = organization, now
        return organization, stats


@dataclass(frozen=True)
class Coverage:
    """The accounts this shard reports (``covered``) and the ids a scan must collect."""

    covered: tuple[OrgAccount, ...]
    management_account_id: str | None

    @property
    def covered_ids(self) -> frozenset[str]:
        return frozenset(a.id for a in self.covered)

    def to_collect(self, dependencies: Iterable[str]) -> tuple[str, ...]:
        ids = set(self.covered_ids) | set(dependencies)
        if self.management_account_id and self.covered:
            ids.add(self.management_account_id)
        return tuple(sorted(ids))


def coverage(organization: Organization, options: ScanOptions, shard: Shard) -> Coverage:
    """This shard's accounts among those the configuration's filters keep."""
    chosen = select(
        organization.accounts,
        include_accounts=options.include_accounts,
        exclude_accounts=options.exclude_accounts,
        include_ous=options.include_ous,
        exclude_ous=options.exclude_ous,
    )
    mine = tuple(a for a in chosen if shard.owns(a.id))
    return Coverage(mine, organization.management_account_id)


def topic_owners(inventory: Inventory, accounts: Iterable[str]) -> set[str]:
    """Accounts owning an SNS topic that the given accounts' alarms notify (other than theirs)."""
    wanted = set(accounts)
    owners: set[str] = set()
    for account in inventory.accounts:
        if account.id not in wanted:
            continue
        for region in account.regions.values():
            for alarm in region.alarms or ():
                for action in alarm.alarm_actions:
                    try:
                        _, service, _, owner, _ = arn_parts(action)
                    except ValueError:  # not an ARN: not a topic either
                        continue
                    if service == "sns" and owner and owner != account.id:
                        owners.add(owner)
    return owners


__all__ = ["AccountList", "Coverage", "coverage", "list_accounts", "topic_owners"]
