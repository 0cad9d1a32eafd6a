"""Composite alarms: does a composite go to ALARM when one metric alarm does?

Pure. A composite alarm's rule (``AlarmRule``) combines other alarms' states with ``AND``,
``OR``, ``NOT`` and the functions ``ALARM(x)``, ``OK(x)``, ``INSUFFICIENT_DATA(x)`` (x an alarm
name or ARN, quoted or not). We accept the composite as the metric alarm's way to notify only
when the rule holds whenever that one child is in ALARM, whatever the other alarms do: the rule
is ``ALARM(child)``, or an ``OR`` whose terms include it. A rule that ANDs the child with
anything else needs some other alarm to be in ALARM at the same time, and an alarm that sits in
ALARM cannot tell us about a new event (see :mod:`.alarms`), so it is not accepted.

A composite may watch other composites (CloudWatch nests them): the metric alarm notifies through
a path of composites, each going to ALARM whenever the one below it does; :func:`above` is what
the collector keeps of them, and the walk follows paths up to :data:`MAX_NESTING` levels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from scanner.model import Alarm, CompositeAlarm

MAX_NESTING = 5  # composites above a metric alarm the walk follows (AWS sets no lower limit)

_REFERENCE = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*(\"[^\"]*\"|'[^']*'|[^)]*?)\s*\)")
_ALARM_CALL = re.compile(r"ALARM\s*\(\s*(\"[^\"]*\"|'[^']*'|[^)]*?)\s*\)\Z")


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def referenced(rule: str) -> set[str]:
    """The alarm names and ARNs a composite's rule looks at."""
    return {_unquote(m.group(1)) for m in _REFERENCE.finditer(rule)}


def _is(reference: str, alarm: Alarm | CompositeAlarm) -> bool:
    return reference in (alarm.name, alarm.arn)


def names_any(composite: CompositeAlarm, alarms: Iterable[Alarm | CompositeAlarm]) -> bool:
    """Whether the composite's rule looks at any of ``alarms``."""
    names = referenced(composite.alarm_rule)
    return any(_is(name, alarm) for alarm in alarms for name in names)


def above(alarms: Iterable[Alarm], candidates: Iterable[CompositeAlarm]) -> list[CompositeAlarm]:
    """The candidates that look at one of ``alarms``, directly or through other candidates (what
    the collector keeps: a composite of composites may be how a metric alarm notifies)."""
    pending = list(candidates)
    kept: list[CompositeAlarm] = []
    below: list[Alarm | CompositeAlarm] = list(alarms)
    while True:
        found = [c for c in pending if names_any(c, below)]
        if not found:
            return kept
        kept += found
        pending = [c for c in pending if c not in found]
        below = list(found)


def _strip_parentheses(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _closes_at_end(text):
        text = text[1:-1].strip()
    return text


def _outside_quotes(text: str) -> Iterator[tuple[int, int]]:
    """``(index, depth)`` of each character outside quotes, ``depth`` counting the parentheses
    open before it (a closing parenthesis already counts as closed)."""
    depth = 0
    quote: str | None = None
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
            continue
        if ch in "\"'":
            quote = ch
            continue
        depth += {"(": 1, ")": -1}.get(ch, 0)
        yield i, depth


def _closes_at_end(text: str) -> bool:
    """Whether the parenthesis opening ``text`` is the one closing it."""
    closed = next((i for i, depth in _outside_quotes(text) if depth == 0), None)
    return closed == len(text) - 1


def _top_level(text: str, word: str) -> list[str]:
    """``text`` split at ``word`` (AND / OR) outside parentheses and quotes."""
    pattern = re.compile(rf"\s{word}\s", re.IGNORECASE)
    parts: list[str] = []
    start = 0
    for i, depth in _outside_quotes(text):
        if depth == 0 and i >= start and (m := pattern.match(text, i)):
            parts.append(text[start:i])
            start = m.end()
    parts.append(text[start:])
    return [p.strip() for p in parts]


def fires_with(composite: CompositeAlarm, alarm: Alarm | CompositeAlarm) -> str | None:
    """``None`` when the composite goes to ALARM whenever ``alarm`` (a metric alarm or a
    composite below it) does, else why not."""
    rule = _strip_parentheses(composite.alarm_rule)
    name = f'composite alarm "{composite.name}"'
    if len(_top_level(rule, "AND")) > 1:
        return (
            f'{name} goes to ALARM only when "{composite.alarm_rule}" holds: it ANDs '
            f'{_kind(alarm)} "{alarm.name}" with other conditions'
        )
    for term in _top_level(rule, "OR"):
        call = _ALARM_CALL.match(_strip_parentheses(term))
        if call and _is(_unquote(call.group(1)), alarm):
            return None
    return (
        f'{name} does not go to ALARM whenever {_kind(alarm)} "{alarm.name}" does (its rule is '
        f'"{composite.alarm_rule}")'
    )


def _kind(alarm: Alarm | CompositeAlarm) -> str:
    return "composite alarm" if isinstance(alarm, CompositeAlarm) else "alarm"


def parents(
    alarm: Alarm | CompositeAlarm, composites: Iterable[CompositeAlarm]
) -> list[CompositeAlarm]:
    """The composites whose rule looks at ``alarm``."""
    return [c for c in composites if any(_is(n, alarm) for n in referenced(c.alarm_rule))]
