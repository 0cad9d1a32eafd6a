"""Properties of the filter-policy matcher that must hold for every policy and message."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.policy import (
    Delivery,
    FilterPolicy,
    FilterPolicyError,
    Message,
    MessageAttribute,
    OneOf,
    PossibleMessages,
    Scope,
    judge_delivery,
    matches,
    parse_filter_policy,
)
from scanner.policy.filters import (
    AnythingBut,
    AnythingButPrefix,
    AnythingButSuffix,
    Cidr,
    Condition,
    EqualsIgnoreCase,
    Exact,
    Exists,
    Numeric,
    Prefix,
    Suffix,
    render_condition,
)

KEYS = ["a", "b", "c"]
WORDS = ["", "x", "xy", "yx", "X", "10.0.0.1", "ab", "b"]
NUMBERS = [-1, 0, 1, 2.5, 100]

leaves = st.one_of(st.sampled_from(WORDS), st.sampled_from(NUMBERS), st.booleans(), st.none())
values = st.one_of(leaves, st.lists(leaves, max_size=3))
bodies = st.dictionaries(
    st.sampled_from(KEYS),
    st.one_of(values, st.dictionaries(st.sampled_from(KEYS), values)),
    max_size=3,
)

conditions_json = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(NUMBERS),
    st.builds(lambda w: {"prefix": w}, st.sampled_from(WORDS)),
    st.builds(lambda w: {"suffix": w}, st.sampled_from(WORDS)),
    st.builds(lambda w: {"equals-ignore-case": w}, st.sampled_from(WORDS)),
    st.builds(lambda w: {"anything-but": w}, st.lists(st.sampled_from(WORDS), min_size=1)),
    st.builds(lambda w: {"anything-but": {"prefix": w}}, st.sampled_from(WORDS)),
    st.builds(lambda w: {"anything-but": {"suffix": w}}, st.sampled_from(WORDS)),
    st.builds(lambda b: {"exists": b}, st.booleans()),
    st.builds(
        lambda op, n: {"numeric": [op, n]},
        st.sampled_from(["=", "<", "<=", ">", ">="]),
        st.sampled_from(NUMBERS),
    ),
    st.just({"numeric": [">", 0, "<=", 100]}),
    st.just({"cidr": "10.0.0.0/24"}),
)
single_key_policies = st.builds(
    lambda key, conditions: {key: conditions},
    st.sampled_from(KEYS),
    st.lists(conditions_json, min_size=1, max_size=3),
)


def parsed(document: dict[str, Any], scope: Scope = Scope.MESSAGE_BODY) -> FilterPolicy:
    policy = parse_filter_policy(json.dumps(document), scope)
    assert isinstance(policy, FilterPolicy), policy
    return policy


def as_message(body: dict[str, Any]) -> Message:
    return Message(body=json.dumps(body))


@given(single_key_policies, single_key_policies, bodies)
def test_or_accepts_exactly_what_one_of_its_branches_accepts(
    p: dict[str, Any], q: dict[str, Any], body: dict[str, Any]
) -> None:
    either = parsed({"$or": [p, q]})
    message = as_message(body)
    assert matches(either, message) == (matches(parsed(p), message) or matches(parsed(q), message))


@given(st.lists(st.sampled_from(WORDS), min_size=1), st.sampled_from(WORDS))
def test_anything_but_is_the_complement_on_a_present_string(
    excluded: list[str], value: str
) -> None:
    message = as_message({"a": value})
    assert matches(parsed({"a": [{"anything-but": excluded}]}), message) != matches(
        parsed({"a": excluded}), message
    )


@given(st.sampled_from(["prefix", "suffix"]), st.sampled_from(WORDS), st.sampled_from(WORDS))
def test_anything_but_prefix_and_suffix_are_complements_on_a_present_string(
    kind: str, text: str, value: str
) -> None:
    message = as_message({"a": value})
    assert matches(parsed({"a": [{"anything-but": {kind: text}}]}), message) != matches(
        parsed({"a": [{kind: text}]}), message
    )


@given(single_key_policies, bodies)
def test_exists_true_and_false_split_every_message(
    policy: dict[str, Any], body: dict[str, Any]
) -> None:
    key = next(iter(policy))
    message = as_message(body)
    assert matches(parsed({key: [{"exists": True}]}), message) != matches(
        parsed({key: [{"exists": False}]}), message
    )


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from([*KEYS, "$or"]), inner)
    ),
    max_leaves=20,
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(single_key_policies, st.dictionaries(st.sampled_from(KEYS), json_values)),
    json_values,
    st.sampled_from(list(Scope)),
)
def test_reading_and_matching_never_raise(document: Any, body: Any, scope: Scope) -> None:
    policy = parse_filter_policy(json.dumps(document), scope)
    attributes = {
        key: MessageAttribute(kind, json.dumps(body) if kind == "String.Array" else str(body))
        for key, kind in zip(KEYS, ["String", "String.Array", "Number"], strict=True)
    }
    if isinstance(policy, FilterPolicy):
        assert isinstance(matches(policy, Message(json.dumps(body), attributes)), bool)
    else:
        assert isinstance(policy, FilterPolicyError)


@given(st.text(max_size=200))
def test_any_text_reads_into_a_policy_or_an_error_value(text: str) -> None:
    assert isinstance(parse_filter_policy(text), FilterPolicy | FilterPolicyError)


conditions = st.one_of(
    st.builds(Exact, st.one_of(st.sampled_from(WORDS), st.booleans(), st.none())),
    st.builds(Exact, st.sampled_from([Decimal(-1), Decimal(0), Decimal("2.5")])),
    st.builds(Prefix, st.sampled_from(WORDS)),
    st.builds(Suffix, st.sampled_from(WORDS)),
    st.builds(EqualsIgnoreCase, st.sampled_from(WORDS)),
    st.builds(AnythingBut, st.lists(st.sampled_from(WORDS), min_size=1).map(tuple)),
    st.builds(AnythingButPrefix, st.sampled_from(WORDS)),
    st.builds(AnythingButSuffix, st.sampled_from(WORDS)),
    st.builds(Exists, st.booleans()),
    st.just(Numeric(((">", Decimal(0)), ("<=", Decimal("2.5"))))),
    st.just(Numeric((("=", Decimal(100)),))),
    st.just(Cidr("10.0.0.0/24")),
)


@given(st.lists(conditions, min_size=1, max_size=4))
def test_a_rendered_condition_reads_back_to_itself(written: list[Condition]) -> None:
    text = '{"a": [' + ", ".join(render_condition(c) for c in written) + "]}"
    policy = parse_filter_policy(text)
    assert isinstance(policy, FilterPolicy)
    assert policy.branches[0][0].conditions == tuple(written)


@given(single_key_policies, single_key_policies)
def test_the_judgment_of_a_varying_message_agrees_with_matching_each_case(
    p: dict[str, Any], q: dict[str, Any]
) -> None:
    document = {"$or": [p, q]}
    body = {"a": OneOf(("x", 1, None)), "b": ["xy", OneOf(("ab", 0))], "c": {"a": "yx"}}
    verdict = judge_delivery(json.dumps(document), Scope.MESSAGE_BODY, PossibleMessages(body))
    policy = parsed(document)
    results = [
        matches(policy, as_message({"a": a, "b": ["xy", b], "c": {"a": "yx"}}))
        for a in ("x", 1, None)
        for b in ("ab", 0)
    ]
    expected = (
        Delivery.ALL if all(results) else Delivery.NONE if not any(results) else Delivery.SOME
    )
    assert verdict.outcome is expected
    assert len(verdict.delivered_when) == (sum(results) if expected is Delivery.SOME else 0)
