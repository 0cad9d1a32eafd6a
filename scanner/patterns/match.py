"""Decide whether one log event matches a pattern.

This module is the single definition of what every condition means; the coverage analysis
asks :func:`atom_holds` the same questions about the values it invents, so a verdict of
``covers`` can never disagree with ``matches`` on the events it reports.

Semantics (CloudWatch Logs, case-sensitive throughout):

* A selector that leads nowhere yields :data:`ABSENT`.
* ``=`` with a string operand matches string values only; ``*`` is a wildcard for any run of
  characters. ``=`` with a number matches numeric values only. ``%regex%`` searches strings.
* ``!=`` is exactly "not ``=``": it matches an absent field, which is why a federated sign-in
  (no ``additionalEventData.MFAUsed``) matches ``$.additionalEventData.MFAUsed != "Yes"``.
* ``<``, ``>``, ``<=``, ``>=`` match numeric values only.
* ``IS NULL`` is a present JSON null, ``NOT EXISTS`` an absent field, ``IS TRUE``/``IS FALSE``
  JSON booleans.
* Term and space-delimited patterns match the raw text; a dict event is serialised compactly.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

from scanner.patterns.ast import (
    And,
    Atom,
    Comparison,
    DelimitedField,
    Expr,
    FieldCondition,
    FieldTest,
    FieldTestKind,
    JsonPattern,
    NumberValue,
    Op,
    Pattern,
    RegexValue,
    Selector,
    SpaceDelimitedPattern,
    StringValue,
    TermPattern,
    Value,
)
from scanner.patterns.parser import parse
from scanner.patterns.regex import regex_search


class _Absent:
    """The value of a field that is not in the event (distinct from JSON null)."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()


@lru_cache(maxsize=8192)
def _glob_parts(glob: str) -> tuple[str, ...]:
    return tuple(glob.split("*"))


def glob_match(glob: str, value: str) -> bool:
    """Whether ``value`` matches ``glob`` (``*`` is any run of characters), in linear time.

    The literal pieces between stars must appear in order; taking the leftmost occurrence of
    each is always right (a later one leaves less room for the rest), so there is no
    backtracking, unlike a ``.*`` regex, which is exponential on ``a*a*a*...`` values.
    """
    parts = _glob_parts(glob)
    if len(parts) == 1:
        return glob == value
    first, *middle, last = parts
    if len(value) < len(first) + len(last) or not (
        value.startswith(first) and value.endswith(last)
    ):
        return False
    pos, end = len(first), len(value) - len(last)
    for piece in middle:
        found = value.find(piece, pos, end)
        if found < 0:
            return False
        pos = found + len(piece)
    return True


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def as_decimal(value: int | float) -> Decimal:
    """A JSON number as a decimal: ints exactly (no digit limit), floats as they print."""
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def resolve(event: Any, selector: Selector) -> Any:
    current = event
    for part in selector.parts:
        if isinstance(part, int):
            if not isinstance(current, list) or part >= len(current):
                return ABSENT
            current = current[part]
        else:
            if not isinstance(current, Mapping) or part not in current:
                return ABSENT
            current = current[part]
    return current


def value_equals(operand: Value, value: Any) -> bool:
    """The meaning of ``=``; everything else is defined from it."""
    if isinstance(operand, StringValue):
        return isinstance(value, str) and glob_match(operand.text, value)
    if isinstance(operand, NumberValue):
        return is_number(value) and as_decimal(value) == operand.value
    assert isinstance(operand, RegexValue)
    return isinstance(value, str) and regex_search(operand.source, value)


_RELATIONS = {
    Op.LT: lambda a, b: a < b,
    Op.GT: lambda a, b: a > b,
    Op.LE: lambda a, b: a <= b,
    Op.GE: lambda a, b: a >= b,
}


def condition_holds(op: Op, operand: Value, value: Any) -> bool:
    if op is Op.EQ:
        return value_equals(operand, value)
    if op is Op.NE:
        return not value_equals(operand, value)
    assert isinstance(operand, NumberValue)
    if not is_number(value) or (isinstance(value, float) and math.isnan(value)):  # NaN: unordered
        return False
    return bool(_RELATIONS[op](as_decimal(value), operand.value))


_TESTS = {
    FieldTestKind.NOT_EXISTS: lambda v: v is ABSENT,
    FieldTestKind.IS_NULL: lambda v: v is None,
    FieldTestKind.IS_TRUE: lambda v: v is True,
    FieldTestKind.IS_FALSE: lambda v: v is False,
}


def atom_holds(atom: Atom, value: Any) -> bool:
    """Whether one condition holds for the value its selector resolved to."""
    if isinstance(atom, FieldTest):
        return bool(_TESTS[atom.kind](value))
    return condition_holds(atom.op, atom.value, value)


def eval_expr(expr: Expr, event: Any) -> bool:
    if isinstance(expr, And):
        return all(eval_expr(item, event) for item in expr.items)
    if isinstance(expr, Comparison | FieldTest):
        return atom_holds(expr, resolve(event, expr.selector))
    return any(eval_expr(item, event) for item in expr.items)


# ------------------------------------------------------------------------------ raw text


def _term_present(text: str, term_text: str, regex: bool) -> bool:
    if regex:
        return regex_search(term_text, text)
    return term_text in text


def match_terms(pattern: TermPattern, text: str) -> bool:
    required = [t for t in pattern.terms if t.mode == ""]
    optional = [t for t in pattern.terms if t.mode == "?"]
    excluded = [t for t in pattern.terms if t.mode == "-"]
    return (
        all(_term_present(text, t.text, t.regex) for t in required)
        and not any(_term_present(text, t.text, t.regex) for t in excluded)
        and (not optional or any(_term_present(text, t.text, t.regex) for t in optional))
    )


_FIELD = re.compile(r'"([^"]*)"|\[([^\]]*)\]|(\S+)')


def split_fields(text: str) -> list[str]:
    """Split a line into fields; ``"quoted"`` and ``[bracketed]`` runs are single fields."""
    return [next(g for g in m.groups() if g is not None) for m in _FIELD.finditer(text)]


def _field_value(text: str) -> str | int | float:
    try:
        number = float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        return text
    return number


def _field_matches(field: DelimitedField, text: str) -> bool:
    if not field.conditions:
        return True
    value = _field_value(text)

    def holds(c: FieldCondition) -> bool:
        if isinstance(c.value, StringValue | RegexValue):
            return condition_holds(c.op, c.value, text)
        return condition_holds(c.op, c.value, value)

    return any(all(holds(c) for c in group) for group in field.conditions)


def match_delimited(pattern: SpaceDelimitedPattern, text: str) -> bool:
    """Fields against values, left to right, keeping every value position reachable so far: an
    ellipsis reaches every later position. O(fields * values), with no backtracking."""
    values = split_fields(text)
    reachable = {0}
    for field in pattern.fields:
        if not reachable:
            return False
        if field.is_ellipsis:
            reachable = set(range(min(reachable), len(values) + 1))
        else:
            reachable = {
                vi + 1 for vi in reachable if vi < len(values) and _field_matches(field, values[vi])
            }
    return len(values) in reachable


def event_text(event: Mapping[str, Any] | str) -> str:
    if isinstance(event, str):
        return event
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def matches(pattern: Pattern | str, event: Mapping[str, Any] | str) -> bool:
    """Whether a log event (a CloudTrail event as a dict, or raw text) matches the pattern."""
    if isinstance(pattern, str):
        pattern = parse(pattern)
    if isinstance(pattern, JsonPattern):
        if isinstance(event, str):
            try:
                event = json.loads(event)
            except (ValueError, RecursionError):  # not JSON, or nested past what Python reads
                return False
        return isinstance(event, Mapping) and eval_expr(pattern.expr, event)
    text = event_text(event)
    if isinstance(pattern, TermPattern):
        return match_terms(pattern, text)
    return match_delimited(pattern, text)


def atoms(expr: Expr) -> Sequence[Atom]:
    """Every comparison and test of an expression, left to right (duplicates kept)."""
    out: list[Atom] = []
    stack: list[Expr] = [expr]
    while stack:
        item = stack.pop()
        if isinstance(item, Comparison | FieldTest):
            out.append(item)
        else:
            stack.extend(reversed(item.items))
    return out
