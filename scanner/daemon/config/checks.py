"""Checks of single values, named in the schema's field metadata: value -> problem or None.

A type says "a string"; these say "a 12-digit account id", "HOST:PORT", "an http(s) URL".
They return the problem rather than raise it, so the converter can put the field's path in
front of it and raise one :class:`~scanner.errors.ConfigError` line. Each :class:`Check` also
says what JSON Schema can say of it (a pattern, bounds, a choice), so the schema generated for
the Helm chart's values states the same rules (:mod:`.jsonschema`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from scanner.aws_defaults import DEFAULT_RATES
from scanner.catalog import load_catalog


@dataclass(frozen=True)
class Check:
    """A test of one value (the value -> its problem, or None) and its JSON Schema keywords."""

    test: Callable[[Any], str | None]
    keywords: Mapping[str, Any] | Callable[[], Mapping[str, Any]] = field(default_factory=dict)

    def __call__(self, value: Any) -> str | None:
        return self.test(value)

    def schema(self) -> dict[str, Any]:
        """The JSON Schema keywords (a callable is asked now: it may read the catalog)."""
        return dict(self.keywords() if callable(self.keywords) else self.keywords)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
# What parse_duration reads, for JSON Schema (which cannot remove inner spaces first).
DURATION_PATTERN = r"^\s*(?:\d+(?:\.\d+)? *(?:ms|s|m|h|d|w) *)+$"
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
ACCOUNT_ID = re.compile(r"\d{12}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/\S+")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Requests per second a rate limit may say: below, a scan of one region would take hours; above,
# no AWS quota comes near it (a typo, or "inf", would remove the throttle altogether).
MIN_RATE, MAX_RATE = 0.01, 1000.0
# The longest duration a setting may say: longer is a typo, and asyncio cannot wait that long.
MAX_DURATION = 365 * 86400.0


def parse_duration(text: str) -> float:
    """``"1h30m"`` -> 5400.0; raises ValueError. Units: ms, s, m, h, d, w."""
    compact = text.strip().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"not a duration: {text!r} (write e.g. 30s, 15m, 1h30m, 7d)")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def duration_problem(seconds: float) -> str | None:
    """What is wrong with a parsed duration, if anything (positivity is the field's own check)."""
    if not seconds <= MAX_DURATION:  # also NaN and infinity
        return f"must be at most {format_duration(MAX_DURATION)}"
    return None


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of ``seconds`` in the units :func:`parse_duration` reads."""
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size and float(seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{seconds:g}s"


def parse_listen(text: str) -> tuple[str, int]:
    """``"HOST:PORT"`` (IPv6 as ``[::1]:9108``) -> (host, port); raises ValueError.

    Port 0 parses (a caller of the Python API may bind whatever port is free, as the tests do);
    the configuration's check (``http.listen``, ``--listen``) refuses it.
    """
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"not HOST:PORT: {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        ipaddress.IPv6Address(host)  # ValueError when it is not one
    elif not host or ":" in host or not re.fullmatch(r"[A-Za-z0-9.-]+", host):
        raise ValueError(f"not HOST:PORT: {text!r}")
    return host, int(port_text)


def _is_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not a valid http(s) URL"
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "not a valid http(s) URL"
    return None


def _is_listen(value: str) -> str | None:
    try:
        _, port = parse_listen(value)
    except ValueError:
        return "not HOST:PORT (e.g. 127.0.0.1:9108, 0.0.0.0:9108, [::]:9108)"
    if port == 0:  # the system would pick a port at random, one nothing is told to scrape
        return "port 0 picks a random port nothing could scrape; give one (e.g. 127.0.0.1:9108)"
    return None


is_url = Check(_is_url, {"pattern": r"^https?://[^\s/?#]+([/?#]\S*)?$"})
is_listen = Check(
    _is_listen, {"pattern": r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):0*[1-9][0-9]{0,4}$"}
)


def matching(pattern: re.Pattern[str], what: str) -> Check:
    """Every item (of a list) or the value fully matches ``pattern``."""

    def check(value: Any) -> str | None:
        values = value if isinstance(value, tuple) else (value,)
        for item in values:
            if item is not None and not pattern.fullmatch(str(item)):
                return f"{item!r} is not {what}"
        return None

    return Check(check, {"pattern": f"^(?:{pattern.pattern})$"})


def choice(*allowed: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}"

    return Check(check, {"enum": list(allowed)})


def at_least(minimum: float) -> Check:
    def check(value: Any) -> str | None:
        return None if value >= minimum else f"must be at least {minimum:g}"

    return Check(check, {"minimum": minimum})


def at_least_duration(minimum: float) -> Check:
    """A duration of at least ``minimum`` seconds, said in the units it is written in."""

    def check(value: Any) -> str | None:
        return None if value >= minimum else f"must be at least {format_duration(minimum)}"

    return Check(check, {"minimum": minimum})


def between(minimum: int, maximum: int) -> Check:
    """A whole number from ``minimum`` to ``maximum`` (an AWS API's own bounds)."""

    def check(value: Any) -> str | None:
        return None if minimum <= value <= maximum else f"must be {minimum}-{maximum}"

    return Check(check, {"minimum": minimum, "maximum": maximum})


def _urls(value: Any) -> str | None:
    for item in value if isinstance(value, tuple) else (value,):
        problem = _is_url(str(item))
        if problem:
            return f"{item!r}: {problem}"
    return None


urls = Check(_urls, is_url.keywords)  # each item of the list

positive = Check(
    lambda value: None if value > 0 else "must be greater than 0", {"exclusiveMinimum": 0}
)


def _rate_problem(service: str, rate: float) -> str | None:
    if service not in DEFAULT_RATES:
        return f"unknown service (known: {', '.join(sorted(DEFAULT_RATES))})"
    if not MIN_RATE <= rate <= MAX_RATE:  # also NaN and infinity
        return f"{rate:g} requests per second is outside {MIN_RATE:g}-{MAX_RATE:g}"
    return None


def _rates(value: Mapping[str, float]) -> str | None:
    """``limits.rates`` here, ``--rate-limit`` on the command line: one rule for both."""
    for service, rate in value.items():
        problem = _rate_problem(service, rate)
        if problem:
            return f"{service}: {problem}"
    return None


_RATE_SCHEMA = {"type": "number", "minimum": MIN_RATE, "maximum": MAX_RATE}
rates = Check(
    _rates,
    {
        "properties": dict.fromkeys(sorted(DEFAULT_RATES), _RATE_SCHEMA),
        "additionalProperties": False,
    },
)


def _profiles() -> list[str]:
    return [p.name for p in load_catalog().profiles]


def _profile(value: str) -> str | None:
    names = _profiles()
    return None if value in names else f"unknown profile {value!r} (known: {', '.join(names)})"


profile = Check(_profile, lambda: {"enum": _profiles()})  # the catalog is read when used


def optional(check: Check) -> Check:
    """``check`` applied only to a non-empty value (an empty one means "not set")."""

    def checked(value: Any) -> str | None:
        return check(value) if value else None

    def schema() -> dict[str, Any]:
        keywords = check.schema()
        if "pattern" in keywords:
            keywords["pattern"] = f"^$|{keywords['pattern']}"
        return keywords

    return Check(checked, schema)


__all__ = [
    "ACCOUNT_ID",
    "DURATION_PATTERN",
    "ENV_NAME",
    "MAX_DURATION",
    "MAX_RATE",
    "MIN_RATE",
    "REGION",
    "ROLE_ARN",
    "Check",
    "at_least",
    "at_least_duration",
    "between",
    "choice",
    "duration_problem",
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
    "urls",
]
