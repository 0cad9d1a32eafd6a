"""The SNS notification a metric alarm sends when one event sends it to ALARM.

CloudWatch publishes a JSON message body and no message attributes. The body, as CloudWatch
writes it today (seen in notifications from 2022 to 2025; older ones lacked the actions lists
and ``AlarmConfigurationUpdatedTimestamp``)::

    {"AlarmName", "AlarmDescription" (null when none), "AWSAccountId",
     "AlarmConfigurationUpdatedTimestamp", "NewStateValue", "NewStateReason",
     "StateChangeTime", "Region" (a long name: "US East (N. Virginia)"), "AlarmArn",
     "OldStateValue", "OKActions", "AlarmActions", "InsufficientDataActions",
     "Trigger": {...}}

A single-metric alarm's ``Trigger``: ``MetricName``, ``Namespace``, ``StatisticType``
(``"Statistic"`` with ``Statistic`` in capitals, ``"AVERAGE"``; or ``"ExtendedStatistic"``
with ``ExtendedStatistic``), ``Unit`` (null when none), ``Dimensions`` (a list of
``{"value", "name"}``), ``Period``, ``EvaluationPeriods``, ``DatapointsToAlarm`` (when set),
``ComparisonOperator``, ``Threshold`` (a number), ``TreatMissingData``,
``EvaluateLowSampleCountPercentile`` (``""`` when unset). A metric-math alarm's ``Trigger``
has no metric of its own but ``Metrics``: its queries as ``{"Id", "Expression", "Label",
"ReturnData"}`` or ``{"Id", "MetricStat": {"Metric": {"Dimensions", "MetricName",
"Namespace"}, "Period", "Stat"}, "ReturnData"}``.

What we do not know is an :class:`~scanner.policy.delivery.Unknown`, never a guess: the state
reason and the times; the description (DescribeAlarms gives it, but the inventory keeps it only
when the caller passes it); the Region name of a region missing from :data:`REGION_NAMES`;
``TreatMissingData`` when the alarm leaves it unset (notifications have shown ``"missing"``,
``""`` and ``"- TreatMissingData: missing"`` for that); a statistic whose capitalised form we
have not seen; a query's label; a metric-math trigger's ``Period``. ``OldStateValue`` is
:class:`~scanner.policy.delivery.OneOf` ``OK`` or ``INSUFFICIENT_DATA`` unless the caller
narrows it.

This module takes plain values (:class:`AlarmFacts`) so it depends on nothing but the
standard library and its own package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from scanner.policy.delivery import OneOf, PossibleMessages, Unknown

# The Region field's long names, as CloudWatch writes them (it keeps the older "EU (...)"
# names for Europe). Marked entries were seen in real notifications; the others follow the
# same scheme for regions that opened under it. Regions opened since 2020 are left out on
# purpose: their notification name is unverified, so they give an Unknown Region.
REGION_NAMES: Final[Mapping[str, str]] = {
    "us-east-1": "US East (N. Virginia)",  # seen
    "us-east-2": "US East (Ohio)",  # seen
    "us-west-1": "US West (N. California)",  # seen
    "us-west-2": "US West (Oregon)",  # seen
    "ca-central-1": "Canada (Central)",  # seen
    "sa-east-1": "South America (Sao Paulo)",
    "eu-west-1": "EU (Ireland)",  # seen
    "eu-west-2": "EU (London)",  # seen
    "eu-west-3": "EU (Paris)",
    "eu-central-1": "EU (Frankfurt)",  # seen
    "eu-north-1": "EU (Stockholm)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",  # seen
    "ap-northeast-2": "Asia Pacific (Seoul)",  # seen
    "ap-northeast-3": "Asia Pacific (Osaka)",
    "ap-southeast-1": "Asia Pacific (Singapore)",  # seen
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-east-1": "Asia Pacific (Hong Kong)",
    "me-south-1": "Middle East (Bahrain)",
}

# DescribeAlarms' statistic -> the capitalised form in ``Trigger.Statistic`` (seen: AVERAGE,
# SUM, MAXIMUM; MINIMUM follows). SampleCount's form is unverified, so it stays Unknown.
STATISTIC_NAMES: Final[Mapping[str, str]] = {
    "Average": "AVERAGE",
    "Sum": "SUM",
    "Maximum": "MAXIMUM",
    "Minimum": "MINIMUM",
}

OLD_STATES_BEFORE_ALARM: Final = ("OK", "INSUFFICIENT_DATA")


def _not_collected(what: str) -> Unknown:
    return Unknown(f"the inventory does not keep the alarm's {what}")


@dataclass(frozen=True, slots=True)
class MathQuery:
    """One entry of a metric-math alarm's ``Metrics``: an expression or a metric."""

    id: str
    expression: str | None = None
    return_data: bool = False
    metric_name: str | None = None
    namespace: str | None = None
    dimensions: Mapping[str, str] = field(default_factory=dict)
    period: int | None = None
    stat: str | None = None
    unit: str | None = None
    # None: the query has no label; Unknown (the default): not collected.
    label: str | Unknown | None = field(default_factory=lambda: _not_collected("query labels"))


@dataclass(frozen=True, slots=True)
class AlarmFacts:
    """What we know of a metric alarm, in DescribeAlarms' terms, plus where it lives."""

    name: str
    arn: str
    account_id: str
    region: str  # the region code: us-east-1
    comparison_operator: str
    evaluation_periods: int
    threshold: float | None = None
    metric_name: str | None = None
    namespace: str | None = None
    statistic: str | None = None
    extended_statistic: str | None = None
    dimensions: Mapping[str, str] = field(default_factory=dict)
    period: int | None = None
    datapoints_to_alarm: int | None = None
    treat_missing_data: str | None = None
    evaluate_low_sample_count_percentile: str | None = None
    unit: str | None = None
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    metrics: tuple[MathQuery, ...] = ()
    # None: the alarm has no description (the field is null); Unknown: not collected.
    description: str | Unknown | None = field(default_factory=lambda: _not_collected("description"))
    # AlarmConfigurationUpdatedTimestamp as CloudWatch writes it, when known.
    configuration_updated: str | None = None
    old_states: tuple[str, ...] = OLD_STATES_BEFORE_ALARM


def alarm_notification(alarm: AlarmFacts) -> PossibleMessages:
    """Every message ``alarm`` may publish when one event sends it to ALARM."""
    old_state: Any = (
        alarm.old_states[0] if len(alarm.old_states) == 1 else OneOf(tuple(alarm.old_states))
    )
    body: dict[str, Any] = {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": alarm.account_id,
        "AlarmConfigurationUpdatedTimestamp": alarm.configuration_updated
        or _not_collected("configuration update time"),
        "NewStateValue": "ALARM",
        "NewStateReason": Unknown("CloudWatch writes the datapoints that crossed the threshold"),
        "StateChangeTime": Unknown("the time of the state change"),
        "Region": REGION_NAMES.get(alarm.region)
        or Unknown(f"CloudWatch's long name for region {alarm.region} is not in our table"),
        "AlarmArn": alarm.arn,
        "OldStateValue": old_state,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": _math_trigger(alarm) if alarm.metrics else _metric_trigger(alarm),
    }
    return PossibleMessages(body=body, attributes={})


def _dimensions(dimensions: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"value": value, "name": name} for name, value in dimensions.items()]


def _common_trigger(alarm: AlarmFacts) -> dict[str, Any]:
    trigger: dict[str, Any] = {"EvaluationPeriods": alarm.evaluation_periods}
    if alarm.datapoints_to_alarm is not None:
        trigger["DatapointsToAlarm"] = alarm.datapoints_to_alarm
    trigger["ComparisonOperator"] = alarm.comparison_operator
    trigger["Threshold"] = (
        alarm.threshold
        if alarm.threshold is not None
        else Unknown("the alarm compares with a band (ThresholdMetricId), not a number")
    )
    trigger["TreatMissingData"] = alarm.treat_missing_data or Unknown(
        "CloudWatch has written an unset TreatMissingData in several forms"
    )
    trigger["EvaluateLowSampleCountPercentile"] = alarm.evaluate_low_sample_count_percentile or ""
    return trigger


def _metric_trigger(alarm: AlarmFacts) -> dict[str, Any]:
    trigger: dict[str, Any] = {
        "MetricName": alarm.metric_name,
        "Namespace": alarm.namespace,
    }
    if alarm.extended_statistic is not None:
        trigger["StatisticType"] = "ExtendedStatistic"
        trigger["ExtendedStatistic"] = alarm.extended_statistic
    else:
        trigger["StatisticType"] = "Statistic"
        trigger["Statistic"] = STATISTIC_NAMES.get(alarm.statistic or "") or Unknown(
            f"how CloudWatch capitalises the statistic {alarm.statistic!r} is unverified"
        )
    trigger["Unit"] = alarm.unit
    trigger["Dimensions"] = _dimensions(alarm.dimensions)
    trigger["Period"] = alarm.period
    return {**trigger, **_common_trigger(alarm)}


def _math_trigger(alarm: AlarmFacts) -> dict[str, Any]:
    trigger: dict[str, Any] = {
        "Period": Unknown("a metric-math alarm has no period of its own"),
        **_common_trigger(alarm),
        "Metrics": [_query(query) for query in alarm.metrics],
    }
    return trigger


def _query(query: MathQuery) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": query.id}
    if query.label is not None:
        entry["Label"] = query.label
    if query.expression is not None:
        entry["Expression"] = query.expression
    else:
        stat: dict[str, Any] = {
            "Metric": {
                "Dimensions": _dimensions(query.dimensions),
                "MetricName": query.metric_name,
                "Namespace": query.namespace,
            },
            "Period": query.period,
            "Stat": query.stat,
        }
        if query.unit is not None:
            stat["Unit"] = query.unit
        entry["MetricStat"] = stat
    entry["ReturnData"] = query.return_data
    return entry
