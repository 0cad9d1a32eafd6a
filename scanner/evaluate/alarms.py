"""Does a CloudWatch alarm go to ALARM on one event that its metric filter matches?

Pure. The evaluator's links ``alarm`` and ``alarm_condition`` are decided here; the collector
uses :func:`watches` to read only the alarms on a filter's metric.

Theory of operation. A metric filter publishes, for each matching log event, its metric value
``v`` (the transformation's ``metric_value``; ``"$.field"`` is the event's own number and cannot
be proven). If the filter has a ``default_value`` ``d``, it also publishes ``d`` for the log
events that do not match, so the period holding our one event may also hold any number ``k`` of
``d`` samples; without a default value nothing but ``v`` is ever published. Every statistic we
support is monotone in ``k``, so two *scenarios* bound what one period can look like:

* event: ``v`` alone, and ``v`` among infinitely many ``d`` (only with a default value);
* quiet: nothing at all (missing data), and with a default value one ``d`` and infinitely many.

The alarm proves the control when every event scenario breaches the threshold, no quiet scenario
breaches (an alarm already in ALARM never notifies a new event), and one breaching datapoint is
enough. That is plain when ``datapoints_to_alarm`` (defaulting to ``evaluation_periods``) is 1.
For an M-of-N alarm with M > 1 we follow CloudWatch's documented evaluation of sparse metrics
(AWS Knowledge Center, "Why did my CloudWatch alarm send me a notification after a single
breached data point?", knowledge-center/cloudwatch-alarm-single-data-point): "When all data
points are missing except one breaching data point, your alarm goes into ALARM state. This
happens when the oldest available breaching data point in the alarm's evaluation range is at
least as old as the value of Datapoints to Alarm, and all other more recent data points are
breaching or missing ... even when missing data is being treated as missing." A metric filter
without a default value publishes nothing between matching events, so with missing data treated
as missing (the default) one event fires such an alarm, M - 1 periods late (a PASS says so).
Treated as ``notBreaching``, or with a default value (or ``FILL``) that gives the quiet periods a
non-breaching datapoint, the event is outnumbered and never fires it; ``ignore`` keeps the state
and is not proven. Two more settings make an alarm deaf: a ``Unit`` other than the one the filter
publishes ("None" when its transformation names none), since CloudWatch then matches no
datapoint; and ``EvaluateLowSampleCountPercentile = ignore`` on a percentile statistic, since one
event is one sample. Metric-math alarms
are evaluated on the same scenarios: queries on the filter's metric take the scenario's
statistic, every other metric is missing, and a small expression language is interpreted
(ids, numbers, ``+ - * /``, parentheses, ``FILL(x, n)``, ``SUM/MIN/MAX/AVG`` over ``METRICS()``
or ``[..]``). Anything outside it is not an error of the account but something we cannot prove;
the caller reports it as a broken link saying "cannot prove ...".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from scanner.model import Alarm, MetricQuery, Transformation

INF = math.inf

# Comparison operators of static-threshold alarms: symbol and test.
COMPARISONS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanOrEqualToThreshold": (">=", lambda x, t: x >= t),
    "GreaterThanThreshold": (">", lambda x, t: x > t),
    "LessThanThreshold": ("<", lambda x, t: x < t),
    "LessThanOrEqualToThreshold": ("<=", lambda x, t: x <= t),
}


class Unprovable(Exception):
    """What one matching event does to the alarm cannot be decided; the message says why."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """One period of the metric: ``matches`` events of value ``v`` and ``others`` of ``d``."""

    matches: int
    others: float  # a count, possibly INF

    def describe(self, default_value: float | None) -> str:
        if self.others == 0:
            return ""
        return f" once other log events add the default value {num(default_value or 0.0)}"


def num(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


# --------------------------------------------------------------------------------------------
# Statistics of one period.

_PERCENTILE = re.compile(r"p(\d+(?:\.\d+)?)")
_MEAN_LIKE = re.compile(r"(?:tm|wm)\d+(?:\.\d+)?|IQM")


def statistic(stat: str, s: Scenario, v: float, d: float | None) -> float | None:
    """The statistic of one period under scenario ``s``; ``None`` is missing data."""
    k = s.others if d is not None else 0.0
    count = s.matches + k
    if count == 0:
        return None
    samples = ([v] if s.matches else []) + ([d] if k and d is not None else [])
    if stat == "SampleCount":
        return count
    if stat == "Sum":
        return s.matches * v + (k * d if k and d else 0.0)
    if stat == "Minimum":
        return min(samples)
    if stat == "Maximum":
        return max(samples)
    percentile = _PERCENTILE.fullmatch(stat)
    if percentile and float(percentile.group(1)) in (0.0, 100.0):
        return min(samples) if float(percentile.group(1)) == 0.0 else max(samples)
    if stat == "Average" or percentile or _MEAN_LIKE.fullmatch(stat):
        if k == INF or not s.matches:
            return samples[-1]
        return (s.matches * v + k * (d or 0.0)) / count
    raise Unprovable(f'cannot prove what the statistic "{stat}" gives for one event')


# --------------------------------------------------------------------------------------------
# Metric math: a small expression language, parsed into closures over the query values.

Value = float | None | tuple[float | None, ...]
Env = Mapping[str, Value]
Node = Callable[[Env], Value]

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?|\.\d+)|([A-Za-z_][A-Za-z0-9_]*)|(.))")
_AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "SUM": sum,
    "MIN": min,
    "MAX": max,
    "AVG": lambda xs: sum(xs) / len(xs),
}


def _scalar(value: Value, text: str) -> float | None:
    if isinstance(value, tuple):
        raise Unprovable(f'cannot prove the value of "{text}": it applies arithmetic to an array')
    return value


class _Expression:
    """Recursive descent over the tokens of one expression; raises :class:`Unprovable`."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        for m in _TOKEN.finditer(text.strip()):
            number, name, other = m.groups()
            self.tokens.append(
                ("num", number) if number else ("id", name) if name else ("op", other)
            )
        self.pos = 0

    def unsupported(self, what: str) -> Unprovable:
        return Unprovable(f'cannot prove what the expression "{self.text}" gives: {what}')

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, op: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (op is not None and token != ("op", op)):
            raise self.unsupported(f"expected {op or 'more'} at token {self.pos + 1}")
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.sum()
        extra = self.peek()
        if extra is not None:
            raise self.unsupported(f'"{extra[1]}" is not understood')
        return node

    def sum(self) -> Node:
        return self._binary(self.product, {"+": lambda a, b: a + b, "-": lambda a, b: a - b})

    def product(self) -> Node:
        return self._binary(self.unary, {"*": lambda a, b: a * b, "/": _divide})

    def _binary(
        self, operand: Callable[[], Node], ops: dict[str, Callable[[float, float], float | None]]
    ) -> Node:
        left = operand()
        while (token := self.peek()) is not None and token[0] == "op" and token[1] in ops:
            self.take()
            left = _combine(left, operand(), ops[token[1]], self.text)
        return left

    def unary(self) -> Node:
        if self.peek() == ("op", "-"):
            self.take()
            inner = self.unary()
            return _combine(lambda env: 0.0, inner, lambda a, b: a - b, self.text)
        return self.primary()

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "num":
            constant = float(text)
            return lambda env: constant
        if kind == "op" and text == "(":
            node = self.sum()
            self.take(")")
            return node
        if kind == "op" and text == "[":
            items = [self.sum()]
            while self.peek() == ("op", ","):
                self.take()
                items.append(self.sum())
            self.take("]")
            return lambda env: tuple(_scalar(item(env), self.text) for item in items)
        if kind == "id" and self.peek() == ("op", "("):
            return self.call(text)
        if kind == "id" and text[0].islower():
            return lambda env: _lookup(env, text, self.text)
        raise self.unsupported(f'"{text}" is not understood')

    def call(self, name: str) -> Node:
        self.take("(")
        if name == "METRICS":
            self.take(")")
            return lambda env: env["METRICS()"]
        if name == "FILL":
            series = self.sum()
            self.take(",")
            fill = self.sum()
            self.take(")")
            return lambda env: _fill(series(env), _scalar(fill(env), self.text))
        if name in _AGGREGATES:
            arg = self.sum()
            self.take(")")
            return lambda env: _aggregate(name, arg(env), self.text)
        raise self.unsupported(f"the function {name} is not supported")


def _divide(a: float, b: float) -> float | None:
    return a / b if b else None


def _combine(
    left: Node, right: Node, op: Callable[[float, float], float | None], text: str
) -> Node:
    def node(env: Env) -> Value:
        a, b = _scalar(left(env), text), _scalar(right(env), text)
        return None if a is None or b is None else op(a, b)

    return node


def _lookup(env: Env, name: str, text: str) -> Value:
    if name not in env:
        raise Unprovable(f'cannot prove what the expression "{text}" gives: no query "{name}"')
    return env[name]


def _fill(series: Value, fill: float | None) -> Value:
    if isinstance(series, tuple):
        return tuple(fill if x is None else x for x in series)
    return fill if series is None else series


def _aggregate(name: str, values: Value, text: str) -> float | None:
    if not isinstance(values, tuple):
        raise Unprovable(f'cannot prove what "{text}" gives: {name} over one series')
    present = [x for x in values if x is not None]
    return _AGGREGATES[name](present) if present else None


# --------------------------------------------------------------------------------------------
# Which alarms watch a filter's metric, and what one event does to them.


def same_metric(
    namespace: str | None, name: str | None, dimensions: Mapping[str, str], t: Transformation
) -> bool:
    """The filter's metric: same namespace and name, and the same dimension keys, or none at
    all. An alarm without the dimensions of a filter that publishes some hears nothing; it is
    kept so that the verdict can say so (:func:`dimension_pins`)."""
    return (
        namespace == t.metric_namespace
        and name == t.metric_name
        and (set(dimensions) == set(t.dimensions) or not dimensions)
    )


def _our_dimensions(alarm: Alarm, t: Transformation) -> list[Mapping[str, str]]:
    if not alarm.metrics:
        return [alarm.dimensions]
    return [
        q.metric_stat.dimensions
        for q in alarm.metrics
        if q.metric_stat is not None
        and same_metric(
            q.metric_stat.namespace, q.metric_stat.metric_name, q.metric_stat.dimensions, t
        )
    ]


def dimension_pins(alarm: Alarm, t: Transformation, filter_name: str) -> dict[str, str] | str:
    """What the alarm hears of a filter that publishes dimensions, or why it hears nothing.

    A filter with dimensions publishes one metric per combination of values; an alarm on some
    values hears only the events whose fields give those values: ``{field path: value}`` (the
    caller narrows the pattern with :func:`scanner.patterns.pin`). An alarm without dimensions
    hears none of them. Raises :class:`Unprovable` for metric math over several combinations.
    """
    if not t.dimensions:
        return {}
    metric = f"{t.metric_namespace}/{t.metric_name}"
    published = ", ".join(f"{key} ({source})" for key, source in sorted(t.dimensions.items()))
    found = _our_dimensions(alarm, t)
    if any(not dims for dims in found):
        return (
            f'alarm "{alarm.name}" watches {metric} without dimensions, but metric filter '
            f'"{filter_name}" publishes it only with the dimensions {published}, one metric per '
            "value, so the alarm hears nothing"
        )
    if len({tuple(sorted(d.items())) for d in found}) > 1:
        raise Unprovable(
            f'cannot prove what alarm "{alarm.name}" hears: its metric math reads several '
            f"dimension values of {metric}"
        )
    dims = found[0]
    pins: dict[str, str] = {}
    for key, source in sorted(t.dimensions.items()):
        value = dims[key]
        if source.startswith("$."):
            pins[source[2:]] = value
        elif source != value:
            return (
                f'alarm "{alarm.name}" watches {metric} with {key}={value}, but metric filter '
                f'"{filter_name}" publishes only {key}={source}, so the alarm hears nothing'
            )
    return pins


def watches(alarm: Alarm, t: Transformation) -> bool:
    """Does the alarm look at the metric the transformation publishes?"""
    if alarm.metrics:
        return any(
            q.metric_stat is not None
            and same_metric(
                q.metric_stat.namespace, q.metric_stat.metric_name, q.metric_stat.dimensions, t
            )
            for q in alarm.metrics
        )
    return same_metric(alarm.namespace, alarm.metric_name, alarm.dimensions, t)


def _returned_query(alarm: Alarm) -> MetricQuery:
    returned = [q for q in alarm.metrics if q.return_data]
    if len(returned) != 1:
        raise Unprovable(
            f'cannot prove which query alarm "{alarm.name}" alarms on '
            f"({len(returned)} queries return data)"
        )
    return returned[0]


def _math_value(alarm: Alarm, t: Transformation, s: Scenario, v: float) -> tuple[str, Value]:
    """The returned query's label and value under one scenario."""
    env: dict[str, Value] = {}
    metric_values: list[float | None] = []
    for q in alarm.metrics:
        if q.metric_stat is not None:
            ms = q.metric_stat
            ours = same_metric(ms.namespace, ms.metric_name, ms.dimensions, t)
            value = statistic(ms.stat, s, v, t.default_value) if ours else None
            env[q.id] = value
            metric_values.append(value)
    env["METRICS()"] = tuple(metric_values)
    expressions = {q.id: q.expression for q in alarm.metrics if q.expression is not None}
    resolving: list[str] = []

    def resolve(query_id: str) -> Value:
        if query_id in env:
            return env[query_id]
        if query_id in resolving:
            raise Unprovable(f'cannot prove alarm "{alarm.name}": query "{query_id}" is circular')
        resolving.append(query_id)
        text = expressions[query_id]
        for name in set(re.findall(r"\b[a-z][A-Za-z0-9_]*\b", text)) & set(expressions):
            env[name] = resolve(name)
        env[query_id] = _Expression(text).parse()(env)
        resolving.pop()
        return env[query_id]

    returned = _returned_query(alarm)
    label = returned.expression or returned.id
    return label, resolve(returned.id)


def _alarm_value(alarm: Alarm, t: Transformation, s: Scenario, v: float) -> tuple[str, Value]:
    if alarm.metrics:
        return _math_value(alarm, t, s, v)
    stat = alarm.statistic or alarm.extended_statistic
    if stat is None:
        raise Unprovable(f'cannot prove alarm "{alarm.name}": it names no statistic')
    return stat, statistic(stat, s, v, t.default_value)


@dataclass(frozen=True, slots=True)
class Firing:
    """What one matching event does: ``problem`` is why the alarm does not notify it (``None``:
    it does); ``note`` what a user should know although it does, such as a delay."""

    problem: str | None
    note: str = ""


def _percentile_like(stat: str) -> bool:
    return bool(_PERCENTILE.fullmatch(stat) or _MEAN_LIKE.fullmatch(stat))


def _our_stats(alarm: Alarm, t: Transformation) -> list[tuple[str, str | None]]:
    """(statistic, unit) of each way the alarm reads the filter's metric."""
    if alarm.metrics:
        return [
            (q.metric_stat.stat, q.metric_stat.unit)
            for q in alarm.metrics
            if q.metric_stat is not None
            and same_metric(
                q.metric_stat.namespace, q.metric_stat.metric_name, q.metric_stat.dimensions, t
            )
        ]
    return [(alarm.statistic or alarm.extended_statistic or "", alarm.unit)]


def unit_problem(alarm: Alarm, t: Transformation) -> str | None:
    """An alarm that asks for a unit sees only datapoints published with that unit; a metric
    filter publishes its transformation's unit, "None" when it names none."""
    published = t.unit or "None"
    for _, unit in _our_stats(alarm, t):
        if unit is not None and unit != published:
            return (
                f'alarm "{alarm.name}" asks for unit {unit} but the metric filter publishes '
                f"{t.metric_namespace}/{t.metric_name} with unit {published}, so the alarm "
                "never sees a datapoint"
            )
    return None


def _low_sample_problem(alarm: Alarm, t: Transformation) -> str | None:
    if alarm.evaluate_low_sample_count_percentile != "ignore":
        return None
    for stat, _ in _our_stats(alarm, t):
        if _percentile_like(stat):
            return (
                f'alarm "{alarm.name}" ignores periods with too few samples for its percentile '
                f"{stat} (EvaluateLowSampleCountPercentile=ignore), and one event is one sample"
            )
    return None


def condition_problem(alarm: Alarm, t: Transformation) -> str | None:
    """``None`` when one matching event sends the alarm to ALARM, else why not (one line)."""
    return condition(alarm, t).problem


def condition(alarm: Alarm, t: Transformation) -> Firing:
    """Whether, and how late, one matching event sends the alarm to ALARM.

    Raises :class:`Unprovable` when the answer cannot be decided.
    """
    if alarm.threshold_metric_id is not None or alarm.comparison_operator not in COMPARISONS:
        raise Unprovable(
            f'cannot prove alarm "{alarm.name}" fires: it compares with '
            f"{alarm.comparison_operator} (anomaly detection), not a fixed threshold"
        )
    if alarm.threshold is None:
        raise Unprovable(f'cannot prove alarm "{alarm.name}" fires: it has no threshold')
    for problem in (unit_problem(alarm, t), _low_sample_problem(alarm, t)):
        if problem is not None:
            return Firing(problem)
    try:
        v = float(t.metric_value)
    except ValueError:
        raise Unprovable(
            f'cannot prove alarm "{alarm.name}" fires: the metric value "{t.metric_value}" '
            "comes from the event"
        ) from None
    symbol, test = COMPARISONS[alarm.comparison_operator]
    threshold = alarm.threshold
    breaching_missing = alarm.treat_missing_data == "breaching"

    def breaches(value: Value, label: str) -> bool:
        value = _scalar(value, label)
        return breaching_missing if value is None else test(value, threshold)

    with_default = t.default_value is not None
    for s in [Scenario(1, 0)] + ([Scenario(1, INF)] if with_default else []):
        label, value = _alarm_value(alarm, t, s, v)
        if not breaches(value, label):
            gives = "no datapoint" if value is None else num(_scalar(value, label) or 0.0)
            return Firing(
                f'alarm "{alarm.name}" fires only when {label} {symbol} {num(threshold)} '
                f"but one event gives {gives}{s.describe(t.default_value)}"
            )
    quiet = [Scenario(0, 0)] + ([Scenario(0, 1), Scenario(0, INF)] if with_default else [])
    present: list[str] = []  # what the quiet periods hold, when that is a datapoint
    for s in quiet:
        label, value = _alarm_value(alarm, t, s, v)
        if breaches(value, label):
            if value is None:
                return Firing(
                    f'alarm "{alarm.name}" treats missing data as breaching, so it sits in '
                    "ALARM without any event and never notifies one"
                )
            return Firing(
                f'alarm "{alarm.name}" already breaches without any event ({label} '
                f"{symbol} {num(threshold)} holds for {num(_scalar(value, label) or 0.0)}), "
                "so it sits in ALARM and never notifies one"
            )
        if value is not None:
            present.append(f"{label} = {num(_scalar(value, label) or 0.0)}")
    needed = alarm.datapoints_to_alarm or alarm.evaluation_periods
    if needed == 1:
        return Firing(None)
    return _m_of_n(alarm, needed, present)


def _m_of_n(alarm: Alarm, needed: int, present: list[str]) -> Firing:
    """An M-of-N alarm (M > 1) on one breaching datapoint, by CloudWatch's documented rule for
    sparse metrics (see the module docstring)."""
    name = f'alarm "{alarm.name}"'
    wants = f"{name} needs {needed} of {alarm.evaluation_periods} datapoints breaching"
    if present:
        return Firing(
            f"{wants}, but the periods after the event are not missing: they give {present[-1]}, "
            "not breaching (the metric filter's default value, or a filled value), so one "
            "event never fires it"
        )
    treatment = alarm.treat_missing_data or "missing"
    if treatment == "notBreaching":
        return Firing(
            f"{wants} and treats missing data as not breaching, so one event never fires it"
        )
    if treatment != "missing":
        raise Unprovable(
            f"cannot prove {name} fires: it needs {needed} of {alarm.evaluation_periods} "
            f"datapoints breaching and treats missing data as {treatment}"
        )
    periods = needed - 1
    late = f"{periods} period{'s' if periods > 1 else ''}"
    if alarm.period:
        late += f" ({num(float(periods * alarm.period))} s)"
    return Firing(
        None,
        f"{wants}: on a sparse metric CloudWatch goes to ALARM on one breaching datapoint once "
        f"it is {needed} periods old, so it notifies {late} after the event",
    )
