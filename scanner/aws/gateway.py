"""The call gateway: every AWS call goes through :meth:`Caller.call`, throttled and counted.

Invariants:

* AWS rate limits are per account, per region, per API family, so each ``(account, region,
  service)`` has its own :class:`~asyncio_throttle.Throttler` at a rate well under the documented
  quota (:data:`DEFAULT_RATES`), and one global semaphore caps the requests in flight.
  Organizations is the exception: one request in flight, whatever the rate.
* Retries are botocore's (standard or adaptive mode, a bounded number of attempts); we read how
  many it made from ``ResponseMetadata.RetryAttempts`` and count them.
* A call either returns the response or raises :class:`CallFailed` carrying the
  :class:`~scanner.model.CollectionError` to record: the callers never see a botocore exception
  and never mistake a failure (AccessDenied, throttling after the retries, a timeout) for an
  absence. "Absent" is decided by the callers, only from the codes they name.
* Pagination is ours (:meth:`Caller.paginate`), not botocore's paginators, so every page is
  throttled and counted like any call, and pages are requested even where an emulator ignores
  the page size.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore  # type: ignore[import-untyped, unused-ignore]
import structlog
from asyncio_throttle.throttler import Throttler
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]

from scanner.aws.clients import Client
from scanner.aws_defaults import DEFAULT_MAX_IN_FLIGHT, DEFAULT_RATES
from scanner.model import CollectionError

log = structlog.get_logger(__name__)

FALLBACK_RATE = 2.0

# Services whose every call is serialised account-wide (one request in flight).
SERIAL_SERVICES = frozenset({"organizations"})

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
    }
)

# Pagination of the operations we call: (token in the request, token in the response).
PAGINATION: Mapping[str, tuple[str, str]] = {
    "DescribeAlarms": ("NextToken", "NextToken"),
    "DescribeMetricFilters": ("nextToken", "nextToken"),
    "ListSubscriptionsByTopic": ("NextToken", "NextToken"),
    "ListRoots": ("NextToken", "NextToken"),
    "ListAccountsForParent": ("NextToken", "NextToken"),
    "ListOrganizationalUnitsForParent": ("NextToken", "NextToken"),
}


class CallFailed(Exception):
    """An AWS call failed for good (after botocore's retries); ``error`` is what to record."""

    def __init__(self, error: CollectionError) -> None:
        super().__init__(error.describe())
        self.error = error

    @property
    def code(self) -> str:
        return self.error.code


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Requests per second per ``(account, region, service)``; services absent use the defaults."""

    rates: Mapping[str, float] = field(default_factory=dict)
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT

    def rate(self, service: str) -> float:
        return self.rates.get(service, DEFAULT_RATES.get(service, FALLBACK_RATE))


@dataclass(slots=True)
class OperationStats:
    calls: int = 0  # requests we made (pages count one each), not counting botocore's retries
    retries: int = 0  # further attempts botocore made
    throttles: int = 0  # calls that still failed with a throttling code after the retries
    errors: int = 0  # calls that failed for good, throttling included


class CallStats:
    """Counters by ``(account, service, operation)``; read them through the views below."""

    def __init__(self) -> None:
        self._ops: dict[tuple[str, str, str], OperationStats] = {}
        self.error_codes: Counter[str] = Counter()

    def _at(self, account: str, service: str, operation: str) -> OperationStats:
        key = (account, service, operation)
        found = self._ops.get(key)
        if found is None:
            found = self._ops[key] = OperationStats()
        return found

    def record(
        self, account: str, service: str, operation: str, retries: int, error_code: str | None
    ) -> None:
        stats = self._at(account, service, operation)
        stats.calls += 1
        stats.retries += retries
        if error_code is not None:
            stats.errors += 1
            self.error_codes[error_code] += 1
            if error_code in THROTTLING_CODES:
                stats.throttles += 1

    def by_operation(self) -> dict[tuple[str, str], OperationStats]:
        """``(service, operation) -> stats`` summed over the accounts."""
        out: dict[tuple[str, str], OperationStats] = {}
        for (_, service, operation), s in self._ops.items():
            total = out.setdefault((service, operation), OperationStats())
            total.calls += s.calls
            total.retries += s.retries
            total.throttles += s.throttles
            total.errors += s.errors
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
    def throttles(self) -> int:
        return sum(s.throttles for s in self._ops.values())

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self._ops.values())


def _throttler(rate: float) -> Throttler:
    """At most ``rate`` requests per second, in windows of at least one request."""
    burst = max(1, math.floor(rate))
    return Throttler(rate_limit=burst, period=burst / rate)


def _retries(metadata: object) -> int:
    if isinstance(metadata, Mapping):
        attempts = metadata.get("RetryAttempts", 0)
        return attempts if isinstance(attempts, int) else 0
    return 0


class Caller:
    """The one way to call AWS: ``await caller.call(client, "DescribeTrails", ...)``."""

    def __init__(self, limits: RateLimits | None = None, stats: CallStats | None = None) -> None:
        self.limits = limits or RateLimits()
        self.stats = stats or CallStats()
        self._in_flight = asyncio.Semaphore(self.limits.max_in_flight)
        self._throttlers: dict[tuple[str, str, str], Throttler] = {}
        self._serial: dict[tuple[str, str], asyncio.Semaphore] = {}

    def _throttler_for(self, client: Client) -> Throttler:
        key = (client.account_id, client.region, client.service)
        found = self._throttlers.get(key)
        if found is None:
            found = self._throttlers[key] = _throttler(self.limits.rate(client.service))
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
        **params: Any,
    ) -> dict[str, Any]:
        """One request; raises :class:`CallFailed` with the error to record.

        ``charge_to`` names the account the call is counted for when it is not the client's
        (AssumeRole into a member is part of that member's cost).
        """
        account = charge_to or client.account_id
        method = getattr(client.raw, botocore.xform_name(operation))
        serial = self._serial_for(client)
        async with serial or contextlib.nullcontext():
            await self._throttler_for(client).acquire()  # type: ignore[no-untyped-call]
            try:
                async with self._in_flight:
                    response: dict[str, Any] = await method(**params)
            except ClientError as error:
                body = error.response
                details = body.get("Error", {})
                code = str(details.get("Code") or "ClientError")
                message = str(details.get("Message") or error)
                retries = _retries(body.get("ResponseMetadata"))
                failure = (code, message, retries)
                raise self._failure(client, account, operation, resource, failure) from None
            except BotoCoreError as error:
                # Timeouts, connection failures, missing credentials: after botocore's retries.
                failure = (type(error).__name__, str(error), 0)
                raise self._failure(client, account, operation, resource, failure) from None
        retries = _retries(response.get("ResponseMetadata"))
        self.stats.record(account, client.service, operation, retries, None)
        return response

    def _failure(
        self,
        client: Client,
        account: str,
        operation: str,
        resource: str | None,
        failure: tuple[str, str, int],
    ) -> CallFailed:
        code, message, retries = failure
        self.stats.record(account, client.service, operation, retries, code)
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
        **params: Any,
    ) -> list[Any]:
        """Every item under ``key`` across the pages; a failed page fails the whole listing."""
        pages = self.pages(client, operation, key, resource=resource, **params)
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
        **params: Any,
    ) -> AsyncIterator[list[Any]]:
        """The items under ``key``, a page at a time, as they arrive; raises :class:`CallFailed`."""
        async for page in self.raw_pages(client, operation, resource=resource, **params):
            yield list(page.get(key) or ())

    async def raw_pages(
        self,
        client: Client,
        operation: str,
        *,
        resource: str | None = None,
        **params: Any,
    ) -> AsyncIterator[Mapping[str, Any]]:
        """The responses of a paged operation, one page at a time; raises :class:`CallFailed`."""
        token_in, token_out = PAGINATION[operation]
        token: str | None = None
        seen: set[str] = set()
        while True:
            page_params = dict(params)
            if token is not None:
                page_params[token_in] = token
            page = await self.call(client, operation, resource=resource, **page_params)
            yield page
            next_token = page.get(token_out)
            if not next_token or next_token in seen:  # a repeated token would loop forever
                return
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
