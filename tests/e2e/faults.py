"""Fault injection for moto's server running in this process (moto has none of its own).

A response method of a moto service (what moto's dispatcher calls for one API operation) is
wrapped so that it raises an AWS error, always or for its first ``times`` calls, optionally only
when a request parameter has a given value (:func:`inject`). :func:`hook` generalises it: one
function decides, for every request of every service, by (service, operation, account, region,
parameters), whether it fails and how, so a test (or hypothesis) can choose any subset of calls
to fail. The error is serialised by moto in the service's own protocol, so botocore sees exactly
what AWS would send.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from moto.core.exceptions import ServiceException
from moto.core.responses import BaseResponse
from moto.core.utils import camelcase_to_underscores

# moto warns that our codes are not in the service's error shapes (they are the generic ones):
# conftest.py silences that warning for the tests.
WARNING_FILTER = r"ignore:Exception\(_Fault\):UserWarning"


class _Fault(ServiceException):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def inject(
    monkeypatch: pytest.MonkeyPatch,
    response_class: type,
    method: str,
    code: str,
    message: str = "injected by the test",
    *,
    times: int | None = None,
    when: Callable[[Any], bool] | None = None,
) -> list[int]:
    """Make ``response_class.method`` fail; returns a one-item list counting the faults raised."""
    original = getattr(response_class, method)
    raised = [0]

    @functools.wraps(original)
    def failing(self: Any, *args: Any, **kwargs: Any) -> Any:
        if (times is None or raised[0] < times) and (when is None or when(self)):
            raised[0] += 1
            raise _Fault(code, message)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(response_class, method, failing)
    return raised


# --------------------------------------------------------------------------------------------
# One hook for every call: a test (or hypothesis) decides, per call, whether it fails.


@dataclass(frozen=True, slots=True)
class Call:
    """One request as moto's server dispatches it: whom it is for and what it asks."""

    service: str  # moto's name of the service: "cloudtrail", "logs", "organizations", ...
    operation: str  # the API's name: "DescribeTrails"
    account: str  # the account the request acts in
    region: str
    params: Mapping[str, Any]  # the request's parameters, as moto parsed them ({} if not)


@dataclass(frozen=True, slots=True)
class Fault:
    """An AWS error to answer with, in the service's protocol, with this HTTP status."""

    code: str
    message: str = "injected by the test"
    status: int = 400


# The kinds of failure a scan meets in AWS, each as AWS answers it.
THROTTLED = Fault("Throttling", "Rate exceeded")
THROTTLED_ORGANIZATIONS = Fault(
    "TooManyRequestsException",
    "AWS Organizations can't complete your request because another request is in progress",
)
DENIED = Fault("AccessDenied", "User is not authorized to perform this operation")
INTERNAL = Fault("InternalFailure", "The request processing has failed", status=500)
TIMED_OUT = Fault("RequestTimeout", "The request timed out", status=408)

Decide = Callable[[Call], Fault | None]


def hook(monkeypatch: pytest.MonkeyPatch, decide: Decide) -> list[Call]:
    """Ask ``decide`` about every request moto's server dispatches in this process; answer with
    its :class:`Fault` where it returns one. Returns the calls that were failed, in order.

    The hook shadows the operation's response method on the request's own response object (a
    new one per request), so moto serialises the error exactly as for its own exceptions.
    """
    original = BaseResponse.call_action
    failed: list[Call] = []

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
        method = camelcase_to_underscores(operation)

        def fail(*_: Any, **__: Any) -> Any:
            raise _Fault(fault.code, fault.message)

        setattr(self, method, fail)
        status, headers, body = original(self)
        if fault.status != status:
            headers["status"] = str(fault.status)
        return fault.status, headers, body

    monkeypatch.setattr(BaseResponse, "call_action", call_action)
    return failed


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
