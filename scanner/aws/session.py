"""What a scan needs to talk to AWS, built once: kept across scans by a long-lived process.

A one-shot scan (``scanner scan``) builds an :class:`AwsSession`, uses it and closes it. The
daemon keeps one for its whole life and hands it to every scan, every refresh of the
organization's listing and its event path (``ScanOptions.session``), so that:

* member identities outlive a scan: a warm scan makes no AssumeRole for an account whose keys
  are still good, and no GetCallerIdentity (:class:`~scanner.aws.credentials.Credentials`
  renews keys before they expire, and forgets refusals when a scan starts, see
  :meth:`begin_scan`). The daemon renews the kept keys between scans (:meth:`renew_keys`),
  so no scan has to renew them: their AssumeRole calls are counted apart from any scan's;
* one :class:`~scanner.aws.gateway.Caller` paces every call of the process: scans and events
  call the same accounts, against the same per-account quotas. Each scan still counts its own
  calls (:func:`~scanner.aws.gateway.counting`); ``caller.stats`` holds the rest (the event
  path's);
* one :class:`~scanner.aws.clients.ClientPool`: clients and their connections outlive a scan.

The session is bound to the event loop it is first used in, like its HTTP connections.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from scanner.aws.clients import ClientOptions, ClientPool
from scanner.aws.credentials import Credentials
from scanner.aws.gateway import Caller, CallStats, RateLimits, RetryPolicy, counting
from scanner.aws.regions import RegionScope

if TYPE_CHECKING:
    from scanner.aws.scan import ScanOptions

log = structlog.get_logger(__name__)

DEFAULT_HOME_REGION = "us-east-1"


class AwsSession:
    """One client pool, one call gateway and one set of identities, built from the options'
    connection settings (profile, endpoint, roles, rates, retries, regions); their account and
    OU filters are each scan's own."""

    def __init__(self, options: ScanOptions, clock: Callable[[], float] = time.time) -> None:
        self.pool = ClientPool(
            ClientOptions(
                profile=options.profile,
                endpoint_url=options.endpoint_url,
                retry_mode=options.retry_mode,
            )
        )
        retry = RetryPolicy(
            max_attempts=options.max_attempts,
            base_delay=options.backoff[0],
            max_delay=options.backoff[1],
            patience=options.patience,
        )
        self.caller = Caller(RateLimits(options.rate_limits, options.max_in_flight), retry=retry)
        region = self.pool.base_session.get_config_variable("region")
        self.home: str = options.home_region or region or DEFAULT_HOME_REGION
        self.scope = RegionScope(options.regions, options.exclude_regions)
        self.credentials = Credentials(
            self.pool,
            self.caller,
            home_region=self.home,
            role_arn=options.role_arn,
            member_role_name=options.member_role_name,
            external_id=options.external_id,
            clock=clock,
        )
        self.scans = 0  # scans begun on this session

    def begin_scan(self) -> None:
        """A scan starts: identities that could not be had are tried again from now on."""
        if self.scans:
            forgotten = self.credentials.forget_failures()
            if forgotten:
                log.info("identity_failures_forgotten", accounts=forgotten)
        self.scans += 1

    async def renew_keys(self, horizon: float) -> tuple[int, CallStats]:
        """Renew the kept keys with fewer than ``horizon`` seconds left
        (:meth:`Credentials.renew_due <scanner.aws.credentials.Credentials.renew_due>`): how many
        were renewed, and the calls it took, counted apart from any scan running meanwhile."""
        stats = CallStats()
        with counting(stats):  # the workers it starts inherit it; a scan's tasks keep theirs
            renewed = await self.credentials.renew_due(horizon)
        return renewed, stats

    async def close(self) -> None:
        await self.pool.close()


__all__ = ["DEFAULT_HOME_REGION", "AwsSession"]
