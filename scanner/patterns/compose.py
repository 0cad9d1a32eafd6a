"""Patterns built from patterns: a JSON pattern narrowed to one field value; the fields it reads."""

from __future__ import annotations

from scanner.patterns.ast import And, Comparison, JsonPattern, Op, Pattern, Selector, StringValue
from scanner.patterns.match import atoms


def pin(pattern: JsonPattern, dotted_path: str, value: str) -> JsonPattern:
    """``{ ($.<path> = "<value>") && (<pattern>) }``: restrict a pattern to one field value."""
    condition = Comparison(Selector.of(dotted_path), Op.EQ, StringValue(value))
    inner = pattern.expr.items if isinstance(pattern.expr, And) else (pattern.expr,)
    if isinstance(pattern.expr, And):
        return JsonPattern(And((condition, *inner)))
    return JsonPattern(And((condition, pattern.expr)))


def selector_paths(pattern: Pattern) -> frozenset[str]:
    """The dotted paths a JSON pattern looks at (empty for term and space-delimited patterns)."""
    if not isinstance(pattern, JsonPattern):
        return frozenset()
    return frozenset(atom.selector.dotted() for atom in atoms(pattern.expr))
