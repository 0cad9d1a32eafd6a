"""Property tests: random policies and requests never contradict IAM's order of decision, and an
unknown is never guessed."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from scanner.policy import Context, Decision, Outcome, Request, evaluate

TOPIC = "arn:aws:sns:us-east-1:111111111111:alerts"
ALARM = "arn:aws:cloudwatch:us-east-1:111111111111:alarm:a"
KEYS = ["aws:SourceAccount", "AWS:SourceArn", "aws:PrincipalOrgID", "aws:CalledVia"]
VALUES = ["111111111111", "222222222222", ALARM, "o-abcdefghij", "*", "1111*", "true", "false"]
VALUES_WITH_VARIABLES = [
    *VALUES,
    "${aws:SourceAccount}",
    "arn:aws:cloudwatch:*:${aws:sourceaccount}:*",
]
OPERATORS = [
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringEqualsIgnoreCase",
    "ArnLike",
    "ArnNotEquals",
    "StringEqualsIfExists",
    "StringNotEqualsIfExists",
    "ForAnyValue:StringEquals",
    "ForAllValues:StringLike",
    "ForAnyValue:StringNotEquals",
    "Bool",
    "IpAddress",
]
PRINCIPALS: list[Any] = [
    "*",
    "*",
    {"AWS": "*"},
    {"Service": "cloudwatch.amazonaws.com"},
    {"Service": "events.amazonaws.com"},
    {"AWS": "111111111111"},
    {"AWS": ["arn:aws:iam::222222222222:root", "arn:aws:iam::111111111111:role/r"]},
]
ACTIONS = ["sns:Publish", "SNS:publish", "sns:*", "*", "sns:Subscribe", "sns:Pub?ish"]
RESOURCES = [TOPIC, "*", "arn:aws:sns:*:222222222222:*", "arn:aws:sns:*:${aws:SourceAccount}:*"]

values = st.sampled_from(VALUES_WITH_VARIABLES)
condition_entries = st.dictionaries(
    st.sampled_from(KEYS), values | st.lists(values, min_size=1, max_size=3), min_size=1, max_size=2
)
null_entries = st.dictionaries(
    st.sampled_from(KEYS), st.sampled_from(["true", "false"]), min_size=1, max_size=2
)
conditions = st.dictionaries(
    st.sampled_from(OPERATORS), condition_entries, max_size=2
) | st.fixed_dictionaries({"Null": null_entries})


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    statement["NotPrincipal" if draw(st.booleans()) and draw(st.booleans()) else "Principal"] = (
        draw(st.sampled_from(PRINCIPALS))
    )
    statement["NotAction" if draw(st.integers(0, 4)) == 0 else "Action"] = draw(
        st.sampled_from(ACTIONS) | st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3)
    )
    statement["NotResource" if draw(st.integers(0, 4)) == 0 else "Resource"] = draw(
        st.sampled_from(RESOURCES)
    )
    condition = draw(conditions)
    if condition:
        statement["Condition"] = condition
    if draw(st.booleans()):
        statement["Sid"] = draw(st.sampled_from(["A", "B", "DenyPublish"]))
    return statement


policies = st.lists(statements(), max_size=5).map(lambda items: {"Statement": items})
principals = st.sampled_from(
    ["cloudwatch.amazonaws.com", "111111111111", "arn:aws:iam::111111111111:role/r"]
)
actions = st.sampled_from(["sns:Publish", "sns:Subscribe"])
known_value = st.sampled_from(VALUES) | st.lists(st.sampled_from(VALUES), max_size=3)


@st.composite
def contexts(draw: st.DrawFn) -> Context:
    known: dict[str, Any] = {}
    absent: list[str] = []
    for key in KEYS:
        state = draw(st.sampled_from(["known", "absent", "unknown"]))
        if state == "known":
            known[key] = draw(known_value)
        elif state == "absent":
            absent.append(key)
    return Context.of(known, absent)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    return Request(
        draw(principals),
        draw(actions),
        TOPIC,
        draw(contexts()),
        draw(st.sampled_from([None, "111111111111", "222222222222"])),
    )


def decide(policy: dict[str, Any], request: Request) -> Decision:
    return evaluate(policy, request)


MATCHING_DENY = {"Sid": "Shut", "Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}


@given(policies, requests(), st.integers(0, 5))
def test_a_matching_deny_anywhere_gives_denied(
    policy: dict[str, Any], request: Request, position: int
) -> None:
    statements_ = list(policy["Statement"])
    statements_.insert(min(position, len(statements_)), MATCHING_DENY)
    decision = decide({"Statement": statements_}, request)
    assert decision.outcome is Outcome.DENIED
    assert decision.statement is not None


@given(policies, policies, requests())
def test_adding_statements_never_turns_denied_into_anything_else(
    policy: dict[str, Any], more: dict[str, Any], request: Request
) -> None:
    before = decide(policy, request)
    after = decide({"Statement": policy["Statement"] + more["Statement"]}, request)
    if before.outcome is Outcome.DENIED:
        assert after.outcome is Outcome.DENIED


@given(policies, st.lists(statements(), max_size=3), requests())
def test_adding_deny_statements_never_allows(
    policy: dict[str, Any], extra: list[dict[str, Any]], request: Request
) -> None:
    denies = [{**statement, "Effect": "Deny"} for statement in extra]
    before = decide(policy, request)
    after = decide({"Statement": policy["Statement"] + denies}, request)
    if before.outcome is not Outcome.ALLOWED:
        assert after.outcome is not Outcome.ALLOWED
    if after.outcome is Outcome.ALLOWED:
        assert before.outcome is Outcome.ALLOWED


@given(policies, requests(), st.randoms(use_true_random=False))
def test_the_order_of_statements_does_not_change_the_outcome(
    policy: dict[str, Any], request: Request, random: Any
) -> None:
    shuffled = list(policy["Statement"])
    random.shuffle(shuffled)
    before, after = decide(policy, request), decide({"Statement": shuffled}, request)
    assert before.outcome is after.outcome


@given(policies, requests(), st.data())
def test_a_definite_answer_holds_whatever_the_unknown_keys_turn_out_to_be(
    policy: dict[str, Any], request: Request, data: st.DataObject
) -> None:
    """Soundness of the three values: knowing more never overturns an answer given without it."""
    before = decide(policy, request)
    known = {key: tuple(value) for key, value in request.context.known.items()}
    absent = set(request.context.absent)
    for key in KEYS:
        if key.lower() not in known and key.lower() not in absent:
            if data.draw(st.booleans()):
                value = data.draw(known_value)
                known[key.lower()] = (value,) if isinstance(value, str) else tuple(value)
            else:
                absent.add(key.lower())
    completed = Request(
        request.principal,
        request.action,
        request.resource,
        Context.of(known, absent),
        request.acting_for,
    )
    after = decide(policy, completed)
    if before.outcome is not Outcome.UNDECIDED:
        assert after.outcome is before.outcome, (before, after)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
field_names = st.sampled_from(
    [
        "Statement",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "Sid",
        "AWS",
        "Service",
        "StringEquals",
        "ForAnyValue:StringLike",
        "Null",
        "aws:SourceAccount",
    ]
)
policy_shaped = st.recursive(
    json_values | st.sampled_from(["Allow", "Deny", "*", "sns:Publish", "${aws:SourceAccount}"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(field_names, inner, max_size=6),
    max_leaves=30,
)


@given(json_values | policy_shaped, requests())
def test_the_evaluator_is_total(policy: object, request: Request) -> None:
    decision = evaluate(policy, request)
    assert isinstance(decision, Decision)
    assert decision.reason
    text_decision = evaluate(json.dumps(policy), request)
    assert isinstance(text_decision, Decision)


@given(st.text(max_size=40), requests())
def test_any_text_is_a_decision(text: str, request: Request) -> None:
    assert isinstance(evaluate(text, request), Decision)
