"""The catalog's routine events: realistic, and matched by no reference of any rule."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from scanner.catalog import CatalogError, build_catalog, load_catalog
from scanner.patterns import matches


def test_no_reference_of_any_rule_matches_a_routine_event() -> None:
    catalog = load_catalog()
    assert len(catalog.routine_events) >= 5
    for rule in catalog.rules:
        for ref in rule.references:
            for routine in catalog.routine_events:
                hit = matches(ref.pattern, dict(routine.event))
                # Only texts marked broken may match one: matching nearly everything is why.
                assert not hit or ref.broken, (rule.id, ref.name, routine.name)


def test_routine_events_are_successful_read_only_calls_by_roles() -> None:
    for routine in load_catalog().routine_events:
        event = routine.event
        assert event["eventName"] == routine.name
        assert event["readOnly"] is True
        assert "errorCode" not in event
        assert event["userIdentity"]["type"] == "AssumedRole"
        assert event["eventName"] != "ConsoleLogin"
        assert not str(event["eventSource"]).startswith("ssm.")


def test_a_routine_event_that_a_reference_matches_is_a_catalog_error() -> None:
    raw = resources.files("scanner.catalog").joinpath("rules.toml").read_bytes()
    data = tomllib.loads(raw.decode("utf-8"))
    data["routine"]["events"].append(
        {"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging"}
    )
    with pytest.raises(CatalogError, match="matches the routine event StopLogging"):
        build_catalog(data)
