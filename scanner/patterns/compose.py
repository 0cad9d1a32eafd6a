"""Patterns built from patterns: a JSON pattern narrowed to one field value; the fields it reads."""

from __future__ import annotations

from decimal import Decimal

from scanner.patterns.ast import (
    And,
    Comparison,
    JsonPattern,
    NumberValue,
    Op,
    Pattern,
    Selector,
    StringValue,
    TermPattern,
    Value,
)
from scanner.patterns.match import atoms
from scanner.patterns.parser import parse_selector
from scanner.patterns.render import render_value


def pin(pattern: Pattern, path: str | Selector, value: str | int | Decimal) -> JsonPattern:
    """``{ ($.<path> = <value>) && (<pattern>) }``: narrow a pattern to one field value.

    ``path`` is any selector, dotted with array indexes (``"resources[0].type"``, ``"$.a.b"``)
    or a :class:`Selector`; a ``str`` value is a string (``*`` in it is a wildcard, as in any
    pattern), an ``int`` or ``Decimal`` a number. The result is flattened like parsed patterns,
    so ``parse(render(pin(p, ...))) == pin(p, ...)``; pinning a condition the pattern already
    requires returns the pattern unchanged.

    Term and space-delimited patterns: the empty term pattern matches every event, so pinning
    it gives the condition alone, ``{ $.<path> = <value> }``, which is exact. Any other term or
    space-delimited pattern raises :class:`ValueError`: CloudWatch Logs has no pattern that
    means "these words, and this JSON field", so no exact narrowing exists, and an approximate
    one (a quoted ``"key":"value"`` term) would change what coverage decides.
    """
    selector = path if isinstance(path, Selector) else parse_selector(path)
    operand: Value = StringValue(value) if isinstance(value, str) else NumberValue(Decimal(value))
    condition = Comparison(selector, Op.EQ, operand)
    if isinstance(pattern, TermPattern) and not pattern.terms:
        return JsonPattern(condition)
    if not isinstance(pattern, JsonPattern):
        kind = "term" if isinstance(pattern, TermPattern) else "space-delimited"
        raise ValueError(
            f"a {kind} pattern cannot be narrowed by the JSON condition {selector.text()} = "
            f"{render_value(operand)}: no CloudWatch Logs pattern means both"
        )
    inner = pattern.expr.items if isinstance(pattern.expr, And) else (pattern.expr,)
    if condition in inner:
        return pattern
    return JsonPattern(And((condition, *inner)), pattern.notes)


def selector_paths(pattern: Pattern) -> frozenset[str]:
    """The dotted paths a JSON pattern looks at (empty for term and space-delimited patterns)."""
    if not isinstance(pattern, JsonPattern):
        return frozenset()
    return frozenset(atom.selector.dotted() for atom in atoms(pattern.expr))
