"""Fault injection for moto's server running in this process (moto has none of its own).

A response method of a moto service (what moto's dispatcher calls for one API operation) is
wrapped so that it raises an AWS error, always or for its first ``times`` calls, optionally only
when a request parameter has a given value (:func:`inject`). :func:`hook` generalises it: one
function decides, for every request of every service, by (service, operation, account, region,
parameters), whether it fails and how, so a test (or hypothesis) can choose any subset of calls
to fail. The error is serialised by moto in the service's own protocol, so botocore sees exactly
what AWS would send. The per-call hook itself is :mod:`scanner.testing.faults` (the benchmark
``bench/fault_matrix.py`` uses it too); here it is applied through pytest's ``monkeypatch``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from moto.core.responses import BaseResponse

from scanner.testing.faults import (
    DENIED,
    EXPIRED,
    GARBLED,
    INTERNAL,
    THROTTLED,
    THROTTLED_ORGANIZATIONS,
    TIMED_OUT,
    WARNING_FILTER,
    Call,
    Decide,
    Fault,
    InjectedFault,
    dispatching,
)


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
            raise InjectedFault(code, message)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(response_class, method, failing)
    return raised


def hook(monkeypatch: pytest.MonkeyPatch, decide: Decide) -> list[Call]:
    """Ask ``decide`` about every request moto's server dispatches in this process; answer with
    its :class:`Fault` where it returns one. Returns the calls that were failed, in order."""
    failed: list[Call] = []
    monkeypatch.setattr(BaseResponse, "call_action", dispatching(decide, failed))
    return failed


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
    "hook",
    "inject",
]
