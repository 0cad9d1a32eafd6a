"""Checks of single values, named in the schema's field metadata: value -> problem or None.

A type says "a string"; these say "a 12-digit account id", "HOST:PORT", "an http(s) URL".
They return the problem rather than raise it, so the converter can put the field's path in
front of it and raise one :class:`~scanner.errors.ConfigError` line.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from scanner.aws_defaults import DEFAULT_RATES
from scanner.catalog import load_catalog

Check = Callable[[Any], str | None]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
ACCOUNT_ID = re.compile(r"\d{12}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/\S+")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_duration(text: str) -> float:
    """``"1h30m"`` -> 5400.0; raises ValueError. Units: ms, s, m, h, d, w."""
    compact = text.strip().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"not a duration: {text!r} (write e.g. 30s, 15m, 1h30m, 7d)")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of ``seconds`` in the units :func:`parse_duration` reads."""
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size and float(seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{seconds:g}s"


def parse_listen(text: str) -> tuple[str, int]:
    """``"HOST:PORT"`` (IPv6 as ``[::1]:9108``) -> (host, port); raises ValueError."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"not HOST:PORT: {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        ipaddress.IPv6Address(host)  # ValueError when it is not one
    elif not host or ":" in host or not re.fullmatch(r"[A-Za-z0-9.-]+", host):
        raise ValueError(f"not HOST:PORT: {text!r}")
    return host, int(port_text)


def is_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not a valid http(s) URL"
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "not a valid http(s) URL"
    return None


def is_listen(value: str) -> str | None:
    try:
        parse_listen(value)
    except ValueError:
        return "not HOST:PORT (e.g. 127.0.0.1:9108, 0.0.0.0:9108, [::]:9108)"
    return None


def matching(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: Any) -> str | None:
        values = value if isinstance(value, tuple) else (value,)
        for item in values:
            if item is not None and not pattern.fullmatch(str(item)):
                return f"{item!r} is not {what}"
        return None

    return check


def choice(*allowed: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}"

    return check


def at_least(minimum: float) -> Check:
    def check(value: Any) -> str | None:
        return None if value >= minimum else f"must be at least {minimum:g}"

    return check


def positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


# Requests per second a rate limit may be: below, a scan never ends; above, it is no limit.
MIN_RATE, MAX_RATE = 0.01, 1000.0


def rates(value: Mapping[str, float]) -> str | None:
    """``limits.rates`` here, ``--rate-limit`` on the command line: one rule for both."""
    for service, rate in value.items():
        if service not in DEFAULT_RATES:
            return f"{service}: unknown service (known: {', '.join(sorted(DEFAULT_RATES))})"
        if not (math.isfinite(rate) and MIN_RATE <= rate <= MAX_RATE):
            return f"{service}: {rate:g} requests per second is outside {MIN_RATE:g}-{MAX_RATE:g}"
    return None


def profile(value: str) -> str | None:
    names = [p.name for p in load_catalog().profiles]
    return None if value in names else f"unknown profile {value!r} (known: {', '.join(names)})"


def optional(check: Check) -> Check:
    """``check`` applied only to a non-empty value (an empty one means "not set")."""

    def checked(value: Any) -> str | None:
        return check(value) if value else None

    return checked


__all__ = [
    "ACCOUNT_ID",
    "ENV_NAME",
    "MAX_RATE",
    "MIN_RATE",
    "REGION",
    "ROLE_ARN",
    "Check",
    "at_least",
    "choice",
    "format_duration",
    "is_listen",
    "is_url",
    "matching",
    "optional",
    "parse_duration",
    "parse_listen",
    "positive",
    "profile",
    "rates",
]
