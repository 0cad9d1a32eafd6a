"""Who we are in each account: the base identity, an optional hub role, a member role per account.

Theory of operation:

* The base identity is whatever the default credential chain of the one base session resolves
  (environment, profile, web identity / IRSA, EKS Pod Identity, instance role). No credentials
  at all is a :class:`ScanError`: the scan cannot run.
* With ``role_arn``, the hub role is assumed first from the base identity, and every member
  role is assumed from the hub.
* The account the calling identity (base, or hub) lives in is scanned with that identity itself,
  never through a member role: normally that is the organization's management account. Every
  other account is entered by ``arn:<partition>:iam::<account>:role/<member_role_name>``, with
  ``external_id`` when given.
* Assumed credentials are :class:`RoleCredentials`: every request asks them for keys, and they
  call AssumeRole again (through :class:`~scanner.aws.gateway.Caller`, so the call is throttled
  and counted) when fewer than 15 minutes remain, which matters for role chaining (sessions
  capped at one hour) and long scans. They are also renewed on demand when AWS refuses them
  before their time (ExpiredToken and kin: the gateway re-assumes once and retries the call).
  Every renewal is counted in :attr:`CallStats.credential_refreshes
  <scanner.aws.gateway.CallStats.credential_refreshes>`.
* Identities are cached per account, failures too: an account whose role cannot be assumed
  costs one AssumeRole, and the :class:`~scanner.aws.gateway.CallFailed` it raised is raised
  again to every later asker (the account is reported with that error, the scan goes on).
* A long-lived process (the daemon, :class:`~scanner.aws.session.AwsSession`) keeps one
  :class:`Credentials` across its scans: identities that work are reused until their keys need
  renewing (no AssumeRole, no GetCallerIdentity on a warm scan), while failures are forgotten
  at the start of every scan (:meth:`Credentials.forget_failures`): a role deployed between two
  scans is tried again by the next one. A kept identity whose keys are old is renewed when
  it is asked for; if that fails and the keys are no longer usable, the account is refused as
  if assumed afresh (and tried again next scan). Keys live in memory only: never written, never
  logged (:class:`RoleKeys` does not print them).
* Such a process also renews the kept keys ahead of its scans, between them
  (:meth:`Credentials.renew_due`, run by the daemon's background task): the first scan assumes
  every member's role within minutes, so without it one scan in every ~45 minutes would find
  every key old and assume every role again itself (at 10,000 members, ~250 s of AssumeRole
  inside that scan). It goes through the same renewal as a request (:class:`RoleCredentials`,
  through the Caller: paced by the sts rate, counted), a bounded number at a time, the hub
  before the members. A renewal that fails is logged and keeps the old keys, which are left to
  the scans' own renewal from then on (one background attempt per key: a withdrawn role costs
  no AssumeRole a minute). Identities that could not be had are not renewed: the next scan
  tries them afresh.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from botocore.credentials import ReadOnlyCredentials  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import BotoCoreError  # type: ignore[import-untyped, unused-ignore]

from scanner.aws.clients import ClientPool, Identity
from scanner.aws.gateway import THROTTLING_CODES, TRANSIENT_CODES, Caller, CallFailed
from scanner.aws_defaults import DEFAULT_MEMBER_ROLE
from scanner.errors import ScanError
from scanner.model.arns import arn_account, role_arn

SESSION_NAME = "cloudtrail-monitoring-scanner"
ROLE_SESSION_SECONDS = 3600  # the cap for chained roles
ADVISORY_REFRESH_SECONDS = 15 * 60  # renew when fewer remain; a failure keeps the old keys
MANDATORY_REFRESH_SECONDS = 10 * 60  # ... until fewer than these remain: then it fails the call
RENEWAL_CONCURRENCY = 8  # background renewals in flight: plenty for the sts rate (40/s)

log = structlog.get_logger(__name__)


def _failed(future: asyncio.Future[Identity]) -> bool:
    return future.done() and (future.cancelled() or future.exception() is not None)


def _expiry(value: object) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


# botocore's names of a request that got no answer (the gateway records them as the code).
_NO_ANSWER = frozenset({"ReadTimeoutError", "ConnectTimeoutError", "EndpointConnectionError"})


def _identity_failed(failed: CallFailed, patience: float) -> str:
    """Why GetCallerIdentity failed, in words: only a refusal says the credentials do not work;
    throttling and AWS's own failures say what they are (the credentials may be fine)."""
    if failed.code in THROTTLING_CODES:
        return (
            f"cannot check the AWS credentials: STS kept throttling GetCallerIdentity for the "
            f"patience of {patience:g} s (--patience): {failed}"
        )
    if failed.code in TRANSIENT_CODES or failed.code in _NO_ANSWER:
        return f"cannot check the AWS credentials: STS did not answer GetCallerIdentity: {failed}"
    return f"the AWS credentials do not work: {failed}"


@dataclass(frozen=True, slots=True)
class RoleKeys:
    """The keys one AssumeRole returned, and when they expire (Unix time); never printed."""

    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    token: str = field(repr=False)
    expires: float


class RoleCredentials:
    """An assumed role's keys, renewed ahead of expiry and on demand (:class:`Renewable`).

    Renewals are serialised and keyed by ``generation``: of many requests that find the keys
    old (or refused) at once, the first assumes the role again and the others use its keys.
    """

    method = "assume-role"

    def __init__(
        self,
        keys: RoleKeys,
        account_id: str,
        assume: Callable[[], Awaitable[RoleKeys]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._frozen = ReadOnlyCredentials(keys.access_key, keys.secret_key, keys.token, account_id)
        self._account_id = account_id
        self._assume = assume
        self._clock = clock
        self._generation = 0
        self._lock = asyncio.Lock()
        # A background renewal of these keys failed: left to the scans' renewal from then on.
        self.renewal_refused = False

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def account_id(self) -> str:
        return self._account_id

    def seconds_left(self) -> float:
        """Seconds until the keys expire, by the clock (negative once they have)."""
        return self._keys.expires - self._clock()

    async def renew(self, generation: int) -> None:
        """Assume the role again unless someone did since ``generation``; raises CallFailed."""
        async with self._lock:
            if generation != self._generation:
                return
            await self._assume_again()

    async def renew_ahead(self, horizon: float) -> bool:
        """Assume the role again if fewer than ``horizon`` seconds remain; whether it did.

        The age is checked under the renewal lock, so keys a request renewed meanwhile (or is
        renewing) are not renewed twice. Raises :class:`CallFailed`, the keys unchanged.
        """
        async with self._lock:
            if self.seconds_left() >= horizon:
                return False
            await self._assume_again()
            return True

    async def _assume_again(self) -> None:
        """With the lock held: the new keys replace the old in one step."""
        keys = await self._assume()
        self._keys = keys
        self._frozen = ReadOnlyCredentials(
            keys.access_key, keys.secret_key, keys.token, self._account_id
        )
        self._generation += 1
        self.renewal_refused = False

    async def usable(self) -> None:
        """Renew the keys now if they are old (as a request would); raises :class:`CallFailed`
        when they cannot be renewed and are too close to expiry to use."""
        await self.get_frozen_credentials()

    async def get_frozen_credentials(self) -> Any:
        remaining = self._keys.expires - self._clock()
        if remaining < ADVISORY_REFRESH_SECONDS:
            try:
                await self.renew(self._generation)
            except CallFailed as failed:
                if self._keys.expires - self._clock() < MANDATORY_REFRESH_SECONDS:
                    raise
                log.warning(
                    "credential_refresh_failed", account=self._account_id, error=str(failed)
                )
        return self._frozen

    async def get_account_id(self) -> str:
        return self._account_id


class Credentials:
    """Identities per account, created once per scan and shared by every collector."""

    def __init__(
        self,
        pool: ClientPool,
        caller: Caller,
        *,
        home_region: str,
        role_arn: str | None = None,
        member_role_name: str = DEFAULT_MEMBER_ROLE,
        external_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock  # Unix time, against which assumed keys expire
        self.pool = pool
        self.caller = caller
        self.home_region = home_region
        self.role_arn = role_arn
        self.member_role_name = member_role_name
        self.external_id = external_id
        self._caller_identity: asyncio.Future[Identity] | None = None
        self._accounts: dict[str, asyncio.Future[Identity]] = {}

    async def caller_identity(self) -> Identity:
        """The base identity, or the hub role assumed from it; raises :class:`ScanError`."""
        if self._caller_identity is None:
            self._caller_identity = asyncio.ensure_future(self._resolve_caller())
        return await asyncio.shield(self._caller_identity)

    async def _resolve_caller(self) -> Identity:
        try:
            credentials = await self.pool.base_credentials()
        except (BotoCoreError, ValueError) as error:  # an unknown profile, a bad setting
            raise ScanError(f"cannot load the AWS credentials: {error}") from None
        if credentials is None:
            raise ScanError(
                "no AWS credentials found (environment, profile, web identity, container or "
                "instance role)"
            )
        base = Identity(key="base", account_id="", arn="", credentials=credentials)
        client = await self.pool.client(base, self.home_region, "sts")
        try:
            who = await self.caller.call(client, "GetCallerIdentity")
        except CallFailed as failed:
            raise ScanError(_identity_failed(failed, self.caller.retry.patience)) from None
        base.account_id = str(who["Account"])
        base.arn = str(who["Arn"])
        if self.role_arn is None:
            return base
        try:
            return await self._assume(base, self.role_arn, base.account_id, external_id=None)
        except CallFailed as failed:
            raise ScanError(f"cannot assume the hub role {self.role_arn}: {failed}") from None

    def forget_failures(self) -> int:
        """Forget the identities that could not be had (a refused role, credentials that did not
        work), so they are tried again; the number forgotten. Called when a scan starts."""
        if self._caller_identity is not None and _failed(self._caller_identity):
            self._caller_identity = None
        failed = [a for a, future in self._accounts.items() if _failed(future)]
        for account_id in failed:
            del self._accounts[account_id]
        return len(failed)

    def kept(self) -> list[RoleCredentials]:
        """The assumed keys held for the identities that work: the hub's first, then the
        members' (each once: the caller's own account is entered as the hub)."""
        futures = [self._caller_identity] if self._caller_identity is not None else []
        futures.extend(self._accounts.values())
        kept: dict[int, RoleCredentials] = {}
        for future in futures:
            if not future.done() or _failed(future):
                continue  # being assumed by a scan, or could not be had: the next scan's
            credentials = future.result().credentials
            if isinstance(credentials, RoleCredentials):
                kept.setdefault(id(credentials), credentials)
        return list(kept.values())

    def _hub(self) -> RoleCredentials | None:
        """The hub role's keys, once it was assumed (None without ``role_arn``)."""
        future = self._caller_identity
        if future is None or not future.done() or _failed(future):
            return None
        credentials = future.result().credentials
        return credentials if isinstance(credentials, RoleCredentials) else None

    async def renew_due(self, horizon: float, *, concurrency: int = RENEWAL_CONCURRENCY) -> int:
        """Renew every kept key with fewer than ``horizon`` seconds left, ``concurrency`` at a
        time, the hub's first (the members' are assumed from it); the number renewed.

        A key whose renewal fails keeps its old value, is logged, and is not renewed here again:
        the scans' own renewal (and its rule that keys too old to use refuse the account) takes
        it over. Raises nothing but cancellation.
        """
        due = [c for c in self.kept() if not c.renewal_refused and c.seconds_left() < horizon]
        renewed = 0

        async def renew(credentials: RoleCredentials) -> None:
            nonlocal renewed
            try:
                if await credentials.renew_ahead(horizon):
                    renewed += 1
            except CallFailed as failed:
                credentials.renewal_refused = True
                log.warning(
                    "background_renewal_failed",
                    account=credentials.account_id,
                    seconds_left=round(credentials.seconds_left()),
                    error=str(failed),
                )

        hub = self._hub()
        if hub is not None and hub in due:
            due.remove(hub)
            await renew(hub)
        pending = iter(due)

        async def worker() -> None:
            for credentials in pending:
                await renew(credentials)

        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(due))):
                group.create_task(worker())
        return renewed

    async def for_account(self, account_id: str) -> Identity:
        """The identity acting in the account; raises :class:`CallFailed` (sts AssumeRole)."""
        future = self._accounts.get(account_id)
        if future is None:
            future = asyncio.ensure_future(self._resolve_account(account_id))
            self._accounts[account_id] = future
        identity = await asyncio.shield(future)
        credentials = identity.credentials
        if isinstance(credentials, RoleCredentials):
            try:
                await credentials.usable()
            except CallFailed as refused:  # refused until the next scan, as a fresh refusal is
                if self._accounts.get(account_id) is future:
                    failed: asyncio.Future[Identity] = asyncio.get_running_loop().create_future()
                    failed.set_exception(refused)
                    failed.exception()  # retrieved: every later asker re-raises it itself
                    self._accounts[account_id] = failed
                raise
        return identity

    async def _resolve_account(self, account_id: str) -> Identity:
        me = await self.caller_identity()
        if account_id == me.account_id:
            return me
        arn = role_arn(account_id, self.member_role_name, me.partition)
        return await self._assume(me, arn, account_id, external_id=self.external_id)

    async def _assume(
        self, source: Identity, role_arn: str, key: str, external_id: str | None
    ) -> Identity:
        params: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": SESSION_NAME,
            "DurationSeconds": ROLE_SESSION_SECONDS,
        }
        if external_id:
            params["ExternalId"] = external_id
        keys, assumed_arn = await self._assume_once(source, role_arn, params, key)
        account_id = arn_account(assumed_arn)

        async def again() -> RoleKeys:
            renewed, _ = await self._assume_once(source, role_arn, params, key)
            self.caller.counter.record_refresh(key)
            return renewed

        credentials = RoleCredentials(keys, account_id, again, clock=self.clock)
        return Identity(
            key=f"role:{key}", account_id=account_id, arn=assumed_arn, credentials=credentials
        )

    async def _assume_once(
        self, source: Identity, role_arn: str, params: dict[str, Any], charge_to: str
    ) -> tuple[RoleKeys, str]:
        """One AssumeRole, counted for the account entered (the hub: for the caller's)."""
        client = await self.pool.client(source, self.home_region, "sts")
        response = await self.caller.call(
            client, "AssumeRole", resource=role_arn, charge_to=charge_to, **params
        )
        keys = response["Credentials"]
        assumed = RoleKeys(
            access_key=str(keys["AccessKeyId"]),
            secret_key=str(keys["SecretAccessKey"]),
            token=str(keys["SessionToken"]),
            expires=_expiry(keys["Expiration"]),
        )
        return assumed, str(response["AssumedRoleUser"]["Arn"])
