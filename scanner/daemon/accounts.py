"""The accounts a scan covers: the organization's list, cached, and cut to a shard.

Organizations tolerates little traffic, so the list is fetched on its own slower schedule
(``organization.account_list_refresh``) and reused by the scans in between; a failed refresh
keeps the previous list (the organization rarely changes between two refreshes, and a scan of
a slightly old list beats no scan), with a warning and a count (``fallbacks``, exported as
``scanner_account_list_fallbacks_total``); only a first listing that fails fails the scan. The
listing itself rides out throttling (the gateway's patience with Organizations) before failing.
A listing that misses some parents (roots or OUs whose accounts or child OUs could not be
listed) is used with the cached accounts under those parents added back (a fallback too); the
parents stay in :attr:`Organization.incomplete`, so the scan's report still says so.

A scan *covers* this shard's accounts (those :class:`~scanner.daemon.sharding.Shard` owns
among the configuration's filters). The collector reads what they depend on elsewhere itself
(the management account's organization trails, topics owned by other accounts) and marks the
inventory so that only covered accounts are evaluated: each shard exports its own, and
together the shards export each account once.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from scanner.aws import CallStats, ScanOptions
from scanner.aws.organization import OrgAccount, Organization, select
from scanner.aws.scan import list_accounts
from scanner.daemon.sharding import Shard

log = structlog.get_logger(__name__)


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
        self.fallbacks = 0  # failed listings replaced by the cached one

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
        except Exception as error:
            if self.organization is None:
                raise
            self.fallbacks += 1
            log.warning("account_list_fallback", reason=str(error), using="the cached listing")
            self.listed_at = now  # retry at the next refresh, not at every scan
            return self.organization, None
        if organization.incomplete and self.organization is not None:
            organization = _filled(organization, self.organization)
            self.fallbacks += 1
            log.warning(
                "account_list_fallback",
                reason="; ".join(e.describe() for e in organization.incomplete),
                using="the cached accounts under the parents not listed",
            )
        self.organization, self.listed_at = organization, now
        return organization, stats


def _filled(partial: Organization, cached: Organization) -> Organization:
    """The partial listing, with the cached accounts under the parents it could not list."""
    parents = {e.resource for e in partial.incomplete if e.resource}
    listed = {a.id for a in partial.accounts}
    missing = [a for a in cached.accounts if a.id not in listed and parents.intersection(a.ou_ids)]
    accounts = tuple(sorted((*partial.accounts, *missing), key=lambda a: a.id))
    return dataclasses.replace(partial, accounts=accounts)


@dataclass(frozen=True)
class Coverage:
    """The accounts this shard reports (``covered``) and the ids a scan must collect."""

    covered: tuple[OrgAccount, ...]
    management_account_id: str | None

    @property
    def covered_ids(self) -> frozenset[str]:
        return frozenset(a.id for a in self.covered)


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


__all__ = ["AccountList", "Coverage", "coverage"]
