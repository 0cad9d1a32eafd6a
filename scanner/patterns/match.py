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
def glob_regex(text: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in text.split("*")), re.DOTALL)


def glob_match(glob: str, value: str) -> bool:
    return glob_regex(glob).fullmatch(value) is not None


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def as_decimal(value: int | float) -> Decimal:
    return Decimal(str(value))


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
    return isinstance(value, str) and re.search(operand.source, value) is not None


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
    return is_number(value) and bool(_RELATIONS[op](as_decimal(value), operand.value))


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
        return re.search(term_text, text) is not None
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
    values = split_fields(text)
    fields = pattern.fields

    def walk(fi: int, vi: int) -> bool:
        if fi == len(fields):
            return vi == len(values)
        field = fields[fi]
        if field.is_ellipsis:
            return any(walk(fi + 1, k) for k in range(vi, len(values) + 1))
        return vi < len(values) and _field_matches(field, values[vi]) and walk(fi + 1, vi + 1)

    return walk(0, 0)


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
            except ValueError:
                return False
        return isinstance(event, Mapping) and eval_expr(pattern.expr, event)
    text = event_text(event)
    if isinstance(pattern, TermPattern):
        return match_terms(pattern, text)
    return match_delimited(pattern, text)


def atoms(expr: Expr) -> Sequence[Atom]:
    """Every comparison and test of an expression, left to right (duplicates kept)."""
    if isinstance(expr, Comparison | FieldTest):
        return [expr]
    out: list[Atom] = []
    for item in expr.items:
        out.extend(atoms(item))
    return out
