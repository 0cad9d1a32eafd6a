"""Print pattern trees back as filter-pattern text.

The output is canonical (one spelling per tree) and always valid input for CloudWatch Logs and
for :func:`scanner.patterns.parse`: strings are double-quoted with ``"`` and ``\\`` escaped, every
operand of ``&&``/``||`` is parenthesised, so no reader depends on operator precedence.
"""

from __future__ import annotations

from decimal import Decimal

from scanner.patterns.ast import (
    And,
    Comparison,
    DelimitedField,
    Expr,
    FieldTest,
    JsonPattern,
    NumberValue,
    Or,
    Pattern,
    SpaceDelimitedPattern,
    StringValue,
    TermPattern,
    Value,
)


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def number_text(value: Decimal) -> str:
    """The shortest exact spelling of a number; no rounding (``Decimal.normalize`` rounds to 28
    digits), so ``parse(render(p)) == p`` holds for every number the parser accepts."""
    if value.is_zero():
        return "0"
    sign, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # the parser admits finite numbers only
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len(digit_tuple) - len(digits)
    minus = "-" if sign else ""
    if exponent >= 0 and (exponent <= 6 or len(digits) + exponent <= 15):  # plain integer
        return minus + digits + "0" * exponent
    if exponent < 0 and -exponent <= len(digits) + 6:  # a plain decimal fraction
        point = len(digits) + exponent
        whole = digits[:point] if point > 0 else "0"
        return f"{minus}{whole}.{'0' * max(0, -point)}{digits[max(0, point) :]}"
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{minus}{mantissa}e{exponent + len(digits) - 1}"


def render_value(value: Value) -> str:
    if isinstance(value, StringValue):
        return quote(value.text)
    if isinstance(value, NumberValue):
        return number_text(value.value)
    return f"%{value.source}%"


def render_expr(expr: Expr, top: bool = False) -> str:
    """Render an expression; ``top`` omits the parentheses around a lone comparison."""
    if isinstance(expr, Comparison):
        text = f"{expr.selector.text()} {expr.op.value} {render_value(expr.value)}"
        return text if top else f"({text})"
    if isinstance(expr, FieldTest):
        text = f"{expr.selector.text()} {expr.kind.value}"
        return text if top else f"({text})"
    joiner = " && " if isinstance(expr, And) else " || "
    inner = joiner.join(render_expr(item) for item in expr.items)
    return inner if top else f"({inner})"


def _render_field(field: DelimitedField) -> str:
    if field.is_ellipsis or not field.conditions:
        return field.name
    return " || ".join(
        " && ".join(f"{field.name} {c.op.value} {render_value(c.value)}" for c in group)
        for group in field.conditions
    )


def render(pattern: Pattern) -> str:
    """Canonical text of a pattern: ``parse(render(p)) == p``."""
    if isinstance(pattern, JsonPattern):
        return "{ " + render_expr(pattern.expr, top=True) + " }"
    if isinstance(pattern, TermPattern):
        parts = []
        for term in pattern.terms:
            body = f"%{term.text}%" if term.regex else quote(term.text)
            parts.append(term.mode + body)
        return " ".join(parts)
    assert isinstance(pattern, SpaceDelimitedPattern)
    return "[" + ", ".join(_render_field(f) for f in pattern.fields) + "]"


__all__ = ["And", "Or", "quote", "render", "render_expr", "render_value"]
