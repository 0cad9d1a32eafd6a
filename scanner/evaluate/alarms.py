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
event is one sample.

Metric-math alarms (:mod:`scanner.evaluate.metric_math`) are evaluated on *histories*: the
evaluated period and the :data:`HISTORY` - 1 periods before it, each an event or quiet scenario
(or two events), so that functions of the preceding datapoint (DIFF, RATE, FILL REPEAT or
LINEAR) see every case: an earlier datapoint next to it, further back, or none in the range.
Queries on the filter's metric take each period's statistic. Every event history must breach; a
quiet history must not (after an event too: ``FILL(m1, REPEAT)`` keeps the event's value and the
alarm stays in ALARM). A datapoint the documentation does not define only matters when nothing
documented already decides: it then gives "cannot prove", naming the function. A query on
another metric cannot be computed (the scanner does not read its datapoints), nor can a function
outside the computed set; the caller reports both as a broken link saying "cannot prove ...".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import product

from scanner.evaluate import metric_math
from scanner.evaluate.metric_math import Array, Point, Series, Undocumented, Value
from scanner.evaluate.metric_math import Unprovable as Unprovable  # noqa: PLC0414 (re-exported)
from scanner.model import Alarm, MetricQuery, Transformation

INF = math.inf
# Periods of a history: the evaluated one and two before it, enough for DIFF, RATE and FILL to
# see an earlier datapoint next to it or one period further, or none at all.
HISTORY = 3

# Comparison operators of static-threshold alarms: symbol and test.
COMPARISONS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanOrEqualToThreshold": (">=", lambda x, t: x >= t),
    "GreaterThanThreshold": (">", lambda x, t: x > t),
    "LessThanThreshold": ("<", lambda x, t: x < t),
    "LessThanOrEqualToThreshold": ("<=", lambda x, t: x <= t),
}


@dataclass(frozen=True, slots=True)
class Scenario:
    """One period of the metric: ``matches`` events of value ``v`` and ``others`` of ``d``."""

    matches: int
    others: float  # a count, possibly INF

    def describe(self, default_value: float | None) -> str:
        if self.others == 0:
            return ""
        return f" once other log events add the default value {num(default_value or 0.0)}"

    def name(self, default_value: float | None) -> str:
        """The period in words, for a history."""
        events = {0: "", 1: "one event", 2: "two events"}.get(self.matches, "events")
        others = ""
        if self.others:
            many = "many other log events" if self.others == INF else "one other log event"
            others = f"{many} (default value {num(default_value or 0.0)})"
        if not events and not others:
            return "a period without data"
        return f"a period with {' among '.join(x for x in (events, others) if x)}"


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


History = tuple[Scenario, ...]  # consecutive periods of the evaluation range, oldest first
Reading = Callable[[History, float], tuple[str, Point]]


def _math_reading(alarm: Alarm, t: Transformation) -> Reading:
    """The returned query's label, and its datapoint in the last period of a history.

    Queries on the filter's metric take each period's statistic; a query on another metric
    cannot be computed, since the scanner does not read its datapoints."""
    metrics = {q.id: q.metric_stat for q in alarm.metrics if q.metric_stat is not None}
    parsed: dict[str, metric_math.Expr] = {}
    texts = {q.id: q.expression for q in alarm.metrics if q.expression is not None}
    for query_id, text in texts.items():
        tree = metric_math.parse(text)
        if isinstance(tree, metric_math.ParseError):
            raise Unprovable(f'cannot prove what the expression "{text}" gives: {tree.reason}')
        parsed[query_id] = tree
    returned = _returned_query(alarm)
    label = returned.expression or returned.id

    def reading(history: History, v: float) -> tuple[str, Point]:
        cache: dict[str, Value] = {}
        resolving: list[str] = []

        def value(query_id: str) -> Value:
            if query_id in cache:
                return cache[query_id]
            ms = metrics.get(query_id)
            if ms is not None:
                if not same_metric(ms.namespace, ms.metric_name, ms.dimensions, t):
                    raise Unprovable(
                        f'cannot prove alarm "{alarm.name}" fires: query "{query_id}" reads '
                        f"{ms.namespace}/{ms.metric_name}, not the metric of the filter "
                        f"({t.metric_namespace}/{t.metric_name}), and the scanner does not read "
                        "its datapoints"
                    )
                stats = (statistic(ms.stat, s, v, t.default_value) for s in history)
                points = tuple(None if x is None else float(x) for x in stats)
                cache[query_id] = Series(points, ms.period)
                return cache[query_id]
            if query_id not in parsed:
                raise Unprovable(f'cannot prove alarm "{alarm.name}": no query "{query_id}"')
            if query_id in resolving:
                raise Unprovable(
                    f'cannot prove alarm "{alarm.name}": query "{query_id}" is circular'
                )
            resolving.append(query_id)
            try:
                cache[query_id] = metric_math.evaluate(parsed[query_id], context)
            except Unprovable as why:
                if str(why).startswith("cannot prove"):
                    raise
                raise Unprovable(
                    f'cannot prove what the expression "{texts[query_id]}" gives: {why}'
                ) from None
            resolving.pop()
            return cache[query_id]

        def period(query_id: str) -> int:
            ms = metrics.get(query_id)
            if ms is None:
                raise Unprovable("PERIOD applies to a metric, not to the result of an expression")
            return ms.period

        def all_metrics(contains: str | None) -> Array:
            chosen = [i for i in metrics if contains is None or contains in i]
            series = [value(i) for i in chosen]
            return Array(tuple(s for s in series if isinstance(s, Series)))

        context = metric_math.Context(value, all_metrics, period, len(history))
        result = value(returned.id)
        if isinstance(result, Array):
            raise Unprovable(
                f'cannot prove alarm "{alarm.name}" fires: "{label}" gives several time series'
            )
        if not isinstance(result, Series):
            raise Unprovable(
                f'cannot prove alarm "{alarm.name}" fires: "{label}" gives a number, not a time '
                "series"
            )
        return label, result.points[-1]

    return reading


def _reading(alarm: Alarm, t: Transformation) -> Reading:
    """How to read the alarm's datapoint in the last period of a history."""
    if alarm.metrics:
        return _math_reading(alarm, t)
    stat = alarm.statistic or alarm.extended_statistic
    if stat is None:
        raise Unprovable(f'cannot prove alarm "{alarm.name}": it names no statistic')
    return lambda history, v: (stat, statistic(stat, history[-1], v, t.default_value))


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
    reading = _reading(alarm, t)
    name = f'alarm "{alarm.name}"'
    d = t.default_value

    def breaches(value: float | None) -> bool:
        return breaching_missing if value is None else test(value, threshold)

    events = [Scenario(1, 0)] + ([Scenario(1, INF)] if d is not None else [])
    quiet = [Scenario(0, 0)] + ([Scenario(0, 1), Scenario(0, INF)] if d is not None else [])
    earlier = [*quiet, Scenario(1, 0), Scenario(2, 0), *events[1:]]
    # What came before, quietest first: (nothing, nothing) leads. A single-metric alarm reads
    # only the evaluated period.
    befores = sorted(product(earlier, repeat=HISTORY - 1), key=lambda b: sum(x.matches for x in b))
    if not alarm.metrics:
        befores = befores[:1]
    undocumented: str | None = None  # the first datapoint the documentation does not define
    for s in events:
        for before in befores:
            label, value = reading((*before, s), v)
            if isinstance(value, Undocumented):
                undocumented = undocumented or value.reason
            elif not breaches(value):
                gives = "no datapoint" if value is None else num(value)
                _, idle = reading((Scenario(0, 0),) * HISTORY, v)
                inverted = (
                    f"; without any event it gives {num(idle)}, so it sits in ALARM and an "
                    "event only returns it to OK"
                    if isinstance(idle, float) and breaches(idle)
                    else ""
                )
                return Firing(
                    f"{name} fires only when {label} {symbol} {num(threshold)} but one event "
                    f"gives {gives}{s.describe(d)}{_earlier(before, d)}{inverted}"
                )
    present: list[str] = []  # what the quiet periods hold, when that is a datapoint
    for before in befores:
        for s in quiet:
            label, value = reading((*before, s), v)
            if isinstance(value, Undocumented):
                undocumented = undocumented or value.reason
                continue
            if breaches(value) and value is None:
                return Firing(
                    f"{name} treats missing data as breaching, so it sits in ALARM without any "
                    "event and never notifies one"
                )
            if breaches(value) and not any(x.matches for x in before):
                return Firing(
                    f"{name} already breaches without any event ({label} {symbol} "
                    f"{num(threshold)} holds for {num(value or 0.0)}), so it sits in ALARM and "
                    "never notifies one"
                )
            if breaches(value):
                return Firing(
                    f"{name} still breaches after an event ({label} {symbol} {num(threshold)} "
                    f"holds for {num(value or 0.0)} in {s.name(d)}{_earlier(before, d)}), so "
                    "it stays in ALARM and does not notify the next event"
                )
            if value is not None:
                present.append(f"{label} = {num(value)}")
    if undocumented is not None:
        raise Unprovable(f"cannot prove {name} fires: {undocumented}")
    needed = alarm.datapoints_to_alarm or alarm.evaluation_periods
    if needed == 1:
        return Firing(None)
    return _m_of_n(alarm, needed, present)


def _earlier(before: History, default_value: float | None) -> str:
    """The periods before, when they are not all without data."""
    if all(x.matches == 0 and x.others == 0 for x in before):
        return ""
    return f" (periods before: {', then '.join(x.name(default_value) for x in before)})"


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
