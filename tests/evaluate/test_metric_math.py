"""Metric-math alarms on the filter's metric, computed as CloudWatch documents each function
("Metric math syntax and functions"), and the expression parser's totality."""

from __future__ import annotations

import dataclasses
import math
from typing import NoReturn

import pytest
from evaluate.iam_chain import ALARM, FILTER, METRIC, NAMESPACE, RULE
from hypothesis import given
from hypothesis import strategies as st

from scanner.evaluate import evaluate
from scanner.evaluate import metric_math as mm
from scanner.evaluate.alarms import Unprovable, condition
from scanner.model import Account, Finding, Link, MetricQuery, MetricStat, Status
from scanner.testing import healthy_account, single_account, with_alarm, with_transformation


def math_alarm(expression: str, **changes: object) -> Account:
    """The healthy account whose alarm watches ``expression`` over m1, the filter's metric
    (Sum, 300 s), with ``changes`` to the alarm (operator, threshold...)."""
    queries = (
        MetricQuery("m1", metric_stat=MetricStat(NAMESPACE, METRIC, "Sum", 300)),
        MetricQuery("e1", expression=expression, return_data=True),
    )
    return with_alarm(
        healthy_account(rules=[RULE]),
        ALARM,
        metric_name=None,
        namespace=None,
        statistic=None,
        metrics=queries,
        **changes,
    )


def check(account: Account) -> Finding:
    return next(f for f in evaluate(single_account(account)) if f.rule == RULE)


def assert_condition_fails(finding: Finding, reason: str) -> None:
    assert finding.status is Status.FAIL, finding.reason
    assert finding.broken_link is Link.ALARM_CONDITION
    assert finding.reason == reason


GT = {"comparison_operator": "GreaterThanThreshold", "threshold": 0.0}


# --------------------------------------------------------------------------------------------
# One function at a time (each was "cannot prove" before it was computed).


def test_a_count_per_minute_through_period_fires() -> None:
    finding = check(math_alarm("m1 * 60 / PERIOD(m1)", **GT))  # 1 * 60 / 300 = 0.2 > 0
    assert finding.status is Status.PASS, finding.reason


def test_period_of_an_expression_is_not_a_metric_period() -> None:
    finding = check(math_alarm("m1 / PERIOD(e1)", **GT))
    assert_condition_fails(
        finding,
        'cannot prove what the expression "m1 / PERIOD(e1)" gives: PERIOD applies to a metric, '
        "not to the result of an expression",
    )


def test_a_zero_filled_alarm_below_one_sits_in_alarm_and_an_event_returns_it_to_ok() -> None:
    finding = check(
        math_alarm("FILL(m1, 0)", comparison_operator="LessThanThreshold", threshold=1.0)
    )
    assert_condition_fails(
        finding,
        f'alarm "{ALARM}" fires only when FILL(m1, 0) < 1 but one event gives 1; without any '
        "event it gives 0, so it sits in ALARM and an event only returns it to OK",
    )


def test_fill_repeat_keeps_the_event_in_the_quiet_periods_after_it() -> None:
    finding = check(math_alarm("FILL(m1, REPEAT)"))
    assert_condition_fails(
        finding,
        f'alarm "{ALARM}" still breaches after an event (FILL(m1, REPEAT) >= 1 holds for 1 in a '
        "period without data (periods before: a period without data, then a period with one "
        "event)), so it stays in ALARM and does not notify the next event",
    )


def test_fill_linear_after_the_last_datapoint_is_not_documented() -> None:
    finding = check(math_alarm("FILL(m1, LINEAR)"))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.ALARM_CONDITION
    assert finding.reason.startswith(f'cannot prove alarm "{ALARM}" fires: ')
    assert "FILL(..., LINEAR)" in finding.reason and "after the last datapoint" in finding.reason


@pytest.mark.parametrize("function", ["RATE", "DIFF"])
def test_rate_and_diff_compare_with_the_previous_event_and_miss_a_repeat(function: str) -> None:
    # The preceding *datapoint* of a sparse metric is the previous event: 1 - 1 = 0.
    finding = check(math_alarm(f"{function}(m1)", **GT))
    assert_condition_fails(
        finding,
        f'alarm "{ALARM}" fires only when {function}(m1) > 0 but one event gives 0 (periods '
        "before: a period without data, then a period with one event)",
    )


@pytest.mark.parametrize("function", ["RATE", "DIFF"])
def test_rate_and_diff_of_the_first_datapoint_in_range_cannot_be_proven(function: str) -> None:
    # m1 + ABS(...) breaches whatever the previous datapoint was; only an event after a silence
    # longer than the range CloudWatch retrieves is left, and the documentation is silent there.
    finding = check(math_alarm(f"m1 + ABS({function}(m1))"))
    assert_condition_fails(
        finding,
        f'cannot prove alarm "{ALARM}" fires: {function} needs the datapoint before, and the '
        f"documentation does not say what {function} gives for the first datapoint CloudWatch "
        "retrieves (an event after a silence longer than that range)",
    )


def test_rate_is_per_second_between_the_datapoints_however_far_apart() -> None:
    # With a zero default value, a period with other log events holds 0: an event two periods
    # later gives (1 - 0) / 600 s, half the threshold of a 1-per-period rise (1 / 300 s).
    account = math_alarm("RATE(m1)", threshold=0.003)
    finding = check(with_transformation(account, FILTER, default_value=0.0))
    assert_condition_fails(
        finding,
        f'alarm "{ALARM}" fires only when RATE(m1) >= 0.003 but one event gives '
        f"{1 / 600!r} (periods before: a period with one other log event (default value 0), "
        "then a period without data)",
    )


@pytest.mark.parametrize(
    "expression",
    ["IF(m1 > 0, 1, 0)", "IF(m1 >= 1, m1)", "ABS(m1 - 2)", "CEIL(m1 / 10)", "m1 > 0 AND m1 < 5"],
)
def test_functions_of_the_event_that_reach_the_threshold_fire(expression: str) -> None:
    finding = check(math_alarm(expression))
    assert finding.status is Status.PASS, finding.reason


def test_floor_below_the_threshold_does_not_fire() -> None:
    assert_condition_fails(
        check(math_alarm("FLOOR(m1 / 10)")),
        f'alarm "{ALARM}" fires only when FLOOR(m1 / 10) >= 1 but one event gives 0',
    )


def test_abs_of_a_default_value_breaches_without_any_event() -> None:
    account = with_transformation(math_alarm("ABS(m1 - 2)"), FILTER, default_value=0.0)
    assert_condition_fails(
        check(account),
        f'alarm "{ALARM}" already breaches without any event (ABS(m1 - 2) >= 1 holds for 2), so '
        "it sits in ALARM and never notifies one",
    )


def test_if_without_else_drops_the_quiet_periods_so_m_of_n_fires_late() -> None:
    account = math_alarm("IF(m1 >= 1, m1 * 2)", evaluation_periods=2, treat_missing_data=None)
    finding = check(account)
    assert finding.status is Status.PASS, finding.reason
    assert any("notifies 1 period (300 s) after the event" in note for note in finding.notes)


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("FOO(m1)", "the function FOO is not supported (not a metric math function)"),
        ("HOUR(m1) + m1", "the function HOUR is not supported"),
        ("SEARCH('{AWS/EC2} CPU', \"Sum\", 300)", '"\'" is not understood'),
        ('m1 + LAMBDA("fn")', "the function LAMBDA is not supported"),
        ("SUM(m1)", "SUM of one time series is one number over every datapoint"),
        ("FILL(m1)", "FILL takes 2 arguments, not 1"),
    ],
)
def test_what_is_not_computed_cannot_be_proven_and_names_why(expression: str, named: str) -> None:
    finding = check(math_alarm(expression))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.ALARM_CONDITION
    assert finding.reason.startswith(f'cannot prove what the expression "{expression}" gives: ')
    assert named in finding.reason


# --------------------------------------------------------------------------------------------
# The parser is total; arithmetic with constants is Python's.

PIECES = [
    "m1", "e1", "m2", "(", ")", "[", "]", ",", "+", "-", "*", "/", "^", "1", "0", "2.5", "1e999",
    "FILL", "RATE", "DIFF", "IF", "ABS", "PERIOD", "METRICS", "SUM", "MAX", "TIME_SERIES",
    "REPEAT", "LINEAR", "AND", "||", "==", "<", ">=", '"x"', " ", "FOO", "$",
]  # fmt: skip

expressions = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(PIECES), max_size=25).map("".join),
    st.integers(0, 200).map(lambda n: "(" * n + "m1" + ")" * n),
    st.integers(0, 200).map(lambda n: "-" * n + "m1"),
)


@given(expressions)
def test_parsing_never_raises_and_says_why_it_refuses(text: str) -> None:
    parsed = mm.parse(text)
    if isinstance(parsed, mm.ParseError):
        assert parsed.reason


BASE = math_alarm("m1")
BASE_ALARM = next(a for r in BASE.regions.values() for a in (r.alarms or ()) if a.name == ALARM)
TRANSFORMATION = next(
    t
    for r in BASE.regions.values()
    for g in (r.log_groups or {}).values()
    for f in (g.metric_filters or ())
    if f.name == FILTER
    for t in f.transformations
)


@given(expressions)
def test_an_alarm_on_any_expression_is_decided_or_says_why_not(text: str) -> None:
    metrics = (BASE_ALARM.metrics[0], MetricQuery("e1", expression=text, return_data=True))
    alarm = dataclasses.replace(BASE_ALARM, metrics=metrics)
    try:
        firing = condition(alarm, TRANSFORMATION)
    except Unprovable as why:
        assert str(why).startswith("cannot prove")
    else:
        assert firing.problem is None or firing.problem.startswith(f'alarm "{ALARM}" ')


def _context() -> mm.Context:
    def nothing(_: object) -> NoReturn:
        raise Unprovable("no queries")

    return mm.Context(value=nothing, metrics=nothing, period=nothing, length=1)


def computed(text: str) -> mm.Value:
    tree = mm.parse(text)
    assert not isinstance(tree, mm.ParseError), tree
    return mm.evaluate(tree, _context())


numbers = st.one_of(st.integers(0, 50).map(lambda n: f"{n}.0"), st.sampled_from(["0.5", "2.5"]))
OPERATORS = ["+", "-", "*", "/", "^"]


@st.composite
def arithmetic(draw: st.DrawFn, depth: int = 0) -> str:
    """Constants with + - * / ^, unary minus and parentheses, in CloudWatch's syntax."""
    terms = [draw(numbers)]
    for _ in range(draw(st.integers(0, 3))):
        terms += [draw(st.sampled_from(OPERATORS)), draw(numbers)]
    if depth < 2 and draw(st.booleans()):
        at = 2 * draw(st.integers(0, len(terms) // 2))
        terms[at] = f"({draw(arithmetic(depth + 1))})"
    if draw(st.booleans()):
        terms[0] = "-" + terms[0]
    return " ".join(terms)


@given(arithmetic())
def test_arithmetic_with_constants_is_pythons(text: str) -> None:
    try:
        expected = eval(text.replace("^", "**"))  # digits and operators only
    except (ZeroDivisionError, OverflowError):
        return  # a dropped datapoint, or a power the documentation does not define
    if not isinstance(expected, float | int):
        return  # a complex power of a negative number
    got = computed(text)
    assert isinstance(got, float)
    assert got == expected or (math.isnan(got) and math.isnan(expected))


@given(
    st.floats(-1e6, 1e6),
    st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    st.floats(-1e6, 1e6),
)
def test_comparisons_give_one_or_zero_like_python(a: float, op: str, b: float) -> None:
    expected = {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}
    assert computed(f"({a!r}) {op} ({b!r})") == (1.0 if expected[op] else 0.0)


def test_division_by_zero_drops_the_datapoint() -> None:
    assert computed("1 / (2 - 2)") is None
