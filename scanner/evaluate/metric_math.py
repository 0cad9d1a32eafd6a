"""CloudWatch metric math over the datapoints of an alarm's evaluation range.

Pure. :mod:`scanner.evaluate.alarms` asks what an alarm's expression gives in the last period of
a short history of periods (the oldest first); this module parses the expression and computes it
as the AWS documentation ("Metric math syntax and functions", using-metric-math) says CloudWatch
does:

* a time series is one datapoint per period, ``None`` where it has none (missing data);
* ``+ - * / ^`` and ``== != < <= > >=`` and ``AND && OR ||`` apply per datapoint; comparisons
  and logical operators give 0 or 1. A series with a scalar: a period without a datapoint stays
  without one. Two series: "missing values are treated as 0" when the other has a value at that
  time, and a period where neither has one stays missing. Dividing by zero drops the datapoint;
* ``ABS CEIL FLOOR LOG LOG10`` apply per datapoint; ``PERIOD(m)`` is the period of metric ``m``
  in seconds; ``TIME_SERIES(s)`` is ``s`` in every period;
* ``FILL(x, s | series | REPEAT | LINEAR)`` fills the periods without a datapoint: with a value,
  with the most recent datapoint before the gap (REPEAT), or with the linear interpolation
  between the datapoints at both ends of the gap (LINEAR);
* ``DIFF(x)`` is each datapoint minus the preceding datapoint of the series, ``RATE(x)`` that
  difference divided by the seconds between the two: the preceding *datapoint*, however many
  periods without data lie between;
* ``IF(c, a, b)`` and ``IF(c, a)``: per datapoint of ``c``, ``a`` when it is not 0 (0 when ``a``
  has no datapoint there), else ``b`` (dropped when ``b`` has none or is omitted); no datapoint
  where ``c`` has none;
* ``SUM MIN MAX AVG`` over an array (``[a, b]``, ``METRICS()``) per period.

What the documentation does not say (RATE or DIFF on the first datapoint of the range, REPEAT
before any datapoint, LINEAR after the last one, MIN or MAX of an array with missing members, a
power that is not a real number) gives an :class:`Undocumented` datapoint that names it: the
caller decides whether that datapoint matters. Functions that read other data (SEARCH, anomaly
bands, Contributor Insights, Lambda), the time of day, or every datapoint of the retrieved range
(``SUM(m1)``...) are refused when parsing, naming the function.

:func:`parse` is total: any text gives an :class:`Expr` or a :class:`ParseError` with the reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MAX_LENGTH = 2048  # characters; far beyond any expression an alarm holds
MAX_DEPTH = 40  # nested parentheses, brackets, calls and unary minus


class Unprovable(Exception):
    """What one matching event does to the alarm cannot be decided; the message says why."""


@dataclass(frozen=True, slots=True)
class Undocumented:
    """A datapoint the AWS documentation does not define; ``reason`` says which case."""

    reason: str


Point = float | None | Undocumented


@dataclass(frozen=True, slots=True)
class Series:
    """One datapoint per period of the history, oldest first; ``period`` in seconds."""

    points: tuple[Point, ...]
    period: int | None


@dataclass(frozen=True, slots=True)
class Array:
    """Several time series (``[m1, m2]``, ``METRICS()``)."""

    members: tuple[Series, ...]


Value = Point | Series | Array


# --------------------------------------------------------------------------------------------
# Syntax.


@dataclass(frozen=True, slots=True)
class Num:
    value: float


@dataclass(frozen=True, slots=True)
class Ref:
    name: str


@dataclass(frozen=True, slots=True)
class Text:
    value: str


@dataclass(frozen=True, slots=True)
class Keyword:
    name: str  # REPEAT or LINEAR


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Brackets:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Expr, ...]


Expr = Num | Ref | Text | Keyword | Neg | Binary | Brackets | Call


@dataclass(frozen=True, slots=True)
class ParseError:
    """Why an expression is not computed (one line)."""

    reason: str


# Functions computed here, with the numbers of arguments they take.
ARITY: dict[str, tuple[int, ...]] = {
    "ABS": (1,),
    "CEIL": (1,),
    "FLOOR": (1,),
    "LOG": (1,),
    "LOG10": (1,),
    "PERIOD": (1,),
    "TIME_SERIES": (1,),
    "FILL": (2,),
    "DIFF": (1,),
    "RATE": (1,),
    "IF": (2, 3),
    "SUM": (1,),
    "MIN": (1,),
    "MAX": (1,),
    "AVG": (1,),
    "METRICS": (0, 1),
}

_RANGE = "it depends on every datapoint CloudWatch retrieves, more than the evaluated ones"
_OTHER_DATA = "it reads data the scanner does not collect"
_TIME = "it depends on the time of each datapoint"
# CloudWatch functions that are not computed, and why.
NOT_COMPUTED: dict[str, str] = {
    "ANOMALY_DETECTION_BAND": "it depends on the model CloudWatch learns from the metric",
    "SEARCH": _OTHER_DATA,
    "INSIGHT_RULE_METRIC": _OTHER_DATA,
    "LAMBDA": _OTHER_DATA,
    "SERVICE_QUOTA": _OTHER_DATA,
    "DB_PERF_INSIGHTS": _OTHER_DATA,
    "DATAPOINT_COUNT": _RANGE,
    "STDDEV": _RANGE,
    "RUNNING_SUM": _RANGE,
    "REMOVE_EMPTY": _RANGE,
    "SORT": _RANGE,
    "SLICE": _RANGE,
    "FIRST": _RANGE,
    "LAST": _RANGE,
    "METRIC_COUNT": "it counts time series",
    "DIFF_TIME": _TIME,
    "MINUTE": _TIME,
    "HOUR": _TIME,
    "DAY": _TIME,
    "DATE": _TIME,
    "MONTH": _TIME,
    "YEAR": _TIME,
    "EPOCH": _TIME,
}

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r'|(?P<text>"[^"]*")'
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[-+*/^<>()\[\],]))"
)
_COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")


class _Stop(Exception):
    """Internal: the parser stops with a reason; :func:`parse` turns it into a ParseError."""


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    at = 0
    end = len(text.rstrip())
    while at < end:
        m = _TOKEN.match(text, at)
        if m is None or m.lastgroup is None:
            shown = text[at:end].lstrip()[:1]
            raise _Stop(f'"{shown}" is not understood')
        kind = m.lastgroup
        token = m.group(kind)
        if kind == "name" and token in ("AND", "OR"):
            kind, token = "op", ("&&" if token == "AND" else "||")
        found.append((kind, token))
        at = m.end()
    return found


class _Parser:
    """Recursive descent; every method raises :class:`_Stop` on what it does not accept."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def at_op(self, *ops: str) -> str | None:
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in ops:
            self.pos += 1
            return token[1]
        return None

    def expect(self, op: str) -> None:
        if self.at_op(op) is None:
            token = self.peek()
            found = "the end" if token is None else f'"{token[1]}"'
            raise _Stop(f'expected "{op}" but found {found}')

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Stop(f"it nests more than {MAX_DEPTH} levels")

    def whole(self) -> Expr:
        node = self.disjunction()
        extra = self.peek()
        if extra is not None:
            raise _Stop(f'"{extra[1]}" is not understood there')
        return node

    def _left(self, operand: Callable[[], Expr], *ops: str) -> Expr:
        node = operand()
        while (op := self.at_op(*ops)) is not None:
            node = Binary(op, node, operand())
        return node

    def disjunction(self) -> Expr:
        return self._left(self.conjunction, "||")

    def conjunction(self) -> Expr:
        return self._left(self.comparison, "&&")

    def comparison(self) -> Expr:
        return self._left(self.sum, *_COMPARISONS)

    def sum(self) -> Expr:
        return self._left(self.product, "+", "-")

    def product(self) -> Expr:
        return self._left(self.unary, "*", "/")

    def unary(self) -> Expr:
        if self.at_op("-") is not None:
            self.nested()
            node = Neg(self.unary())
            self.depth -= 1
            return node
        return self.power()

    def power(self) -> Expr:
        base = self.primary()
        if self.at_op("^") is not None:
            self.nested()
            exponent = self.unary()  # right-associative: 2^3^2 is 2^(3^2); 2^-1 is allowed
            self.depth -= 1
            return Binary("^", base, exponent)
        return base

    def primary(self) -> Expr:
        token = self.peek()
        if token is None:
            raise _Stop("it ends too early")
        self.pos += 1
        kind, text = token
        if kind == "num":
            return Num(float(text))
        if kind == "text":
            return Text(text[1:-1])
        if kind == "op" and text in ("(", "["):
            self.nested()
            items = [self.disjunction()]
            while text == "[" and self.at_op(",") is not None:
                items.append(self.disjunction())
            self.expect(")" if text == "(" else "]")
            self.depth -= 1
            return items[0] if text == "(" else Brackets(tuple(items))
        if kind == "name" and text[0].islower():
            return Ref(text)
        if kind == "name" and text in ("REPEAT", "LINEAR"):
            return Keyword(text)
        if kind == "name" and self.at_op("(") is not None:
            return self.call(text)
        raise _Stop(f'"{text}" is not understood')

    def call(self, name: str) -> Expr:
        if name in NOT_COMPUTED:
            raise _Stop(f"the function {name} is not supported ({NOT_COMPUTED[name]})")
        if name not in ARITY:
            raise _Stop(f"the function {name} is not supported (not a metric math function)")
        self.nested()
        args: list[Expr] = []
        if self.at_op(")") is None:
            args.append(self.disjunction())
            while self.at_op(",") is not None:
                args.append(self.disjunction())
            self.expect(")")
        self.depth -= 1
        if len(args) not in ARITY[name]:
            wanted = " or ".join(str(n) for n in ARITY[name])
            raise _Stop(f"{name} takes {wanted} arguments, not {len(args)}")
        return Call(name, tuple(args))


def parse(text: str) -> Expr | ParseError:
    """The expression, or why it is not computed. Never raises."""
    if len(text) > MAX_LENGTH:
        return ParseError(f"it is longer than {MAX_LENGTH} characters")
    try:
        tokens = _tokens(text)
        if not tokens:
            return ParseError("it is empty")
        return _Parser(tokens).whole()
    except _Stop as stop:
        return ParseError(str(stop))
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps well below the limit
        return ParseError("it nests too deeply")


# --------------------------------------------------------------------------------------------
# Semantics.


@dataclass(frozen=True, slots=True)
class Context:
    """What an expression reads: ``value(id)`` of a query, ``metrics(contains)`` for METRICS(),
    ``period(id)`` of a metric query; each raises :class:`Unprovable` when it cannot answer.
    ``length`` is the number of periods of the history."""

    value: Callable[[str], Value]
    metrics: Callable[[str | None], Array]
    period: Callable[[str], int]
    length: int


def _arith(op: str, a: float, b: float) -> Point:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b if b else None  # "the data point is dropped"
    if op == "^":
        try:
            result = math.pow(a, b)
        except (ValueError, OverflowError, ZeroDivisionError):
            return Undocumented(f"the documentation does not say what {a!r} ^ {b!r} gives")
        return result
    if op in _COMPARISONS:
        holds = {
            "==": a == b,
            "!=": a != b,
            "<=": a <= b,
            ">=": a >= b,
            "<": a < b,
            ">": a > b,
        }[op]
        return 1.0 if holds else 0.0
    if op == "&&":
        return 1.0 if a and b else 0.0
    return 1.0 if a or b else 0.0  # "||"


def _apply(op: str, a: Point, b: Point, fill_missing: bool) -> Point:
    """One datapoint of ``a op b``; ``fill_missing``: both are series ("missing values are
    treated as 0" where the other has a value)."""
    if isinstance(a, Undocumented):
        return a
    if isinstance(b, Undocumented):
        return b
    if a is None and b is None:
        return None
    if a is None or b is None:
        if not fill_missing:
            return None
        a, b = (a or 0.0), (b or 0.0)
    return _arith(op, a, b)


def _as_series(value: Value) -> Series:
    assert isinstance(value, Series)  # a series combined with a number or a series
    return value


def combine(op: str, left: Value, right: Value) -> Value:
    """``left op right`` for scalars, series and arrays."""
    if isinstance(left, Array) and isinstance(right, Array):
        raise Unprovable(f"{op} between two arrays of time series")
    if isinstance(left, Array):
        return Array(tuple(_as_series(combine(op, m, right)) for m in left.members))
    if isinstance(right, Array):
        return Array(tuple(_as_series(combine(op, left, m)) for m in right.members))
    if isinstance(left, Series):
        if isinstance(right, Series):
            points = tuple(
                _apply(op, a, b, fill_missing=True)
                for a, b in zip(left.points, right.points, strict=True)
            )
            return Series(points, left.period or right.period)
        return Series(tuple(_apply(op, a, right, False) for a in left.points), left.period)
    if isinstance(right, Series):
        return Series(tuple(_apply(op, left, b, False) for b in right.points), right.period)
    return _apply(op, left, right, fill_missing=False)


def _map(value: Value, fn: Callable[[float], Point]) -> Value:
    def one(p: Point) -> Point:
        return p if p is None or isinstance(p, Undocumented) else fn(p)

    if isinstance(value, Array):
        return Array(
            tuple(Series(tuple(one(p) for p in s.points), s.period) for s in value.members)
        )
    if isinstance(value, Series):
        return Series(tuple(one(p) for p in value.points), value.period)
    return one(value)


def _log(base: Callable[[float], float], name: str) -> Callable[[float], Point]:
    def fn(x: float) -> Point:
        if x <= 0:
            return Undocumented(f"the documentation does not say what {name} of {x!r} gives")
        return base(x)

    return fn


_POINTWISE: dict[str, Callable[[float], Point]] = {
    "ABS": abs,
    "CEIL": lambda x: float(math.ceil(x)) if math.isfinite(x) else x,
    "FLOOR": lambda x: float(math.floor(x)) if math.isfinite(x) else x,
    "LOG": _log(math.log, "LOG"),
    "LOG10": _log(math.log10, "LOG10"),
}


def _previous(points: Sequence[Point], i: int) -> int | None:
    """Index of the datapoint before ``i`` (skipping periods without one)."""
    return next((j for j in range(i - 1, -1, -1) if points[j] is not None), None)


def _change(series: Series, name: str) -> Series:
    """DIFF or RATE: each datapoint against the preceding datapoint of the series."""
    out: list[Point] = []
    for i, p in enumerate(series.points):
        j = _previous(series.points, i)
        if p is None:
            out.append(None)
        elif isinstance(p, Undocumented):
            out.append(p)
        elif j is None:
            out.append(
                Undocumented(
                    f"{name} needs the datapoint before, and the documentation does not say what "
                    f"{name} gives for the first datapoint CloudWatch retrieves (an event after a "
                    "silence longer than that range)"
                )
            )
        else:
            before = series.points[j]
            if isinstance(before, Undocumented):
                out.append(before)
            elif name == "DIFF":
                out.append(p - (before or 0.0))
            elif not series.period:
                raise Unprovable(f"{name} needs the period of its series, which is not known")
            else:
                out.append((p - (before or 0.0)) / ((i - j) * series.period))
    return Series(tuple(out), series.period)


def _fill(series: Series, how: Value | str) -> Series:
    points = series.points
    out: list[Point] = []
    for i, p in enumerate(points):
        if p is not None:
            out.append(p)
        elif how == "REPEAT":
            j = _previous(points, i)
            out.append(
                points[j]
                if j is not None
                else Undocumented(
                    "the documentation does not say what FILL(..., REPEAT) gives before the "
                    "first datapoint CloudWatch retrieves"
                )
            )
        elif how == "LINEAR":
            j = _previous(points, i)
            k = next((k for k in range(i + 1, len(points)) if points[k] is not None), None)
            a = points[j] if j is not None else None
            b = points[k] if k is not None else None
            if isinstance(a, Undocumented) or isinstance(b, Undocumented):
                out.append(a if isinstance(a, Undocumented) else b)
            elif a is None or b is None or j is None or k is None:
                out.append(
                    Undocumented(
                        "the documentation does not say what FILL(..., LINEAR) gives before the "
                        "first or after the last datapoint (the latest periods of a quiet metric)"
                    )
                )
            else:
                out.append(a + (b - a) * (i - j) / (k - j))
        elif isinstance(how, Series):
            out.append(how.points[i])
        elif isinstance(how, Array):
            raise Unprovable("FILL of one series with several series")
        else:
            out.append(how if not isinstance(how, str) else None)
    return Series(tuple(out), series.period)


def _if(cond: Value, then: Value, otherwise: Value | None, length: int) -> Value:
    """IF per datapoint of ``cond`` (see the module docstring)."""
    if isinstance(cond, Array) or isinstance(then, Array) or isinstance(otherwise, Array):
        raise Unprovable("IF over an array of time series")
    if not isinstance(cond, Series):
        if isinstance(cond, Undocumented):
            return cond
        chosen = then if cond else otherwise
        return chosen if chosen is not None else Series((None,) * length, None)
    out: list[Point] = []
    for i, c in enumerate(cond.points):
        if c is None or isinstance(c, Undocumented):
            out.append(c)
            continue
        branch = then if c else otherwise
        p = branch.points[i] if isinstance(branch, Series) else branch
        out.append(0.0 if p is None and c and branch is not None else p)
    return Series(tuple(out), cond.period)


def _aggregate(name: str, value: Value) -> Value:
    if not isinstance(value, Array):
        raise Unprovable(
            f"{name} of one time series is one number over every datapoint "
            "CloudWatch retrieves, more than the evaluated ones"
        )
    if not value.members:
        raise Unprovable(f"{name} over no time series")
    columns = zip(*(s.points for s in value.members), strict=True)
    out: list[Point] = []
    for column in columns:
        odd = next((p for p in column if isinstance(p, Undocumented)), None)
        present = [p for p in column if isinstance(p, float)]
        if odd is not None:
            out.append(odd)
        elif not present:
            out.append(None)
        elif name == "SUM":
            out.append(sum(present))
        elif name == "AVG":  # "Missing values are treated as 0"
            out.append(sum(present) / len(column))
        elif len(present) < len(column):
            out.append(
                Undocumented(f"the documentation does not say how {name} treats missing values")
            )
        else:
            out.append(min(present) if name == "MIN" else max(present))
    return Series(tuple(out), value.members[0].period)


def evaluate(expr: Expr, context: Context) -> Value:
    """The value of ``expr``; raises :class:`Unprovable` (with the reason, without the text)."""
    if isinstance(expr, Num):
        return expr.value
    if isinstance(expr, Ref):
        return context.value(expr.name)
    if isinstance(expr, Text | Keyword):
        shown = expr.value if isinstance(expr, Text) else expr.name
        raise Unprovable(f'"{shown}" is not a value there')
    if isinstance(expr, Neg):
        return combine("-", 0.0, evaluate(expr.operand, context))
    if isinstance(expr, Binary):
        return combine(expr.op, evaluate(expr.left, context), evaluate(expr.right, context))
    if isinstance(expr, Brackets):
        members: list[Series] = []
        for item in expr.items:
            value = evaluate(item, context)
            if isinstance(value, Array):
                members.extend(value.members)
            elif isinstance(value, Series):
                members.append(value)
            else:
                raise Unprovable("an array holds a number, not a time series")
        return Array(tuple(members))
    return _call(expr, context)


def _series(value: Value, name: str) -> Series:
    if not isinstance(value, Series):
        raise Unprovable(f"{name} applies to one time series here")
    return value


def _call(expr: Call, context: Context) -> Value:
    name, args = expr.name, expr.args
    if name == "METRICS":
        if args and not isinstance(args[0], Text):
            raise Unprovable("METRICS takes a string")
        return context.metrics(args[0].value if args and isinstance(args[0], Text) else None)
    if name == "PERIOD":
        if not isinstance(args[0], Ref):
            raise Unprovable("PERIOD applies to a metric, not to the result of an expression")
        return float(context.period(args[0].name))
    if name == "FILL":
        how: Value | str = (
            args[1].name if isinstance(args[1], Keyword) else evaluate(args[1], context)
        )
        target = evaluate(args[0], context)
        if isinstance(target, Array):
            return Array(tuple(_fill(s, how) for s in target.members))
        return _fill(_series(target, name), how)
    values = [evaluate(a, context) for a in args]
    if name in _POINTWISE:
        return _map(values[0], _POINTWISE[name])
    if name in ("DIFF", "RATE"):
        if isinstance(values[0], Array):
            return Array(tuple(_change(s, name) for s in values[0].members))
        return _change(_series(values[0], name), name)
    if name == "TIME_SERIES":
        if isinstance(values[0], Series | Array):
            raise Unprovable("TIME_SERIES takes a number")
        return Series((values[0],) * context.length, None)
    if name == "IF":
        return _if(values[0], values[1], values[2] if len(values) > 2 else None, context.length)
    return _aggregate(name, values[0])
