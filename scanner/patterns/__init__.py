"""The CloudWatch Logs filter-pattern language: parse, print, match an event, decide coverage.

Pure: no I/O. ``parse`` and ``covers`` are memoised, because an organization's accounts mostly
carry the same patterns (deployed by one StackSet) and the evaluator asks the same questions
thousands of times.
"""

from __future__ import annotations

from scanner.errors import PatternSyntaxError
from scanner.patterns.ast import (
    And,
    Comparison,
    JsonPattern,
    Op,
    Pattern,
    Selector,
    StringValue,
)
from scanner.patterns.coverage import Coverage, Gap, covers, overlaps
from scanner.patterns.match import atoms, matches
from scanner.patterns.parser import parse
from scanner.patterns.render import render


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


__all__ = [
    "Comparison",
    "Coverage",
    "Gap",
    "JsonPattern",
    "Op",
    "Pattern",
    "PatternSyntaxError",
    "atoms",
    "covers",
    "matches",
    "overlaps",
    "parse",
    "pin",
    "render",
    "selector_paths",
]
