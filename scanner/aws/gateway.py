"""The call gateway: every AWS call goes through :meth:`Caller.call`, paced, retried and counted.

Invariants:

* AWS rate limits are per account, per region, per API family, so each ``(account, region,
  service)`` has its own :class:`~scanner.aws.pacing.Pace` at a rate under the documented
  quota (:data:`DEFAULT_RATES`), slowed by each throttled answer and recovering with each
  answered call, and one global semaphore caps the requests in flight. Organizations is the
  exception: one request in flight per account, whatever the rate.
* Retries are ours, not botocore's (its clients make one attempt): every attempt waits its turn,
  every throttled response and every retry is counted (:class:`CallStats`), and the budget is
  per call (:class:`RetryPolicy`). Data-plane calls get ``max_attempts``; throttling of the
  control plane (Organizations, STS: a scan cannot start without them) is retried for
  ``patience`` seconds, so sustained throttling slows a scan down instead of ending it.
* Credentials refused before their time (ExpiredToken and kin, :data:`CREDENTIAL_ERRORS`) make
  the gateway renew the calling identity's credentials (assume its role again) once per call
  and retry.
* A call either returns the response or raises :class:`CallFailed` carrying the
  :class:`~scanner.model.CollectionError` to record: the callers never see a botocore exception
  and never mistake a failure (AccessDenied, throttling after the retries, a timeout) for an
  absence. "Absent" is decided by the callers, only from the codes they name.
* Pagination is ours (:meth:`Caller.paginate`), not botocore's paginators, so every page is
  paced and counted like any call, and pages are requested even where an emulator ignores the
  page size.
* The identity a request is signed with is the call's (:func:`~scanner.aws.clients.acting`),
  never the client's: clients are shared by every identity.
* A call is counted in the :class:`CallStats` of the work it belongs to: inside
  :func:`counting` (a scan, a listing), in that block's; elsewhere in the caller's own. So one
  long-lived caller (its pacing shared by the daemon's scans, listings and event path, which
  call the same accounts) still counts each scan apart, renewals of assumed credentials
  included: they are made while signing the request that found the keys old, in its task. The
  daemon's renewals ahead of the scans count in their own block
  (:meth:`~scanner.aws.session.AwsSession.renew_keys`), never in a scan's.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore  # type: ignore[import-untyped, unused-ignore]
import structlog
from botocore.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    BotoCoreError,
    ClientError,
    HTTPClientError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from scanner.aws.answers import UNREADABLE
from scanner.aws.clients import Client, Renewable, acting
from scanner.aws.pacing import Pace
from scanner.aws_defaults import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_PATIENCE,
    DEFAULT_RATES,
)
from scanner.model import CollectionError

log = structlog.get_logger(__name__)

FALLBACK_RATE = 2.0

# Services whose every call is serialised account-wide (one request in flight).
SERIAL_SERVICES = frozenset({"organizations"})
# The control plane: a scan cannot start without it, so its throttling is waited out.
PATIENT_SERVICES = frozenset({"organizations", "sts"})

# Error codes meaning "slow down", across the services we call.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "LimitExceededException",  # CloudWatch Logs and CloudWatch say this for rates too
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "BandwidthLimitExceeded",
    }
)

# Error codes of a transient failure on AWS's side, worth another attempt.
TRANSIENT_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "IDPCommunicationError",
    }
)

# Error codes meaning the request's credentials were refused although they should still be
# valid (clock skew, a session revoked or shortened): worth assuming the role again, once.
CREDENTIAL_ERRORS = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "RequestExpired"}
)

# Pagination of the operations we call: (token in the request, token in the response).
PAGINATION: Mapping[str, tuple[str, str]] = {
    "DescribeAlarms": ("NextToken", "NextToken"),
    "DescribeMetricFilters": ("nextToken", "nextToken"),
    "DescribeLogGroups": ("nextToken", "nextToken"),
    "ListSubscriptionsByTopic": ("NextToken", "NextToken"),
    "ListRoots": ("NextToken", "NextToken"),
    "ListAccountsForParent": ("NextToken", "NextToken"),
    "ListOrganizationalUnitsForParent": ("NextToken", "NextToken"),
}


class CallFailed(Exception):
    """An AWS call failed for good (after the retries); ``error`` is what to record."""

    def __init__(self, error: CollectionError) -> None:
        super().__init__(error.describe())
        self.error = error

    @property
    def code(self) -> str:
        return self.error.code


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long a call may keep trying: exponential backoff with full jitter, per call.

    ``max_attempts`` bounds every call (the first attempt included); for throttling of the
    ``patient_services`` the bound is time instead: retries go on while the next one would
    start within ``patience`` seconds of the first attempt.
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    base_delay: float = DEFAULT_BACKOFF[0]  # seconds; the n-th retry waits up to base x 2^(n-1)
    max_delay: float = DEFAULT_BACKOFF[1]
    patience: float = DEFAULT_PATIENCE
    patient_services: frozenset[str] = PATIENT_SERVICES

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** min(retry - 1, 30))
        return random.uniform(0.0, ceiling)  # jitter, not a secret


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Requests per second per ``(account, region, service)``; services absent use the defaults."""

    rates: Mapping[str, float] = field(default_factory=dict)
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT

    def rate(self, service: str) -> float:
        return self.rates.get(service, DEFAULT_RATES.get(service, FALLBACK_RATE))


@dataclass(slots=True)
class OperationStats:
    calls: int = 0  # calls made (pages count one each), not counting their retries
    retries: int = 0  # further attempts made for them
    throttled_responses: int = 0  # every throttled answer, retried or not: the pressure
    throttles: int = 0  # calls that still failed with a throttling code after the retries
    errors: int = 0  # calls that failed for good, throttling included

    def add(self, other: OperationStats) -> None:
        self.calls += other.calls
        self.retries += other.retries
        self.throttled_responses += other.throttled_responses
        self.throttles += other.throttles
        self.errors += other.errors


class CallStats:
    """Counters by ``(account, service, operation)``; read them through the views below."""

    def __init__(self) -> None:
        self._ops: dict[tuple[str, str, str], OperationStats] = {}
        self.error_codes: Counter[str] = Counter()
        self.refreshes: Counter[str] = Counter()  # assumed credentials renewed, by account

    def _at(self, account: str, service: str, operation: str) -> OperationStats:
        key = (account, service, operation)
        found = self._ops.get(key)
        if found is None:
            found = self._ops[key] = OperationStats()
        return found

    def record(
        self,
        account: str,
        service: str,
        operation: str,
        retries: int,
        error_code: str | None,
        *,
        throttled: int = 0,
    ) -> None:
        """One call: its retries, its throttled responses, its final error code if it failed."""
        stats = self._at(account, service, operation)
        stats.calls += 1
        stats.retries += retries
        stats.throttled_responses += throttled
        if error_code is not None:
            stats.errors += 1
            self.error_codes[error_code] += 1
            if error_code in THROTTLING_CODES:
                stats.throttles += 1

    def by_operation(self) -> dict[tuple[str, str], OperationStats]:
        """``(service, operation) -> stats`` summed over the accounts."""
        out: dict[tuple[str, str], OperationStats] = {}
        for (_, service, operation), s in self._ops.items():
            out.setdefault((service, operation), OperationStats()).add(s)
        return dict(sorted(out.items()))

    def by_account(self) -> dict[str, dict[str, int]]:
        """``account -> {"Service:Operation": calls}``."""
        out: dict[str, dict[str, int]] = {}
        for (account, service, operation), s in sorted(self._ops.items()):
            out.setdefault(account, {})[f"{service}:{operation}"] = s.calls
        return out

    def calls_for(self, account: str) -> int:
        return sum(s.calls for (a, _, _), s in self._ops.items() if a == account)

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self._ops.values())

    @property
    def retries(self) -> int:
        return sum(s.retries for s in self._ops.values())

    @property
    def throttled_responses(self) -> int:
        return sum(s.throttled_responses for s in self._ops.values())

    @property
    def throttles(self) -> int:
        return sum(s.throttles for s in self._ops.values())

    def record_refresh(self, account: str) -> None:
        self.refreshes[account] += 1

    @property
    def credential_refreshes(self) -> int:
        """Assumed credentials renewed: ahead of expiry, or after AWS refused them."""
        return sum(self.refreshes.values())

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self._ops.values())


_COUNTING: contextvars.ContextVar[CallStats | None] = contextvars.ContextVar(
    "scanner_call_stats", default=None
)


@contextlib.contextmanager
def counting(stats: CallStats) -> Iterator[None]:
    """Calls made in this block, and in the tasks it starts, are counted in ``stats``."""
    token = _COUNTING.set(stats)
    try:
        yield
    finally:
        _COUNTING.reset(token)


@dataclass(slots=True)
class _Attempts:
    """What happened to one call so far."""

    started: float
    retries: int = 0
    throttled: int = 0
    renewed: bool = False


@dataclass(frozen=True, slots=True)
class _Failure:
    """One failed attempt."""

    code: str
    message: str
    status: int = 0  # HTTP status, 0 when there was no response
    error: BaseException | None = None

    @property
    def transient(self) -> bool:
        if isinstance(self.error, (BotoConnectionError, HTTPClientError, *UNREADABLE)):
            return True  # an answer cut or replaced on its way (a proxy): the next may be whole
        return self.code in TRANSIENT_CODES or self.status >= 500

    @classmethod
    def of(cls, error: BaseException) -> _Failure:
        if isinstance(error, ClientError):
            body = error.response
            details = body.get("Error", {})
            status = body.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return cls(
                str(details.get("Code") or "ClientError"),
                str(details.get("Message") or error),
                int(status or 0),
                error,
            )
        if isinstance(error, CallFailed):
            # Renewing the credentials to sign the request failed (AssumeRole).
            return cls(error.code, error.error.message, 0, error)
        # Timeouts, connection failures, missing credentials, unreadable answers: one line
        # (botocore's parser error quotes the body on a line of its own).
        return cls(type(error).__name__, " ".join(str(error).split()), 0, error)


class Caller:
    """The one way to call AWS: ``await caller.call(client, "DescribeTrails", ...)``."""

    def __init__(
        self,
        limits: RateLimits | None = None,
        stats: CallStats | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.limits = limits or RateLimits()
        self.stats = stats or CallStats()
        self.retry = retry or RetryPolicy()
        self._in_flight = asyncio.Semaphore(self.limits.max_in_flight)
        self._paces: dict[tuple[str, str, str], Pace] = {}
        self._serial: dict[tuple[str, str], asyncio.Semaphore] = {}

    @property
    def counter(self) -> CallStats:
        """Where a call made now is counted: the :func:`counting` block's stats, else ours."""
        stats = _COUNTING.get()
        return self.stats if stats is None else stats

    def _pace_for(self, client: Client) -> Pace:
        key = (client.account_id, client.region, client.service)
        found = self._paces.get(key)
        if found is None:
            found = self._paces[key] = Pace(self.limits.rate(client.service))
        return found

    def _serial_for(self, client: Client) -> asyncio.Semaphore | None:
        if client.service not in SERIAL_SERVICES:
            return None
        key = (client.account_id, client.service)
        found = self._serial.get(key)
        if found is None:
            found = self._serial[key] = asyncio.Semaphore(1)
        return found

    async def call(
        self,
        client: Client,
        operation: str,
        *,
        resource: str | None = None,
        charge_to: str | None = None,
        deadline: float | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """One call, retried as :class:`RetryPolicy` says; raises :class:`CallFailed`.

        ``charge_to`` names the account the call is counted for when it is not the client's
        (AssumeRole into a member is part of that member's cost). ``deadline`` (a
        ``time.monotonic()`` instant) bounds the retries of a series of calls that share one
        budget, such as the organization's listing: no retry starts after it.
        """
        account = charge_to or client.account_id
        method = getattr(client.raw, botocore.xform_name(operation))
        serial = self._serial_for(client)
        pace = self._pace_for(client)
        attempts = _Attempts(started=time.monotonic())
        async with serial or contextlib.nullcontext():
            while True:
                credentials = client.identity.credentials
                generation = getattr(credentials, "generation", 0)  # Renewable's, else unused
                await pace.acquire()
                try:
                    async with self._in_flight:
                        with acting(client.identity):
                            response: dict[str, Any] = await method(**params)
                except (ClientError, BotoCoreError, CallFailed, *UNREADABLE) as error:
                    failure = _Failure.of(error)
                else:
                    pace.answered()
                    self.counter.record(
                        account,
                        client.service,
                        operation,
                        attempts.retries,
                        None,
                        throttled=attempts.throttled,
                    )
                    return response
                if failure.code in THROTTLING_CODES:
                    pace.throttled()
                if await self._again(client, failure, attempts, deadline) or await self._renewed(
                    credentials, generation, failure, attempts
                ):
                    attempts.retries += 1
                    continue
                raise self._failure(
                    client,
                    account,
                    operation,
                    resource=resource,
                    failure=failure,
                    attempts=attempts,
                )

    async def _again(
        self, client: Client, failure: _Failure, attempts: _Attempts, deadline: float | None
    ) -> bool:
        """Whether to retry after a throttled or transient failure (the backoff waited)."""
        throttled = failure.code in THROTTLING_CODES
        if throttled:
            attempts.throttled += 1
        elif not failure.transient:
            return False
        policy = self.retry
        delay = policy.delay(attempts.retries + 1)
        if throttled and client.service in policy.patient_services:
            allowed = time.monotonic() + delay - attempts.started <= policy.patience
        else:
            allowed = attempts.retries + 1 < policy.max_attempts
        if deadline is not None and time.monotonic() + delay > deadline:
            allowed = False
        if allowed and delay > 0:
            await asyncio.sleep(delay)
        return allowed

    @staticmethod
    async def _renewed(
        credentials: object, generation: int, failure: _Failure, attempts: _Attempts
    ) -> bool:
        """After credentials refused before their time: assume the role again, once a call."""
        if failure.code not in CREDENTIAL_ERRORS or attempts.renewed:
            return False
        if not isinstance(credentials, Renewable):
            return False
        attempts.renewed = True
        try:
            await credentials.renew(generation)
        except CallFailed as failed:
            log.warning("credential_renewal_failed", error=str(failed))
            return False
        return True

    def _failure(
        self,
        client: Client,
        account: str,
        operation: str,
        *,
        resource: str | None,
        failure: _Failure,
        attempts: _Attempts,
    ) -> CallFailed:
        code, message = failure.code, failure.message
        self.counter.record(
            account,
            client.service,
            operation,
            attempts.retries,
            code,
            throttled=attempts.throttled,
        )
        error = CollectionError(
            service=client.service,
            operation=operation,
            code=code,
            message=message,
            region=client.region,
            resource=resource,
        )
        log.info("aws_call_failed", account=account, **_log_fields(error))
        return CallFailed(error)

    async def paginate(
        self,
        client: Client,
        operation: str,
        key: str,
        *,
        resource: str | None = None,
        deadline: float | None = None,
        **params: Any,
    ) -> list[Any]:
        """Every item under ``key`` across the pages; a failed page fails the whole listing."""
        pages = self.pages(client, operation, key, resource=resource, deadline=deadline, **params)
        return [item async for page in pages for item in page]

    async def paginate_keys(
        self,
        client: Client,
        operation: str,
        keys: tuple[str, ...],
        *,
        resource: str | None = None,
        **params: Any,
    ) -> dict[str, list[Any]]:
        """Every item under each of ``keys`` across the pages (DescribeAlarms lists metric and
        composite alarms side by side); a failed page fails the whole listing."""
        items: dict[str, list[Any]] = {key: [] for key in keys}
        async for page in self.raw_pages(client, operation, resource=resource, **params):
            for key in keys:
                items[key].extend(page.get(key) or ())
        return items

    async def pages(
        self,
        client: Client,
        operation: str,
        key: str,
        *,
        resource: str | None = None,
        deadline: float | None = None,
        **params: Any,
    ) -> AsyncIterator[list[Any]]:
        """The items under ``key``, a page at a time, as they arrive; raises :class:`CallFailed`."""
        async for page in self.raw_pages(
            client, operation, resource=resource, deadline=deadline, **params
        ):
            yield list(page.get(key) or ())

    async def raw_pages(
        self,
        client: Client,
        operation: str,
        *,
        resource: str | None = None,
        deadline: float | None = None,
        **params: Any,
    ) -> AsyncIterator[Mapping[str, Any]]:
        """The responses of a paged operation, one page at a time; raises :class:`CallFailed`.

        A page that hands back a token given before (none of these operations does, but a proxy
        or cache in between can) would loop for ever, and stopping there would leave the listing
        short: an alarm on a page never read reads as no alarm, a FAIL. So it fails the listing
        (code ``RepeatedPageToken``): what it decides is an ERROR."""
        token_in, token_out = PAGINATION[operation]
        token: str | None = None
        seen: set[str] = set()
        while True:
            page_params = dict(params)
            if token is not None:
                page_params[token_in] = token
            page = await self.call(
                client, operation, resource=resource, deadline=deadline, **page_params
            )
            yield page
            next_token = page.get(token_out)
            if not next_token:
                return
            if next_token in seen:
                error = CollectionError(
                    service=client.service,
                    operation=operation,
                    code="RepeatedPageToken",
                    message=f"page {len(seen) + 1} gave a token an earlier page gave: the"
                    " listing would never end, and what it read is not all",
                    region=client.region,
                    resource=resource,
                )
                log.info("aws_call_failed", account=client.account_id, **_log_fields(error))
                raise CallFailed(error)
            seen.add(next_token)
            token = next_token


def _log_fields(error: CollectionError) -> dict[str, Any]:
    return {
        "service": error.service,
        "operation": error.operation,
        "region": error.region,
        "resource": error.resource,
        "code": error.code,
    }
