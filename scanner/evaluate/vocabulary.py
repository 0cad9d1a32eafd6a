"""The words that select findings by status and severity, read one way everywhere.

``scanner scan --status fail,error --severity high+`` and the findings API's
``?status=fail,error&severity=high+`` are the same question, so they are answered by the same
code: a user who learned one can use the other, and an unknown word is refused the same way,
naming the valid ones. Rule and control ids go through :meth:`scanner.catalog.Catalog.find_rules`
(both callers split their lists with :func:`split_names` first).

Vocabulary:

* a value may repeat (the API's ``?status=fail&status=error``) and each may be a comma-separated
  list; an empty name in a list (``fail,``) is an error, never ignored;
* statuses: ``pass``, ``fail``, ``error`` in any case, or ``all``;
* severities: ``low``, ``medium``, ``high``, ``critical`` in any case; a trailing ``+`` means
  that severity and every one above it (``high+`` is high and critical).
"""

from __future__ import annotations

from collections.abc import Iterable

from scanner.catalog import SEVERITIES
from scanner.errors import InputError, UnknownNameError
from scanner.model import Status

ALL_STATUSES = "all"
STATUS_NAMES = (*(s.value.lower() for s in Status), ALL_STATUSES)


def split_names(values: Iterable[str]) -> tuple[str, ...]:
    """Every name of ``values``, each of which may be a comma-separated list; stripped."""
    names: list[str] = []
    for text in values:
        parts = [part.strip() for part in text.split(",")]
        if not all(parts):
            raise InputError(f"empty name in list {text!r}")
        names.extend(parts)
    return tuple(names)


def parse_statuses(values: Iterable[str]) -> frozenset[Status]:
    """``fail,error`` (any case), or ``all``; raises :class:`UnknownNameError`."""
    wanted = [name.upper() for name in split_names(values)]
    chosen: set[Status] = set()
    for name in wanted:
        if name == ALL_STATUSES.upper():
            chosen.update(Status)
        elif name in Status.__members__:
            chosen.add(Status(name))
        else:
            raise UnknownNameError(
                f"unknown status {name!r}", name, STATUS_NAMES, "valid statuses (any case)"
            )
    return frozenset(chosen)


def parse_severities(values: Iterable[str]) -> frozenset[str]:
    """``high,critical``, or ``high+`` for high and above; raises :class:`UnknownNameError`."""
    chosen: set[str] = set()
    for part in split_names(values):
        lowered = part.lower()
        name, plus = lowered.removesuffix("+"), lowered.endswith("+")
        if name not in SEVERITIES:
            raise UnknownNameError(
                f"unknown severity {part!r}",
                part,
                SEVERITIES,
                "valid severities (any case; 'high+' is high and above)",
            )
        chosen.update(SEVERITIES[SEVERITIES.index(name) :] if plus else (name,))
    return frozenset(chosen)


__all__ = ["ALL_STATUSES", "STATUS_NAMES", "parse_severities", "parse_statuses", "split_names"]
