"""Which CloudTrail events can change which link of a monitoring chain: a table, pure data.

The daemon's event consumer (:mod:`scanner.daemon.events`) asks :func:`links_for` what an event
may have broken or repaired, and re-reads only that. The table is keyed by the event's source
and name as CloudTrail writes them (``detail.eventSource``, ``detail.eventName``); an event that
is absent from it is not ours to act on (``None``), while an empty set would mean "known, changes
nothing". The interface is deliberately narrow: when the rules catalog grows its own event
catalog, ``links_for`` becomes a view of it and nothing else moves.

Two families are not links of one account's chain and have their own sets:

* :data:`ORGANIZATION_EVENTS`: the organization's membership changed (an account created,
  invited and accepted, moved between OUs, removed): the account listing must be refreshed.
* :data:`FORWARDING_EVENTS`: someone removed or disabled the EventBridge rule (or its target)
  that forwards an account's events to the scanner: from then on that account is silent, and
  only the scheduled scan still sees it.
"""

from __future__ import annotations

from collections.abc import Mapping

from scanner.model import Link

_TRAIL = "cloudtrail.amazonaws.com"
_LOGS = "logs.amazonaws.com"
_CLOUDWATCH = "monitoring.amazonaws.com"
_SNS = "sns.amazonaws.com"
_KMS = "kms.amazonaws.com"
_ORGANIZATIONS = "organizations.amazonaws.com"
_EVENTS = "events.amazonaws.com"

_TRAIL_SHAPE = frozenset({Link.TRAIL, Link.LOGGING, Link.SELECTORS, Link.LOG_GROUP})
_ALARM = frozenset({Link.ALARM, Link.ALARM_CONDITION, Link.ACTIONS})
_TOPIC = frozenset({Link.TOPIC, Link.SUBSCRIBER, Link.TOPIC_POLICY, Link.DELIVERY})

EVENT_LINKS: Mapping[tuple[str, str], frozenset[Link]] = {
    # The trail itself: what it records, where it delivers, whether it exists.
    (_TRAIL, "CreateTrail"): _TRAIL_SHAPE,
    (_TRAIL, "UpdateTrail"): _TRAIL_SHAPE,
    (_TRAIL, "DeleteTrail"): _TRAIL_SHAPE,
    (_TRAIL, "StopLogging"): frozenset({Link.LOGGING}),
    (_TRAIL, "StartLogging"): frozenset({Link.LOGGING}),
    (_TRAIL, "PutEventSelectors"): frozenset({Link.SELECTORS}),
    # The log group and its metric filters.
    (_LOGS, "CreateLogGroup"): frozenset({Link.LOG_GROUP}),
    (_LOGS, "DeleteLogGroup"): frozenset({Link.LOG_GROUP, Link.FILTER}),
    (_LOGS, "PutMetricFilter"): frozenset({Link.FILTER}),
    (_LOGS, "DeleteMetricFilter"): frozenset({Link.FILTER}),
    # The alarms: their existence, condition, actions and state.
    (_CLOUDWATCH, "PutMetricAlarm"): _ALARM,
    (_CLOUDWATCH, "PutCompositeAlarm"): _ALARM,
    (_CLOUDWATCH, "DeleteAlarms"): _ALARM,
    (_CLOUDWATCH, "DisableAlarmActions"): frozenset({Link.ACTIONS}),
    (_CLOUDWATCH, "EnableAlarmActions"): frozenset({Link.ACTIONS}),
    (_CLOUDWATCH, "SetAlarmState"): frozenset({Link.ALARM_CONDITION}),
    # The topic, its subscribers, its access policy and what gets through.
    (_SNS, "CreateTopic"): _TOPIC,
    (_SNS, "DeleteTopic"): _TOPIC,
    (_SNS, "Subscribe"): frozenset({Link.SUBSCRIBER}),
    (_SNS, "ConfirmSubscription"): frozenset({Link.SUBSCRIBER}),
    (_SNS, "Unsubscribe"): frozenset({Link.SUBSCRIBER}),
    (_SNS, "SetSubscriptionAttributes"): frozenset({Link.SUBSCRIBER, Link.DELIVERY}),
    (_SNS, "SetTopicAttributes"): frozenset({Link.TOPIC_POLICY, Link.TOPIC_KEY}),
    (_SNS, "AddPermission"): frozenset({Link.TOPIC_POLICY}),
    (_SNS, "RemovePermission"): frozenset({Link.TOPIC_POLICY}),
    # The topic's key.
    (_KMS, "DisableKey"): frozenset({Link.TOPIC_KEY}),
    (_KMS, "EnableKey"): frozenset({Link.TOPIC_KEY}),
    (_KMS, "PutKeyPolicy"): frozenset({Link.TOPIC_KEY}),
    (_KMS, "ScheduleKeyDeletion"): frozenset({Link.TOPIC_KEY}),
    (_KMS, "CancelKeyDeletion"): frozenset({Link.TOPIC_KEY}),
}

ORGANIZATION_EVENTS: frozenset[tuple[str, str]] = frozenset(
    (_ORGANIZATIONS, name)
    for name in (
        "CreateAccountResult",
        "AcceptHandshake",
        "InviteAccountToOrganization",
        "MoveAccount",
        "RemoveAccountFromOrganization",
        "LeaveOrganization",
        "CloseAccount",
    )
)

FORWARDING_EVENTS: frozenset[tuple[str, str]] = frozenset(
    (_EVENTS, name) for name in ("DeleteRule", "DisableRule", "RemoveTargets")
)


def links_for(event_source: str, event_name: str) -> frozenset[Link] | None:
    """The links an event can have changed, or ``None`` when it is not a chain event."""
    return EVENT_LINKS.get((event_source, event_name))


__all__ = ["EVENT_LINKS", "FORWARDING_EVENTS", "ORGANIZATION_EVENTS", "links_for"]
