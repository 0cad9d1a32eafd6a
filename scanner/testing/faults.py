"""Faults injected into moto's server in this process: any AWS error, for any call one chooses.

moto has no fault injection of its own. :func:`dispatching` wraps the dispatch every moto
service goes through (``BaseResponse.call_action``) so that one function, ``decide``, is asked
about every request by (service, operation, account, region, parameters) and may answer it with
an AWS error instead (:class:`Fault`). The error is raised from inside the operation's own
response method, so moto serialises it in the service's protocol and botocore sees exactly what
AWS would send: a test, a hypothesis search or a benchmark (``bench/fault_matrix.py``) can make
any subset of calls fail, always or by chance, without sleeping and without touching the data.

:func:`injected` applies it for a ``with`` block; tests use :func:`dispatching` through pytest's
``monkeypatch`` (``tests/e2e/faults.py``). Only moto's server *in this process*
(:func:`scanner.testing.emulation.serve`) is affected. ``decide`` runs in the server's request
threads: it must be thread-safe.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import BaseResponse
from moto.core.utils import camelcase_to_underscores

# moto warns that an injected code is not among the service's error shapes (they are the
# generic ones AWS sends); as a warnings filter (``action:message:category``), pytest's too.
WARNING_FILTER = r"ignore:Exception\(InjectedFault\):UserWarning"


class InjectedFault(ServiceException):
    """The error raised in place of an operation: moto serialises it like its own."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


@dataclass(frozen=True, slots=True)
class Call:
    """One request as moto's server dispatches it: whom it is for and what it asks."""

    service: str  # moto's name of the service: "cloudtrail", "logs", "organizations", ...
    operation: str  # the API's name: "DescribeTrails"
    account: str  # the account the request acts in (AssumeRole's: the caller's)
    region: str
    params: Mapping[str, Any]  # the request's parameters, as moto parsed them ({} if not)


@dataclass(frozen=True, slots=True)
class Fault:
    """An AWS error to answer with, in the service's protocol, with this HTTP status."""

    code: str
    message: str = "injected by the test"
    status: int = 400
    # A body in no AWS protocol, sent as it is in place of the operation's answer (what a proxy,
    # a captive portal or a cut connection can hand back): ``code`` and ``message`` unused.
    body: str | None = None


# The kinds of failure a scan meets in AWS, each as AWS answers it.
THROTTLED = Fault("Throttling", "Rate exceeded")
THROTTLED_ORGANIZATIONS = Fault(
    "TooManyRequestsException",
    "AWS Organizations can't complete your request because another request is in progress",
)
DENIED = Fault("AccessDenied", "User is not authorized to perform this operation")
INTERNAL = Fault("InternalFailure", "The request processing has failed", status=500)
TIMED_OUT = Fault("RequestTimeout", "The request timed out", status=408)
EXPIRED = Fault("ExpiredToken", "The security token included in the request is expired")
GARBLED = Fault(
    "", status=200, body="<html><body><h1>Proxy Error</h1>The upstream server hung up</body></html>"
)

Decide = Callable[[Call], Fault | None]
Dispatch = Callable[[Any], Any]


def dispatching(decide: Decide, failed: list[Call]) -> Dispatch:
    """moto's current ``BaseResponse.call_action``, asking ``decide`` first about every request.

    Where ``decide`` returns a :class:`Fault`, the request is answered with it and appended to
    ``failed``. The fault shadows the operation's response method on the request's own response
    object (a new one per request), so moto serialises the error exactly as for its own
    exceptions; only the HTTP status is set to the fault's.
    """
    original: Dispatch = BaseResponse.call_action

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        operation = self._get_action()
        call = Call(
            str(self.service_name or ""),
            str(operation or ""),
            str(self.current_account),
            str(self.region),
            _params(self),
        )
        fault = decide(call) if operation else None
        if fault is None:
            return original(self)
        failed.append(call)
        if fault.body is not None:
            return fault.status, {"Content-Type": "text/html"}, fault.body

        def fail(*_: Any, **__: Any) -> Any:
            raise InjectedFault(fault.code, fault.message)

        setattr(self, camelcase_to_underscores(operation), fail)
        status, headers, body = original(self)
        if fault.status != status:
            headers["status"] = str(fault.status)
        return fault.status, headers, body

    return call_action


@contextlib.contextmanager
def injected(decide: Decide) -> Iterator[list[Call]]:
    """Within the block, every request moto's server dispatches is put to ``decide``; yields
    the calls failed so far (the list grows while the block runs)."""
    original = BaseResponse.call_action
    failed: list[Call] = []
    BaseResponse.call_action = dispatching(decide, failed)  # type: ignore[method-assign, assignment]
    try:
        yield failed
    finally:
        BaseResponse.call_action = original  # type: ignore[method-assign]


def _params(response: Any) -> Mapping[str, Any]:
    """The request's parameters: JSON protocols' body, else the query string's first values."""
    body = getattr(response, "body", None)
    if isinstance(body, bytes | str) and body[:1] in (b"{", "{"):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    query = getattr(response, "querystring", None) or {}
    return {key: values[0] for key, values in query.items() if values}


__all__ = [
    "DENIED",
    "EXPIRED",
    "GARBLED",
    "INTERNAL",
    "THROTTLED",
    "THROTTLED_ORGANIZATIONS",
    "TIMED_OUT",
    "WARNING_FILTER",
    "Call",
    "Decide",
    "Fault",
    "InjectedFault",
    "dispatching",
    "injected",
]
