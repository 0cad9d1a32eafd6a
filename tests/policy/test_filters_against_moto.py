"""Our matcher against moto's ``FilterPolicyMatcher``, where both implement the same semantics.

The generated policies keep to what moto gets right: one condition per key (moto stops at the
first condition that needs a present key, so ``["x", {"exists": false}]`` never matches an
absent key there, while the guide says it does), no ``$or`` in body scope (moto reads it as a
key), ``equals-ignore-case`` with lower-case operands only (moto lower-cases the message value
but not the policy's, while the guide says the comparison ignores case on both sides), and
string values only (moto's ``prefix`` and ``numeric`` raise on values of the other type).
Within that, every generated message must get the same answer from both.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from moto.sns.utils import FilterPolicyMatcher

from scanner.policy import (
    FilterPolicy,
    Message,
    MessageAttribute,
    Scope,
    matches,
    parse_filter_policy,
)

KEYS = ["a", "b"]
WORDS = ["", "x", "xy", "yx", "X", "ab", "b"]
LOWER = [w for w in WORDS if w == w.lower()]

conditions = st.one_of(
    st.sampled_from(WORDS),
    st.builds(lambda w: {"prefix": w}, st.sampled_from(WORDS)),
    st.builds(lambda w: {"suffix": w}, st.sampled_from(WORDS)),
    st.builds(lambda w: {"equals-ignore-case": w}, st.sampled_from(LOWER)),
    st.builds(lambda w: {"anything-but": w}, st.lists(st.sampled_from(WORDS), min_size=1)),
    st.builds(lambda w: {"anything-but": {"prefix": w}}, st.sampled_from(WORDS)),
    st.builds(lambda b: {"exists": b}, st.booleans()),
)
policies = st.dictionaries(st.sampled_from(KEYS), conditions.map(lambda c: [c]), min_size=1)
messages = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(WORDS))


def ours(document: dict[str, Any], scope: Scope, message: Message) -> bool:
    policy = parse_filter_policy(json.dumps(document), scope)
    assert isinstance(policy, FilterPolicy)
    return matches(policy, message)


@settings(max_examples=300)
@given(policies, messages)
def test_attribute_scope_agrees_with_moto(document: dict[str, Any], values: dict[str, str]) -> None:
    attributes = {k: {"Type": "String", "Value": v} for k, v in values.items()}
    theirs = FilterPolicyMatcher(document, "MessageAttributes").matches(attributes, "{}")
    message = Message("{}", {k: MessageAttribute("String", v) for k, v in values.items()})
    assert ours(document, Scope.MESSAGE_ATTRIBUTES, message) == theirs


@settings(max_examples=300)
@given(policies, messages)
def test_body_scope_agrees_with_moto(document: dict[str, Any], values: dict[str, str]) -> None:
    text = json.dumps(values)
    theirs = FilterPolicyMatcher(document, "MessageBody").matches(None, text)
    assert ours(document, Scope.MESSAGE_BODY, Message(text)) == theirs


def test_where_moto_departs_from_the_guide() -> None:
    """The divergences the generator avoids, pinned so a moto upgrade that fixes them shows."""
    absent_or = {"a": [{"anything-but": "x"}, {"exists": False}]}
    assert ours(absent_or, Scope.MESSAGE_BODY, Message("{}"))  # the guide: combine to allow absence
    assert not FilterPolicyMatcher(absent_or, "MessageBody").matches(None, "{}")
    ignore_case = {"a": [{"equals-ignore-case": "X"}]}
    assert ours(ignore_case, Scope.MESSAGE_BODY, Message('{"a": "x"}'))
    assert not FilterPolicyMatcher(ignore_case, "MessageBody").matches(None, '{"a": "x"}')
