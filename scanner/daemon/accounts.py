"""The accounts a scan covers: the organization's list, cached, and cut to a shard.

Organizations tolerates little traffic, so the list is fetched on its own slower schedule
(``organization.account_list_refresh``) and reused by the scans in between: the daemon lists
at its first scan (cold), then refreshes the list in the background
(:meth:`~scanner.daemon.scheduler.Service.refresh_listing`), at that interval and at once when
a membership event asks (:meth:`AccountList.request`), so a warm scan makes no Organizations
call at all and never waits for a listing. A failed refresh
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

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from scanner.aws import CallStats, ScanOptions
from scanner.aws.organization import OrgAccount, Organization, select
from scanner.aws.scan import list_accounts
from scanner.aws.session import AwsSession
from scanner.daemon.sharding import Shard

log = structlog.get_logger(__name__)


class AccountList:
    """The organization's account list, listed at most once per ``refresh`` seconds unless a
    listing is requested (:meth:`request`); one listing at a time."""

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
        self.attempted_at: float | None = None  # the last listing tried: the next is due after
        self.listed_at: float | None = None  # the last listing that gave a list (its age)
        self.fallbacks = 0  # failed listings replaced by the cached one
        self.requested = asyncio.Event()  # a listing is wanted now (a membership event)
        self._lock = asyncio.Lock()

    def due_in(self) -> float:
        """Seconds until the next listing is due (0: now)."""
        if self.attempted_at is None:
            return 0.0
        return max(0.0, self.attempted_at + self.refresh - self.clock())

    def age(self) -> float | None:
        """Seconds since the list was last listed; ``None`` before the first listing."""
        return None if self.listed_at is None else max(0.0, self.clock() - self.listed_at)

    def request(self) -> None:
        """List again at the next :meth:`get`, whatever the interval says."""
        self.attempted_at = None
        self.requested.set()

    def took(self, organization: Organization) -> None:
        """Keep the list a scan's collector made while it collected (the daemon's first scan
        enters members as the pages arrive, as ``scan --organization`` does), as if listed here."""
        now = self.clock()
        self.organization, self.attempted_at, self.listed_at = organization, now, now

    async def get(self, session: AwsSession | None = None) -> tuple[Organization, CallStats | None]:
        """The list (fresh or cached) and the stats of the listing if one was made now; with the
        long-lived ``session`` when given (no GetCallerIdentity once the identity is known).

        Raises :class:`~scanner.aws.ScanError` only when there is no list at all.
        """
        async with self._lock:
            if self.organization is not None and self.due_in() > 0:
                return self.organization, None
            return await self._list(session)

    async def _list(self, session: AwsSession | None) -> tuple[Organization, CallStats | None]:
        now = self.clock()
        options = self.options
        if session is not None:
            options = dataclasses.replace(options, session=session)
        try:
            organization, stats = await list_accounts(options)
        except Exception as error:
            if self.organization is None:
                raise
            self.fallbacks += 1
            log.warning("account_list_fallback", reason=str(error), using="the cached listing")
            self.attempted_at = now  # retry at the next refresh, not at every scan
            return self.organization, None
        if organization.incomplete and self.organization is not None:
            organization = _filled(organization, self.organization)
            self.fallbacks += 1
            log.warning(
                "account_list_fallback",
                reason="; ".join(e.describe() for e in organization.incomplete),
                using="the cached accounts under the parents not listed",
            )
        self.organization, self.attempted_at, self.listed_at = organization, now, now
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
