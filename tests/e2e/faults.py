"""Fault injection for moto's server running in this process (moto has none of its own).

A response method of a moto service (what moto's dispatcher calls for one API operation) is
wrapped so that it raises an AWS error, always or for its first ``times`` calls, optionally only
when a request parameter has a given value. The error is serialised by moto in the service's
own protocol, so botocore sees exactly what AWS would send.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from moto.core.exceptions import ServiceException

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
