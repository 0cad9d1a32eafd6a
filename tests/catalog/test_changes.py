"""The change events: every read of every link has writes that can change it, and the pattern
that forwards them from the member accounts matches each of them and none of the reads.

The collector's reads are derived from scanner/aws/*.py the way the IAM test derives them
(``deploy.test_iam.OPERATIONS``), and the evaluator's reads per datum from
``scanner.evaluate.CALLS``: a new read in either fails here until the catalog says which writes
change it.
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Iterator
from importlib import resources
from typing import Any

import botocore.session
import pytest
from deploy.test_iam import OPERATIONS

from scanner.catalog import (
    API_CALL,
    SERVICE_EVENT,
    CatalogError,
    ChangeEvent,
    Read,
    build_catalog,
    build_changes,
    event_pattern,
    load_catalog,
    load_changes,
)
from scanner.evaluate import CALLS
from scanner.model import LINKS, Link
from scanner.policy.filters import FilterPolicy, Scope, matches_body, parse_filter_policy

# The evaluator's kinds of datum (scanner.evaluate.CALLS) and the link each one's reads decide.
KIND_LINK = {
    "trails": Link.TRAIL,
    "logging": Link.LOGGING,
    "selectors": Link.SELECTORS,
    "log_group": Link.LOG_GROUP,
    "filters": Link.FILTER,
    "alarms": Link.ALARM,
    "topic": Link.TOPIC,
    "subscriptions": Link.SUBSCRIBER,
    "topic_access": Link.TOPIC_POLICY,
    "key": Link.TOPIC_KEY,
    "subscription_filter": Link.DELIVERY,
}
# Reads of the collector that no link rests on: the organization listing and entering accounts
# (scope "organization" covers the listing), the daemon's own change-event queue (sqs), and the
# confirmation's reads (scan --confirm), which look at the past, not at configuration.
NOT_LINK_SERVICES = frozenset({"organizations", "sts", "sqs"})
CONFIRM_ONLY = frozenset(
    {Read("cloudwatch", "DescribeAlarmHistory"), Read("logs", "TestMetricFilter")}
)
# The organization's root and its own description never change while it exists.
FIXED_FOR_LIFE = frozenset(
    {Read("organizations", "ListRoots"), Read("organizations", "DescribeOrganization")}
)
# botocore client name of each eventSource, to read the service's API model.
CLIENTS = {
    "cloudtrail.amazonaws.com": "cloudtrail",
    "logs.amazonaws.com": "logs",
    "monitoring.amazonaws.com": "cloudwatch",
    "sns.amazonaws.com": "sns",
    "kms.amazonaws.com": "kms",
    "organizations.amazonaws.com": "organizations",
    "events.amazonaws.com": "events",
}


def raw_data() -> dict[str, Any]:
    text = resources.files("scanner.catalog").joinpath("changes.toml").read_text("utf-8")
    return tomllib.loads(text)


def writes_of(read: Read) -> set[str]:
    return {event.name for event in load_changes().events if read in event.reads}


# ------------------------------------------------------------------------------ the reads


def test_every_link_rests_on_reads_and_every_read_has_writes_that_change_it() -> None:
    changes = load_changes()
    for spec in LINKS:
        reads = changes.link_reads[spec.link]
        assert reads, spec.link
        for read in reads:
            assert writes_of(read), f"{spec.link}: nothing announces a change to {read}"
        assert changes.affecting(spec.link), spec.link


def test_the_reads_a_user_would_expect_have_their_writes() -> None:
    assert {"PutMetricAlarm", "DeleteAlarms", "DisableAlarmActions", "SetAlarmState"} <= (
        writes_of(Read("cloudwatch", "DescribeAlarms"))
    )
    assert {"StartLogging", "StopLogging"} <= writes_of(Read("cloudtrail", "GetTrailStatus"))
    assert {"PutMetricFilter", "DeleteMetricFilter", "DeleteLogGroup"} <= writes_of(
        Read("logs", "DescribeMetricFilters")
    )
    assert {"Subscribe", "Unsubscribe", "DeleteTopic"} <= writes_of(
        Read("sns", "ListSubscriptionsByTopic")
    )
    assert {"DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "UpdateAlias"} <= writes_of(
        Read("kms", "DescribeKey")
    ) | writes_of(Read("kms", "GetKeyPolicy"))
    stop = load_changes().find("cloudtrail.amazonaws.com", "StopLogging")
    assert stop is not None and stop.links == (Link.LOGGING,)
    assert stop.reads == (Read("cloudtrail", "GetTrailStatus"),)


def test_the_links_read_exactly_what_the_collector_reads() -> None:
    collected = {Read(service, operation) for service, operation in OPERATIONS}
    linked = {read for reads in load_changes().link_reads.values() for read in reads}
    expected = {r for r in collected if r.service not in NOT_LINK_SERVICES} - CONFIRM_ONLY
    assert linked == expected
    assert collected >= CONFIRM_ONLY  # the exemption names real calls


def test_the_links_read_what_the_evaluator_says_each_datum_needs() -> None:
    assert set(KIND_LINK) == set(CALLS)
    link_reads = load_changes().link_reads
    for kind, (service, operations) in CALLS.items():
        for operation in operations:
            assert Read(service, operation) in link_reads[KIND_LINK[kind]], (kind, operation)


def test_the_organization_listing_is_redone_when_accounts_come_go_or_move() -> None:
    changes = load_changes()
    listing = {Read(s, o) for s, o in OPERATIONS if s == "organizations"} - FIXED_FOR_LIFE
    redone = {read for e in changes.events if e.scope == "organization" for read in e.reads}
    assert redone == listing
    names = {e.name for e in changes.events if e.scope == "organization"}
    assert {"CreateAccountResult", "MoveAccount", "RemoveAccountFromOrganization"} <= names
    assert {Read(s, o) for s, o in OPERATIONS} >= FIXED_FOR_LIFE


def test_chain_events_redo_their_links_reads_and_forwarding_events_none() -> None:
    changes = load_changes()
    for event in changes.events:
        if event.scope == "chain":
            assert event.links
            expected = {read for link in event.links for read in changes.link_reads[link]}
            assert set(event.reads) == expected, event.name
        elif event.scope == "forwarding":
            assert event.reads == () and event.links == ()
            assert event.event_source == "events.amazonaws.com"


def test_global_service_events_arrive_in_us_east_1_only() -> None:
    for event in load_changes().events:
        if event.event_source == "organizations.amazonaws.com":
            assert event.arrives_in == "us-east-1"
        else:
            assert event.arrives_in is None, event.name
    result = load_changes().find("organizations.amazonaws.com", "CreateAccountResult")
    assert result is not None and result.detail_type == SERVICE_EVENT


# ------------------------------------------------------------------------------ the records


def _input_members(client: str, operation: str, output: bool) -> set[str]:
    model = botocore.session.get_session().get_service_model(client)
    shape = model.operation_model(operation)
    found = shape.output_shape if output else shape.input_shape
    assert found is not None, (client, operation)
    return {name[:1].lower() + name[1:] for name in found.members}


def test_resource_paths_name_members_of_each_calls_request_or_response() -> None:
    """CloudTrail records an API call's parameters under requestParameters by the API's own
    member names, lowerCamelCase: a misspelt path would find nothing in a real record."""
    for event in load_changes().events:
        if event.detail_type != API_CALL:
            continue
        for path in event.resource:
            part, _, member = path.partition(".")
            if part == "userIdentity":
                assert member == "accountId"
                continue
            client = CLIENTS[event.event_source]
            members = _input_members(client, event.name, output=part == "responseElements")
            assert part in {"requestParameters", "responseElements"}, path
            assert member in members, (event.name, path)


def test_an_event_names_what_changed() -> None:
    changes = load_changes()
    delete = changes.find("monitoring.amazonaws.com", "DeleteAlarms")
    assert delete is not None
    names = {"requestParameters": {"alarmNames": ["cis-root-usage", "cis-iam-changes"]}}
    assert delete.resources(names) == ("cis-root-usage", "cis-iam-changes")
    create = changes.find("sns.amazonaws.com", "CreateTopic")
    assert create is not None
    arn = "arn:aws:sns:eu-west-1:111111111111:alarms"
    detail = {"requestParameters": {"name": "alarms"}, "responseElements": {"topicArn": arn}}
    assert create.resources(detail) == (arn, "alarms")
    assert create.resources({}) == ()


# ------------------------------------------------------------------------------ the pattern


def envelope(event_source: str, name: str, detail_type: str = API_CALL) -> dict[str, Any]:
    """An EventBridge event as the central queue receives it."""
    service = CLIENTS.get(event_source, event_source.split(".", maxsplit=1)[0])
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": detail_type,
        "source": f"aws.{service}",
        "account": "111111111111",
        "time": "2026-12-07T06:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "eventSource": event_source,
            "eventName": name,
            "awsRegion": "eu-west-1",
            "requestParameters": {},
        },
    }


def _single_keys(pattern: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[Any]:
    for key, value in pattern.items():
        if isinstance(value, dict):
            yield from _single_keys(value, (*path, key))
        else:
            leaf: Any = {key: value}
            for outer in reversed(path):
                leaf = {outer: leaf}
            yield leaf


def pattern_accepts(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's judgment, by the SNS filter-policy matcher (scanner.policy.filters): the
    pattern ANDs its keys, and each key alone is a body-scope filter policy. The whole pattern is
    not one: it multiplies out to thousands of combinations, SNS allows 150."""
    for leaf in _single_keys(pattern):
        policy = parse_filter_policy(json.dumps(leaf), Scope.MESSAGE_BODY)
        assert isinstance(policy, FilterPolicy), policy
        if not matches_body(policy, event):
            return False
    return True


def test_the_pattern_has_the_shape_eventbridge_documents() -> None:
    pattern = load_changes().pattern()
    assert set(pattern) == {"detail-type", "source", "detail"}
    assert pattern["detail-type"] == [API_CALL, SERVICE_EVENT]
    assert set(pattern["detail"]) == {"eventSource", "eventName"}
    assert "aws.cloudwatch" in pattern["source"]
    assert "monitoring.amazonaws.com" in pattern["detail"]["eventSource"]
    # EventBridge refuses a pattern longer than PutRule allows.
    model = botocore.session.get_session().get_service_model("events")
    limit = model.operation_model("PutRule").input_shape.members["EventPattern"].metadata["max"]
    assert len(json.dumps(pattern)) <= limit


def test_the_pattern_matches_every_catalog_event() -> None:
    changes = load_changes()
    pattern = changes.pattern()
    for event in changes.events:
        sample = envelope(event.event_source, event.name, event.detail_type)
        assert sample["source"] == event.source
        assert pattern_accepts(pattern, sample), event.name
        assert changes.classify(sample) is event


def test_the_pattern_matches_no_read_and_no_other_service() -> None:
    changes = load_changes()
    pattern = changes.pattern()
    reads = {read for reads in changes.link_reads.values() for read in reads}
    sources = {client: source for source, client in CLIENTS.items()}
    for read in reads:
        sample = envelope(sources[read.service], read.operation)
        assert not pattern_accepts(pattern, sample), read
        assert changes.classify(sample) is None
    assert not pattern_accepts(pattern, envelope("iam.amazonaws.com", "DeleteRole"))
    console = envelope("signin.amazonaws.com", "ConsoleLogin", "AWS Console Signin via CloudTrail")
    assert not pattern_accepts(pattern, console)
    # An API call named like a service event is not that event.
    wrong_kind = envelope("organizations.amazonaws.com", "CreateAccountResult", API_CALL)
    assert changes.classify(wrong_kind) is None


def test_the_pattern_lists_each_value_once_in_catalog_order() -> None:
    events = load_changes().events
    pattern = event_pattern(events[:2] + events[:1])
    assert pattern["detail"]["eventName"] == [events[0].name, events[1].name]
    assert pattern["source"] == ["aws.cloudtrail"]


# ------------------------------------------------------------------------------ the catalog


def test_the_rule_catalog_carries_the_change_events() -> None:
    catalog = load_catalog()
    assert catalog.change_events == load_changes().events
    assert catalog.changes.forwarding_rule == "cloudtrail-monitoring-scanner-changes"
    assert all(isinstance(event, ChangeEvent) for event in catalog.change_events)
    rules = tomllib.loads(
        resources.files("scanner.catalog").joinpath("rules.toml").read_text("utf-8")
    )
    smaller = build_changes({**raw_data()})
    assert build_catalog(rules, smaller).changes is smaller


def _mutated(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(raw_data())
    change(data)
    return data


def _event(data: dict[str, Any], source: str, name: str) -> dict[str, Any]:
    service = next(s for s in data["service"] if s["event_source"] == source)
    found: dict[str, Any] = next(e for e in service["event"] if e["name"] == name)
    return found


def _drop_alarm_writes(data: dict[str, Any]) -> None:
    service = next(s for s in data["service"] if s["event_source"] == "monitoring.amazonaws.com")
    data["service"].remove(service)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: _event(d, "logs.amazonaws.com", "PutMetricFilter").update(links=["filtre"]),
            "unknown link 'filtre'",
        ),
        (
            lambda d: _event(d, "logs.amazonaws.com", "PutMetricFilter").update(links=[]),
            "a chain event changes at least one link",
        ),
        (
            lambda d: _event(d, "kms.amazonaws.com", "EnableKey").update(scope="sometimes"),
            "expected one of chain, organization, forwarding",
        ),
        (
            lambda d: _event(d, "kms.amazonaws.com", "EnableKey").update(linkz=["topic_key"]),
            "'linkz': unknown field",
        ),
        (
            lambda d: _event(d, "kms.amazonaws.com", "EnableKey").update(reads=["kms:DescribeKey"]),
            "a chain event's reads are its links' reads",
        ),
        (
            lambda d: d["reads"].update(alarm=["cloudwatch describe alarms"]),
            "is not '<client>:<Operation>'",
        ),
        (lambda d: d["reads"].update(delivery=[]), "every link rests on some read"),
        (_drop_alarm_writes, "no event redoes cloudwatch:DescribeAlarms"),
        (
            lambda d: d["service"][0]["event"].append(dict(d["service"][0]["event"][0])),
            "listed twice",
        ),
        (lambda d: d["service"][0].update(source="cloudtrail"), "expected EventBridge's"),
        (lambda d: d["service"][0].update(arrives_in="global"), "'global' is not a region"),
    ],
)
def test_a_mistake_in_the_data_is_refused_with_where_it_is(change: Any, message: str) -> None:
    with pytest.raises(CatalogError, match=r"changes\.toml") as caught:
        build_changes(_mutated(change))
    assert message in str(caught.value)
