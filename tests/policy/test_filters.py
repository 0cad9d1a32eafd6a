"""SNS filter policies against the examples of the SNS developer guide, in both scopes.

Each case is a policy, a message (attributes as SNS shows them, or a JSON body) and whether
SNS delivers it, as the guide's "String value matching", "Numeric value matching", "Key
matching" and "AND/OR logic" pages state it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scanner.policy import (
    FilterPolicy,
    FilterPolicyError,
    Message,
    MessageAttribute,
    Scope,
    matches,
    parse_filter_policy,
    parse_scope,
)


def policy(text: str, scope: Scope = Scope.MESSAGE_ATTRIBUTES) -> FilterPolicy:
    parsed = parse_filter_policy(text, scope)
    assert isinstance(parsed, FilterPolicy), parsed
    return parsed


def attrs(**values: tuple[str, str]) -> Message:
    return Message(
        body="{}", attributes={k: MessageAttribute(t, v) for k, (t, v) in values.items()}
    )


def body(document: dict[str, Any]) -> Message:
    return Message(body=json.dumps(document))


def string(value: str) -> tuple[str, str]:
    return ("String", value)


def strings(*values: str) -> tuple[str, str]:
    return ("String.Array", json.dumps(list(values)))


def number(value: str) -> tuple[str, str]:
    return ("Number", value)


# (policy, attribute message, body message, delivered)
GUIDE_CASES: list[tuple[str, Message, Message, bool]] = [
    # exact string matching
    (
        '{"customer_interests": ["rugby", "tennis"]}',
        attrs(customer_interests=string("rugby")),
        body({"customer_interests": "rugby"}),
        True,
    ),
    (
        '{"customer_interests": ["rugby", "tennis"]}',
        attrs(customer_interests=string("tennis")),
        body({"customer_interests": "tennis"}),
        True,
    ),
    (
        '{"customer_interests": ["rugby", "tennis"]}',
        attrs(customer_interests=strings("rugby", "tennis")),
        body({"customer_interests": ["rugby", "tennis"]}),
        True,
    ),
    (
        '{"customer_interests": ["rugby", "tennis"]}',
        attrs(customer_interests=string("baseball")),
        body({"customer_interests": "baseball"}),
        False,
    ),
    (
        '{"customer_interests": ["rugby", "tennis"]}',
        attrs(customer_interests=strings("baseball")),
        body({"customer_interests": ["baseball"]}),
        False,
    ),
    # string matching is case-sensitive, and so are key names
    (
        '{"customer_interests": ["rugby"]}',
        attrs(customer_interests=string("Rugby")),
        body({"customer_interests": "Rugby"}),
        False,
    ),
    (
        '{"customer_interests": ["rugby"]}',
        attrs(Customer_Interests=string("rugby")),
        body({"Customer_Interests": "rugby"}),
        False,
    ),
    # anything-but with a list
    (
        '{"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}',
        attrs(customer_interests=string("baseball")),
        body({"customer_interests": "baseball"}),
        True,
    ),
    (
        '{"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}',
        attrs(customer_interests=string("rugby")),
        body({"customer_interests": "rugby"}),
        False,
    ),
    # anything-but with one value
    (
        '{"customer_interests": [{"anything-but": "rugby"}]}',
        attrs(customer_interests=string("football")),
        body({"customer_interests": "football"}),
        True,
    ),
    (
        '{"customer_interests": [{"anything-but": "rugby"}]}',
        attrs(customer_interests=string("rugby")),
        body({"customer_interests": "rugby"}),
        False,
    ),
    # anything-but never accepts an absent key; with exists:false it does
    (
        '{"customer_interests": [{"anything-but": "rugby"}]}',
        attrs(store=string("x")),
        body({"store": "x"}),
        False,
    ),
    (
        '{"customer_interests": [{"anything-but": "rugby"}, {"exists": false}]}',
        attrs(store=string("x")),
        body({"store": "x"}),
        True,
    ),
    # anything-but with a prefix or a suffix
    (
        '{"event": [{"anything-but": {"prefix": "order-"}}]}',
        attrs(event=string("data-entry")),
        body({"event": "data-entry"}),
        True,
    ),
    (
        '{"event": [{"anything-but": {"prefix": "order-"}}]}',
        attrs(event=string("order-cancelled")),
        body({"event": "order-cancelled"}),
        False,
    ),
    (
        '{"event": [{"anything-but": {"suffix": "ball"}}]}',
        attrs(event=string("rugby")),
        body({"event": "rugby"}),
        True,
    ),
    (
        '{"event": [{"anything-but": {"suffix": "ball"}}]}',
        attrs(event=string("baseball")),
        body({"event": "baseball"}),
        False,
    ),
    # equals-ignore-case
    (
        '{"customer_interests": [{"equals-ignore-case": "tennis"}]}',
        attrs(customer_interests=string("TENNIS")),
        body({"customer_interests": "TeNnIs"}),
        True,
    ),
    (
        '{"customer_interests": [{"equals-ignore-case": "tennis"}]}',
        attrs(customer_interests=string("rugby")),
        body({"customer_interests": "rugby"}),
        False,
    ),
    # prefix and suffix
    (
        '{"customer_interests": [{"prefix": "bas"}]}',
        attrs(customer_interests=string("basketball")),
        body({"customer_interests": "baseball"}),
        True,
    ),
    (
        '{"customer_interests": [{"prefix": "bas"}]}',
        attrs(customer_interests=string("rugby")),
        body({"customer_interests": "rugby"}),
        False,
    ),
    (
        '{"customer_interests": [{"suffix": "ball"}]}',
        attrs(customer_interests=string("baseball")),
        body({"customer_interests": "football"}),
        True,
    ),
    (
        '{"customer_interests": [{"suffix": "ball"}]}',
        attrs(customer_interests=string("rugby")),
        body({"customer_interests": "rugby"}),
        False,
    ),
    # IP address matching
    (
        '{"source_ip": [{"cidr": "10.0.0.0/24"}]}',
        attrs(source_ip=string("10.0.0.255")),
        body({"source_ip": "10.0.0.0"}),
        True,
    ),
    (
        '{"source_ip": [{"cidr": "10.0.0.0/24"}]}',
        attrs(source_ip=string("10.1.1.0")),
        body({"source_ip": "10.1.1.0"}),
        False,
    ),
    # numeric exact matching: 301.5 is 3.015e2
    (
        '{"price_usd": [{"numeric": ["=", 301.5]}]}',
        attrs(price_usd=number("3.015e2")),
        Message(body='{"price_usd": 3.015e2}'),
        True,
    ),
    ('{"price_usd": [301.5]}', attrs(price_usd=number("301.50")), body({"price_usd": 301.5}), True),
    # numeric anything-but
    (
        '{"price": [{"anything-but": [100, 500]}]}',
        attrs(price=number("100.1")),
        body({"price": 101}),
        True,
    ),
    (
        '{"price": [{"anything-but": [100, 500]}]}',
        attrs(price=number("100")),
        body({"price": 100}),
        False,
    ),
    # numeric ranges
    (
        '{"price_usd": [{"numeric": ["<", 0]}]}',
        attrs(price_usd=number("-1")),
        body({"price_usd": -0.5}),
        True,
    ),
    (
        '{"price_usd": [{"numeric": ["<", 0]}]}',
        attrs(price_usd=number("0")),
        body({"price_usd": 0}),
        False,
    ),
    (
        '{"price_usd": [{"numeric": [">", 0, "<=", 150]}]}',
        attrs(price_usd=number("150")),
        body({"price_usd": 150}),
        True,
    ),
    (
        '{"price_usd": [{"numeric": [">", 0, "<=", 150]}]}',
        attrs(price_usd=number("150.01")),
        body({"price_usd": 0}),
        False,
    ),
    # a numeric condition never matches a string, a string never a number
    (
        '{"price_usd": [{"numeric": [">", 0]}]}',
        attrs(price_usd=string("5")),
        body({"price_usd": "5"}),
        False,
    ),
    ('{"price_usd": ["100"]}', attrs(price_usd=number("100")), body({"price_usd": 100}), False),
    # key matching
    (
        '{"store": [{"exists": true}]}',
        attrs(store=string("fans"), customer_interests=strings("baseball", "basketball")),
        body({"store": "fans", "customer_interests": ["baseball", "basketball"]}),
        True,
    ),
    (
        '{"store": [{"exists": true}]}',
        attrs(customer_interests=strings("baseball", "basketball")),
        body({"customer_interests": ["baseball", "basketball"]}),
        False,
    ),
    ('{"store": [{"exists": false}]}', attrs(store=string("fans")), body({"store": "fans"}), False),
    (
        '{"store": [{"exists": false}]}',
        attrs(customer_interests=strings("baseball", "basketball")),
        body({"customer_interests": ["baseball", "basketball"]}),
        True,
    ),
    # a message with no attributes at all lacks every key
    ('{"store": [{"exists": false}]}', attrs(), body({}), True),
    ('{"store": [{"exists": true}]}', attrs(), body({}), False),
    # AND across keys, OR within a key's list
    (
        '{"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]}',
        attrs(customer_interests=string("rugby"), price_usd=number("210.75")),
        body({"customer_interests": "rugby", "price_usd": 210.75}),
        True,
    ),
    (
        '{"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]}',
        attrs(customer_interests=string("rugby"), price_usd=number("99")),
        body({"customer_interests": "rugby", "price_usd": 99}),
        False,
    ),
    # $or across keys
    (
        '{"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]},'
        ' {"namespace": ["AWS/EC2"]}]}',
        attrs(source=string("aws.cloudwatch"), namespace=string("AWS/EC2")),
        body({"source": "aws.cloudwatch", "namespace": "AWS/EC2"}),
        True,
    ),
    (
        '{"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]},'
        ' {"namespace": ["AWS/EC2"]}]}',
        attrs(source=string("aws.cloudwatch"), namespace=string("AWS/RDS")),
        body({"source": "aws.cloudwatch", "namespace": "AWS/RDS"}),
        False,
    ),
]


@pytest.mark.parametrize(("text", "attribute_message", "body_message", "delivered"), GUIDE_CASES)
def test_the_guide_s_examples_in_attribute_scope(
    text: str, attribute_message: Message, body_message: Message, delivered: bool
) -> None:
    assert matches(policy(text), attribute_message) is delivered


@pytest.mark.parametrize(("text", "attribute_message", "body_message", "delivered"), GUIDE_CASES)
def test_the_guide_s_examples_in_body_scope(
    text: str, attribute_message: Message, body_message: Message, delivered: bool
) -> None:
    assert matches(policy(text, Scope.MESSAGE_BODY), body_message) is delivered


def test_a_body_array_is_accepted_when_one_element_is() -> None:
    anything_but = policy(
        '{"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}', Scope.MESSAGE_BODY
    )
    assert matches(anything_but, body({"customer_interests": ["rugby", "baseball"]}))
    assert not matches(anything_but, body({"customer_interests": ["rugby", "tennis"]}))


def test_a_string_array_attribute_passes_anything_but_only_when_no_element_is_listed() -> None:
    anything_but = policy('{"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}')
    assert matches(anything_but, attrs(customer_interests=strings("baseball", "football")))
    assert not matches(anything_but, attrs(customer_interests=strings("rugby", "baseball")))


def test_nested_keys_reach_into_the_body_and_through_arrays_of_objects() -> None:
    nested = policy(
        '{"Records": {"eventName": [{"prefix": "ObjectCreated:"}]}}', Scope.MESSAGE_BODY
    )
    records = {
        "Records": [{"eventName": "ObjectRemoved:Delete"}, {"eventName": "ObjectCreated:Put"}]
    }
    assert matches(nested, body(records))
    assert not matches(nested, body({"Records": [{"eventName": "ObjectRemoved:Delete"}]}))
    assert not matches(nested, body({"eventName": "ObjectCreated:Put"}))


def test_exists_looks_at_leaves_only() -> None:
    exists = policy('{"Trigger": [{"exists": true}]}', Scope.MESSAGE_BODY)
    assert not matches(exists, body({"Trigger": {"Namespace": "CISBenchmark"}}))
    assert matches(exists, body({"Trigger": None}))


def test_a_body_that_is_not_a_json_object_is_never_delivered() -> None:
    anything = policy('{"a": [{"exists": false}]}', Scope.MESSAGE_BODY)
    assert not matches(anything, Message(body="plain text"))
    assert not matches(anything, Message(body="[1, 2]"))
    assert matches(anything, Message(body="{}"))


def test_binary_attributes_are_ignored() -> None:
    exists = policy('{"blob": [{"exists": true}]}')
    assert not matches(exists, attrs(blob=("Binary", "AAEC")))


def test_null_and_booleans_match_only_themselves_in_the_body() -> None:
    literal = policy('{"flag": [true], "gone": [null]}', Scope.MESSAGE_BODY)
    assert matches(literal, body({"flag": True, "gone": None}))
    assert not matches(literal, body({"flag": "true", "gone": None}))
    assert not matches(literal, body({"flag": True}))


def test_no_policy_delivers_everything() -> None:
    assert matches(None, Message(body="not even json"))


@pytest.mark.parametrize(
    ("text", "scope", "complaint"),
    [
        ("not json", Scope.MESSAGE_ATTRIBUTES, "not valid JSON"),
        ('["a"]', Scope.MESSAGE_ATTRIBUTES, "must be a JSON object"),
        ('{"a": "b"}', Scope.MESSAGE_ATTRIBUTES, "must be an object or an array"),
        ('{"a": []}', Scope.MESSAGE_ATTRIBUTES, "empty arrays"),
        ('{"a": {"b": ["c"]}}', Scope.MESSAGE_ATTRIBUTES, "does not support nesting"),
        (
            '{"a": [1], "b": [1], "c": [1], "d": [1], "e": [1], "f": [1]}',
            Scope.MESSAGE_ATTRIBUTES,
            "at most 5",
        ),
        ('{"a": [{"wildcard": "x*"}]}', Scope.MESSAGE_ATTRIBUTES, "unrecognized match type"),
        ('{"a": [{"prefix": 1}]}', Scope.MESSAGE_ATTRIBUTES, "must be a string"),
        ('{"a": [{"exists": "yes"}]}', Scope.MESSAGE_ATTRIBUTES, "true or false"),
        ('{"a": [{"prefix": "x", "suffix": "y"}]}', Scope.MESSAGE_ATTRIBUTES, "only one key"),
        ('{"a": [{"numeric": ["<", "5"]}]}', Scope.MESSAGE_ATTRIBUTES, "must be numeric"),
        ('{"a": [{"numeric": ["!=", 5]}]}', Scope.MESSAGE_ATTRIBUTES, "operator"),
        ('{"a": [{"numeric": [">", 5, "<", 1]}]}', Scope.MESSAGE_ATTRIBUTES, "bottom"),
        ('{"a": [{"numeric": ["<", 5, ">", 1]}]}', Scope.MESSAGE_ATTRIBUTES, "lower bound"),
        ('{"a": [{"numeric": [">", 1, "<", 5, "<", 6]}]}', Scope.MESSAGE_ATTRIBUTES, "numeric"),
        (
            '{"a": [{"anything-but": {"wildcard": "x"}}]}',
            Scope.MESSAGE_ATTRIBUTES,
            "unsupported anything-but",
        ),
        ('{"a": [{"anything-but": []}]}', Scope.MESSAGE_ATTRIBUTES, "at least one"),
        ('{"a": [{"cidr": "10.0.0.300/24"}]}', Scope.MESSAGE_ATTRIBUTES, "CIDR"),
        ('{"a": [[1]]}', Scope.MESSAGE_ATTRIBUTES, "match value"),
        ('{"$or": []}', Scope.MESSAGE_ATTRIBUTES, "at least one object"),
        ('{"$or": [["a"]]}', Scope.MESSAGE_ATTRIBUTES, "non-empty object"),
        ('{"a": [NaN]}', Scope.MESSAGE_ATTRIBUTES, "not valid JSON"),
        (
            '{"a": '
            + json.dumps([str(i) for i in range(11)])
            + ', "b": '
            + json.dumps([str(i) for i in range(14)])
            + "}",
            Scope.MESSAGE_ATTRIBUTES,
            "at most 150",
        ),
    ],
)
def test_a_policy_sns_would_refuse_is_an_error_value_naming_the_problem(
    text: str, scope: Scope, complaint: str
) -> None:
    parsed = parse_filter_policy(text, scope)
    assert isinstance(parsed, FilterPolicyError)
    assert complaint in str(parsed)


def test_nesting_is_fine_in_body_scope_and_the_scope_reads_from_its_attribute_text() -> None:
    assert isinstance(parse_filter_policy('{"a": {"b": ["c"]}}', "MessageBody"), FilterPolicy)
    assert parse_scope(None) is Scope.MESSAGE_ATTRIBUTES
    assert parse_scope("MessageBody") is Scope.MESSAGE_BODY
    assert isinstance(parse_scope("Body"), FilterPolicyError)
    assert isinstance(parse_filter_policy('{"a": ["b"]}', "Body"), FilterPolicyError)


def test_a_policy_that_nests_beyond_what_python_reads_is_an_error_not_a_crash() -> None:
    deep = '{"a":' * 30_000 + '["x"]' + "}" * 30_000  # under 256 KB, deeper than Python reads
    assert isinstance(parse_filter_policy(deep, Scope.MESSAGE_BODY), FilterPolicyError)
    too_big = '{"a": [' + ", ".join(['"x"'] * 70_000) + "]}"
    assert "256 KB" in str(parse_filter_policy(too_big))
