"""Property tests: random patterns and events never contradict the coverage verdict."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.patterns import covers, matches, overlaps, parse, render
from scanner.patterns.ast import (
    And,
    Comparison,
    Expr,
    FieldTest,
    FieldTestKind,
    JsonPattern,
    NumberValue,
    Op,
    Or,
    Selector,
    StringValue,
)

PATHS = [("a",), ("b",), ("u",), ("u", "t"), ("arr", 0)]
# Paths that part into different containers (``$.a[0]`` and ``$.a.b`` cannot both be present)
# or that no event has (``$[0]``: an event is an object).
TANGLED_PATHS = [("a",), ("a", 0), ("a", "b"), ("a", 0, "b"), ("a", "b", 0), ("a", 1), (0,)]
STRINGS = ["A", "B", "AB", "A*", "*B", "*", "A*B", "", 'q"x']
NUMBERS = [Decimal(0), Decimal(1), Decimal("2.5")]


def _atoms(paths: list[tuple[str | int, ...]]) -> st.SearchStrategy[Expr]:
    selectors = st.sampled_from(paths).map(Selector)
    string_atoms = st.builds(
        Comparison,
        selectors,
        st.sampled_from([Op.EQ, Op.NE]),
        st.sampled_from(STRINGS).map(StringValue),
    )
    number_atoms = st.builds(
        Comparison, selectors, st.sampled_from(list(Op)), st.sampled_from(NUMBERS).map(NumberValue)
    )
    test_atoms = st.builds(FieldTest, selectors, st.sampled_from(list(FieldTestKind)))
    return st.one_of(string_atoms, string_atoms, number_atoms, test_atoms)


def _joined(group: type[And] | type[Or]) -> Callable[[list[Expr]], Expr]:
    def join(items: list[Expr]) -> Expr:
        return group(tuple(items))

    return join


def _exprs(
    depth: int, kind: type[And] | type[Or] | None, atoms: st.SearchStrategy[Expr]
) -> st.SearchStrategy[Expr]:
    """Alternate And/Or so the tree is already in the parser's flattened form."""
    if depth == 0:
        return atoms
    options: list[st.SearchStrategy[Expr]] = [atoms]
    for group in (And, Or):
        if group is not kind:
            options.append(
                st.lists(_exprs(depth - 1, group, atoms), min_size=2, max_size=3).map(
                    _joined(group)
                )
            )
    return st.one_of(*options)


def json_patterns(paths: list[tuple[str | int, ...]]) -> st.SearchStrategy[JsonPattern]:
    """JSON patterns over ``paths``, nested three levels of And/Or deep."""
    return _exprs(3, None, _atoms(paths)).map(JsonPattern)


patterns = json_patterns(PATHS)
tangled_patterns = json_patterns(TANGLED_PATHS)

leaf_values = st.one_of(
    st.sampled_from(["A", "B", "AB", "AxB", "xB", "", "Ax", 'q"x', "other"]),
    st.sampled_from([0, 1, 2.5, 3, -1, 0.5]),
    st.sampled_from([None, True, False]),
)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for key in ("a", "b"):
        if draw(st.booleans()):
            event[key] = draw(leaf_values)
    shape = draw(st.sampled_from(["absent", "object", "leaf"]))
    if shape == "object":
        event["u"] = {"t": draw(leaf_values)} if draw(st.booleans()) else {}
    elif shape == "leaf":
        event["u"] = draw(leaf_values)
    if draw(st.booleans()):
        event["arr"] = [draw(leaf_values)] if draw(st.booleans()) else []
    return event


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(patterns)
def test_render_then_parse_gives_the_same_tree(pattern: JsonPattern) -> None:
    assert parse(render(pattern)) == pattern


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patterns, patterns, st.lists(events(), min_size=1, max_size=25))
def test_random_events_never_contradict_covers(
    candidate: JsonPattern, reference: JsonPattern, sample: list[dict[str, Any]]
) -> None:
    result = covers(candidate, reference)
    assert result.decided
    for gap in result.gaps:
        assert matches(reference, gap.example) and not matches(candidate, gap.example)
    if result.covered:
        for event in sample:
            if matches(reference, event):
                assert matches(candidate, event), (render(candidate), render(reference), event)
    else:
        assert result.gaps


@settings(max_examples=200, deadline=None)
@given(patterns, st.lists(events(), min_size=1, max_size=10))
def test_printed_pattern_means_the_same(pattern: JsonPattern, sample: list[dict[str, Any]]) -> None:
    again = parse(render(pattern))
    for event in sample:
        assert matches(pattern, event) == matches(again, event)
    assert covers(pattern, again).covered and covers(again, pattern).covered


@st.composite
def tangled_events(draw: st.DrawFn) -> dict[str, Any]:
    """Events whose ``a`` is absent, a leaf, an object or an array, nested once more."""
    inner = st.one_of(leaf_values, st.lists(leaf_values, max_size=2))
    shape = draw(st.sampled_from(["absent", "leaf", "object", "array"]))
    if shape == "absent":
        return {}
    if shape == "leaf":
        return {"a": draw(leaf_values)}
    if shape == "object":
        return {"a": {"b": draw(inner)} if draw(st.booleans()) else {}}
    items: list[Any] = draw(st.lists(st.one_of(leaf_values, st.builds(dict, b=inner)), max_size=3))
    return {"a": items}


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(tangled_patterns, tangled_patterns, st.lists(tangled_events(), min_size=1, max_size=15))
def test_covers_is_total_and_right_when_paths_part_into_arrays_and_objects(
    candidate: JsonPattern, reference: JsonPattern, sample: list[dict[str, Any]]
) -> None:
    """Either side may name ``$.a[0]`` and ``$.a.b`` (never both present) or ``$[0]`` (never
    present): covers answers, and its answer holds on events of every shape."""
    result = covers(candidate, reference)
    assert result.decided, result.reason
    for gap in result.gaps:
        assert matches(reference, gap.example) and not matches(candidate, gap.example)
    for event in sample:
        if result.covered and matches(reference, event):
            assert matches(candidate, event), (render(candidate), render(reference), event)
    assert result.covered or result.gaps
    assert overlaps(candidate, reference) is not None
