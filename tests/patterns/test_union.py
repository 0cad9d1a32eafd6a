"""Coverage by several filters together, and narrowing a pattern to one field value.

People split a long pattern over two metric filters because of CloudWatch's 1,024-character
limit; the rule holds when the filters together catch every event the reference catches.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from patterns.test_properties import PATHS, events, patterns

from scanner.catalog import load_catalog
from scanner.patterns import (
    JsonPattern,
    covers,
    covers_any,
    matches,
    parse,
    parse_selector,
    pin,
    render,
)
from scanner.patterns.ast import Selector
from scanner.patterns.match import ABSENT, resolve
from scanner.testing import event_name_pattern, event_names

IAM_EVENTS = event_names("iam-policy-changes")
EVERY_IAM_CHANGE = event_name_pattern(IAM_EVENTS)


def test_two_filters_that_split_the_reference_cover_it_together() -> None:
    first, second = IAM_EVENTS[:5], IAM_EVENTS[5:]
    halves = [event_name_pattern(first), event_name_pattern(second)]
    for half in halves:
        assert not covers(half, EVERY_IAM_CHANGE).covered
    together = covers_any(halves, EVERY_IAM_CHANGE)
    assert together.covered and together.decided
    assert together.reason == "matches every event the reference matches"


def test_the_gaps_of_a_union_are_the_events_no_filter_catches() -> None:
    halves = [event_name_pattern(IAM_EVENTS[:5]), event_name_pattern(IAM_EVENTS[6:])]
    result = covers_any(halves, EVERY_IAM_CHANGE)
    assert result.decided and not result.covered
    assert [gap.example for gap in result.gaps] == [{"eventName": IAM_EVENTS[5]}]
    assert IAM_EVENTS[5] in result.reason


def test_a_split_filter_covers_the_catalog_reference_it_was_cut_from() -> None:
    rule = load_catalog().rule("iam-policy-changes")
    reference = rule.accepted_in("recommended")[0].pattern
    halves = [
        pin(parse(event_name_pattern(part)), "eventSource", "iam.amazonaws.com")
        for part in (IAM_EVENTS[:5], IAM_EVENTS[5:])
    ]
    assert all(len(render(h)) <= 1024 for h in halves)
    assert covers_any(halves, reference).covered


def test_one_candidate_is_plain_covers_and_results_are_memoised() -> None:
    single = covers_any([EVERY_IAM_CHANGE], EVERY_IAM_CHANGE)
    assert single == covers(EVERY_IAM_CHANGE, EVERY_IAM_CHANGE)
    halves = (event_name_pattern(IAM_EVENTS[:5]), event_name_pattern(IAM_EVENTS[5:]))
    assert covers_any(halves, EVERY_IAM_CHANGE) is covers_any(list(halves), EVERY_IAM_CHANGE)


def test_no_candidate_covers_only_what_matches_nothing() -> None:
    assert not covers_any([], EVERY_IAM_CHANGE).covered
    assert covers_any([], "{ $.a = 1 && $.a = 2 }").covered


def test_other_pattern_families_in_a_union() -> None:
    halves = [event_name_pattern(IAM_EVENTS[:5]), event_name_pattern(IAM_EVENTS[5:])]
    assert covers_any([halves[0], ""], EVERY_IAM_CHANGE).covered  # the empty pattern: all
    assert covers_any([*halves, "ERROR"], EVERY_IAM_CHANGE).covered
    short = covers_any([halves[0], "[a, b]"], EVERY_IAM_CHANGE)
    assert not short.decided and not short.covered
    assert "space-delimited candidates match those events is not decided" in short.reason
    term_reference = covers_any(halves, "ERROR")
    assert not term_reference.decided and "JSON references only" in term_reference.reason


def test_notes_of_the_candidates_are_kept() -> None:
    mixed = '{ $.eventName = "A" && $.b = 1 || $.eventName = "B" }'
    result = covers_any([mixed, '{ $.eventName = "C" }'], '{ $.eventName = "B" }')
    assert result.covered
    assert result.notes and result.notes[0].startswith("candidate 1: '&&' binds tighter")


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(patterns, min_size=1, max_size=3),
    patterns,
    st.lists(events(), min_size=1, max_size=20),
)
def test_union_coverage_never_contradicts_matches(
    candidates: list[JsonPattern], reference: JsonPattern, sample: list[dict[str, Any]]
) -> None:
    result = covers_any(candidates, reference)
    assert result.decided
    for gap in result.gaps:
        assert matches(reference, gap.example)
        assert not any(matches(c, gap.example) for c in candidates)
    if result.covered:
        for event in sample:
            if matches(reference, event):
                assert any(matches(c, event) for c in candidates), event
    else:
        assert result.gaps
    if any(covers(c, reference).covered for c in candidates):
        assert result.covered


# ---------------------------------------------------------------------------------- pin


@pytest.mark.parametrize(
    ("path", "selector"),
    [
        ("eventSource", "$.eventSource"),
        ("userIdentity.type", "$.userIdentity.type"),
        ("resources[0].type", "$.resources[0].type"),
        ("$.a[2][3]", "$.a[2][3]"),
    ],
)
def test_pin_takes_any_selector_path(path: str, selector: str) -> None:
    pinned = pin(parse(EVERY_IAM_CHANGE), path, "x*")
    assert render(pinned).startswith(f'{{ ({selector} = "x*") && ')
    assert parse(render(pinned)) == pinned
    assert parse_selector(path).text() == selector


def test_pin_flattens_and_does_not_repeat_a_condition() -> None:
    base = parse("{ $.a = 1 && $.b = 2 }")
    assert isinstance(base, JsonPattern)
    assert render(pin(base, "c", Decimal(3))) == "{ ($.c = 3) && ($.a = 1) && ($.b = 2) }"
    assert pin(base, "a", 1) is base


def test_pin_of_term_and_space_delimited_patterns() -> None:
    assert pin(parse(""), "eventSource", "iam.amazonaws.com") == parse(
        '{ $.eventSource = "iam.amazonaws.com" }'
    )
    with pytest.raises(ValueError, match="term pattern cannot be narrowed"):
        pin(parse("ERROR"), "eventSource", "iam.amazonaws.com")
    with pytest.raises(ValueError, match="space-delimited pattern cannot be narrowed"):
        pin(parse("[a, b]"), "eventSource", "iam.amazonaws.com")


@settings(max_examples=200, deadline=None)
@given(
    patterns,
    st.sampled_from(PATHS).map(Selector),
    st.sampled_from(["A", "B", "A*", "*"]),
    st.lists(events(), min_size=1, max_size=10),
)
def test_pinned_pattern_matches_exactly_the_conjunction(
    pattern: JsonPattern, selector: Selector, value: str, sample: list[dict[str, Any]]
) -> None:
    pinned = pin(pattern, selector, value)
    assert parse(render(pinned)) == pinned
    assert covers(pattern, pinned).covered
    equality = parse(f'{{ {selector.text()} = "{value}" }}')
    for event in sample:
        field = resolve(event, selector)
        assert matches(pinned, event) == (matches(pattern, event) and matches(equality, event))
        if matches(pinned, event):
            assert field is not ABSENT
