"""The inventory and finding values: JSON without loss, and errors that name the field."""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.model import (
    LINKS,
    Account,
    CollectionError,
    Finding,
    Inventory,
    InventoryError,
    Link,
    LinkResult,
    LinkStatus,
    Status,
    arn_account,
    arn_region,
)
from scanner.testing import organization

# A JSON value, for ``Any`` fields (the example events of findings).
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=4,
)


def strategy(tp: Any) -> st.SearchStrategy[Any]:
    """Values of a model type, built from its type hints like the decoder reads them."""
    if tp is Any:
        return _JSON
    simple = {
        str: st.text(max_size=6),
        int: st.integers(min_value=-(2**40), max_value=2**40),
        float: st.floats(allow_nan=False, allow_infinity=False),
        bool: st.booleans(),
    }
    if tp in simple:
        return simple[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [a for a in args if a is not type(None)]
        return st.none() | strategy(inner)
    if origin is tuple:
        return st.lists(strategy(args[0]), max_size=2).map(tuple)
    if origin is dict:
        return st.dictionaries(st.text(max_size=6), strategy(args[1]), max_size=2)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    hints = typing.get_type_hints(tp)
    fields = {f.name: strategy(hints[f.name]) for f in dataclasses.fields(tp)}
    return st.builds(tp, **fields)


@settings(max_examples=60, deadline=None)
@given(strategy(Inventory))
def test_inventory_round_trips_through_json_text(inventory: Inventory) -> None:
    text = json.dumps(inventory.to_json())
    assert Inventory.from_json(json.loads(text)) == inventory


@settings(max_examples=60, deadline=None)
@given(strategy(Finding))
def test_finding_round_trips_through_json_text(finding: Finding) -> None:
    text = json.dumps(finding.to_json())
    assert Finding.from_json(json.loads(text)) == finding


def test_an_emulated_organization_round_trips_and_keeps_its_types() -> None:
    inventory = organization(2, rules=["root-account-usage"])
    again = Inventory.from_json(json.loads(json.dumps(inventory.to_json())))
    assert again == inventory
    alarm = again.accounts[0].regions["us-east-1"].alarms
    assert alarm is not None
    assert isinstance(alarm[0].threshold, float)
    assert isinstance(again.accounts[0].ou_path, tuple)


def test_json_uses_the_field_names_and_enum_values() -> None:
    result = LinkResult(Link.ALARM_CONDITION, LinkStatus.BROKEN, "arn:x", "1", None, "why")
    finding = Finding(
        "1", "a", "r", "t", "high", "recommended", Status.FAIL, "why", chain=(result,)
    )
    data = finding.to_json()
    assert data["status"] == "FAIL"
    assert data["chain"][0]["link"] == "alarm_condition"
    assert data["chain"][0]["status"] == "broken"
    assert data["broken_link"] is None


def _inventory_with_alarm(**alarm: Any) -> dict[str, Any]:
    good = {"name": "x", "arn": "arn", "comparison_operator": "GreaterThanThreshold"}
    return {
        "accounts": [
            {"id": "1", "name": "a"},
            {"id": "2", "name": "b"},
            {
                "id": "3",
                "name": "c",
                "regions": {"eu-west-1": {"alarms": [{**good, "evaluation_periods": 1, **alarm}]}},
            },
        ]
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _inventory_with_alarm(threshold="x"),
            'accounts[2].regions["eu-west-1"].alarms[0].threshold: expected a number, got "x"',
        ),
        (
            _inventory_with_alarm(evaluation_periods=True),
            'accounts[2].regions["eu-west-1"].alarms[0].evaluation_periods: '
            "expected an integer, got true",
        ),
        (
            _inventory_with_alarm(alarm_actions="arn:aws:sns:x"),
            'accounts[2].regions["eu-west-1"].alarms[0].alarm_actions: '
            'expected a list, got "arn:aws:sns:x"',
        ),
        (
            _inventory_with_alarm(threshhold=1),
            'accounts[2].regions["eu-west-1"].alarms[0].threshhold: unknown field',
        ),
        ({"accounts": [{"id": "1"}]}, "accounts[0].name: missing"),
        ({"accounts": {"id": "1"}}, 'accounts: expected a list, got {"id": "1"}'),
        ([], "<top>: expected an object, got []"),
        (
            {"accounts": [{"id": "1", "name": "a", "regions": {"us-east-1": {"trails": 3}}}]},
            'accounts[0].regions["us-east-1"].trails: expected a list, got 3',
        ),
        (
            {"accounts": [{"id": "1", "name": "a", "error": {"service": "sts"}}]},
            "accounts[0].error.operation: missing",
        ),
    ],
)
def test_invalid_inventory_names_the_field(data: object, message: str) -> None:
    with pytest.raises(InventoryError) as raised:
        Inventory.from_json(data)
    assert str(raised.value) == message
    assert isinstance(raised.value, ValueError)


def test_invalid_finding_names_the_allowed_values() -> None:
    data = Finding("1", "a", "r", "t", "high", "p", Status.PASS, "ok").to_json()
    data["status"] = "WARN"
    with pytest.raises(InventoryError, match=r'^status: expected one of "PASS", "FAIL", "ERROR"'):
        Finding.from_json(data)


def test_null_is_accepted_only_where_the_datum_may_be_unknown() -> None:
    base = {"name": "t", "arn": "arn:aws:cloudtrail:us-east-1:1:trail/t"}
    trail = {**base, "home_region": "us-east-1", "is_multi_region": True, "is_logging": None}
    region = {"trails": [trail], "alarms": None}
    inventory = Inventory.from_json(
        {"accounts": [{"id": "1", "name": "a", "regions": {"r": region}}]}
    )
    assert inventory.accounts[0].regions["r"].alarms is None
    trail["is_multi_region"] = None
    with pytest.raises(InventoryError, match=r"is_multi_region: expected a boolean, got null"):
        Inventory.from_json({"accounts": [{"id": "1", "name": "a", "regions": {"r": region}}]})


def test_links_table_lists_every_link_once_in_chain_order() -> None:
    assert [spec.link for spec in LINKS] == list(Link)
    assert [link.position for link in Link] == list(range(len(LINKS)))
    assert all(spec.checks and spec.failure_means for spec in LINKS)


def test_account_lookups_find_the_first_of_an_id_and_follow_a_replaced_inventory() -> None:
    first, second, other = Account("1", "first"), Account("1", "second"), Account("2", "other")
    inventory = Inventory(accounts=(first, second, other), reported_accounts=("2",))
    assert inventory.account("1") is first
    assert inventory.account("2") is other
    assert inventory.account("3") is None
    assert not inventory.reported("1") and inventory.reported("2")
    # The indexes are no fields: equality, JSON and replace() see the accounts only.
    assert inventory == Inventory(accounts=(first, second, other), reported_accounts=("2",))
    assert "_by_id" not in inventory.to_json()
    replaced = dataclasses.replace(inventory, accounts=(other,), reported_accounts=None)
    assert replaced.account("1") is None and replaced.reported("1")
    assert inventory.account("1") is first


def test_error_for_prefers_the_resource_then_the_region() -> None:
    on_trail = CollectionError(
        "cloudtrail", "GetTrailStatus", "AccessDenied", "no", "eu-west-1", "t"
    )
    in_region = CollectionError("cloudtrail", "GetTrailStatus", "Throttling", "slow", "eu-west-1")
    elsewhere = CollectionError("cloudtrail", "GetTrailStatus", "Throttling", "slow", "us-east-1")
    other = CollectionError("logs", "DescribeMetricFilters", "AccessDenied", "no", "eu-west-1")
    account = Account("1", "a", errors=(elsewhere, other, in_region, on_trail))
    assert account.error_for("cloudtrail", ("GetTrailStatus",), "eu-west-1", "t") is on_trail
    assert account.error_for("cloudtrail", ("GetTrailStatus",), "eu-west-1", "u") is in_region
    assert account.error_for("cloudtrail", ("GetTrailStatus",), "ap-south-1") is elsewhere
    assert account.error_for("sns", ("ListTopics",), "eu-west-1") is None


def test_collection_error_describes_the_call() -> None:
    error = CollectionError(
        "sns", "GetTopicAttributes", "AuthorizationError", "denied", "us-east-1", "arn:t"
    )
    assert error.describe() == (
        "sns GetTopicAttributes on arn:t in us-east-1 failed: AuthorizationError: denied"
    )


def test_arn_helpers() -> None:
    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:aws-cloudtrail:*"
    assert arn_account(arn) == "123456789012"
    assert arn_region(arn) == "eu-west-1"
    assert arn_account("not-an-arn") == ""
