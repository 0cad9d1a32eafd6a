"""AWS response items -> model values: pure functions, one per shape, AWS's field names kept.

Absent optional fields take AWS's documented defaults; nothing here invents a value for a field
AWS always returns. The inputs are the parsed botocore dicts (``Any`` at this boundary).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from scanner.model import (
    AdvancedEventSelector,
    Alarm,
    CompositeAlarm,
    EventSelector,
    FieldSelector,
    KmsKey,
    MetricFilter,
    MetricQuery,
    MetricStat,
    Subscription,
    SubscriptionFilter,
    Trail,
    Transformation,
)

# Advanced event selector operators: AWS field -> model field.
_FIELD_OPERATORS = {
    "Equals": "equals",
    "StartsWith": "starts_with",
    "EndsWith": "ends_with",
    "NotEquals": "not_equals",
    "NotStartsWith": "not_starts_with",
    "NotEndsWith": "not_ends_with",
}


def _strings(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in values or ())


def _dimensions(items: Any) -> dict[str, str]:
    return {str(d["Name"]): str(d["Value"]) for d in items or ()}


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def trail(item: Mapping[str, Any], region: str) -> Trail:
    """A DescribeTrails item; status and selectors are filled later (``None`` until then)."""
    return Trail(
        name=str(item["Name"]),
        arn=str(item["TrailARN"]),
        home_region=str(item.get("HomeRegion") or region),
        is_multi_region=bool(item.get("IsMultiRegionTrail", False)),
        is_organization_trail=bool(item.get("IsOrganizationTrail", False)),
        log_group_arn=item.get("CloudWatchLogsLogGroupArn") or None,
    )


def event_selector(item: Mapping[str, Any]) -> EventSelector:
    return EventSelector(
        read_write_type=str(item.get("ReadWriteType", "All")),
        include_management_events=bool(item.get("IncludeManagementEvents", True)),
        exclude_management_event_sources=_strings(item.get("ExcludeManagementEventSources")),
    )


def advanced_event_selector(item: Mapping[str, Any]) -> AdvancedEventSelector:
    fields = tuple(
        FieldSelector(
            field=str(f["Field"]),
            **{ours: _strings(f.get(theirs)) for theirs, ours in _FIELD_OPERATORS.items()},
        )
        for f in item.get("FieldSelectors") or ()
    )
    return AdvancedEventSelector(name=item.get("Name"), field_selectors=fields)


def selectors(
    response: Mapping[str, Any],
) -> tuple[tuple[EventSelector, ...], tuple[AdvancedEventSelector, ...]]:
    """GetEventSelectors: (basic, advanced); the kind the trail does not use is ``()``."""
    basic = tuple(event_selector(s) for s in response.get("EventSelectors") or ())
    advanced = tuple(
        advanced_event_selector(s) for s in response.get("AdvancedEventSelectors") or ()
    )
    return basic, advanced


def metric_filter(item: Mapping[str, Any], log_group: str) -> MetricFilter:
    return MetricFilter(
        name=str(item["filterName"]),
        log_group_name=str(item.get("logGroupName") or log_group),
        pattern=str(item.get("filterPattern") or ""),
        transformations=tuple(
            Transformation(
                metric_name=str(t["metricName"]),
                metric_namespace=str(t["metricNamespace"]),
                metric_value=str(t.get("metricValue", "1")),
                default_value=_optional_float(t.get("defaultValue")),
                dimensions={str(k): str(v) for k, v in (t.get("dimensions") or {}).items()},
                unit=t.get("unit"),
            )
            for t in item.get("metricTransformations") or ()
        ),
    )


def _metric_query(item: Mapping[str, Any]) -> MetricQuery:
    stat = item.get("MetricStat")
    metric_stat = None
    if stat:
        metric = stat["Metric"]
        metric_stat = MetricStat(
            namespace=str(metric.get("Namespace", "")),
            metric_name=str(metric.get("MetricName", "")),
            stat=str(stat["Stat"]),
            period=int(stat["Period"]),
            dimensions=_dimensions(metric.get("Dimensions")),
            unit=stat.get("Unit"),
        )
    return MetricQuery(
        id=str(item["Id"]),
        expression=item.get("Expression"),
        metric_stat=metric_stat,
        return_data=bool(item.get("ReturnData", True)),  # AWS: true when omitted
    )


def alarm(item: Mapping[str, Any]) -> Alarm:
    """A DescribeAlarms ``MetricAlarms`` item."""
    return Alarm(
        name=str(item["AlarmName"]),
        arn=str(item["AlarmArn"]),
        comparison_operator=str(item["ComparisonOperator"]),
        evaluation_periods=int(item["EvaluationPeriods"]),
        metric_name=item.get("MetricName"),
        namespace=item.get("Namespace"),
        statistic=item.get("Statistic"),
        extended_statistic=item.get("ExtendedStatistic"),
        dimensions=_dimensions(item.get("Dimensions")),
        period=_optional_int(item.get("Period")),
        datapoints_to_alarm=_optional_int(item.get("DatapointsToAlarm")),
        threshold=_optional_float(item.get("Threshold")),
        treat_missing_data=item.get("TreatMissingData"),
        actions_enabled=bool(item.get("ActionsEnabled", True)),
        alarm_actions=_strings(item.get("AlarmActions")),
        metrics=tuple(_metric_query(q) for q in item.get("Metrics") or ()),
        threshold_metric_id=item.get("ThresholdMetricId"),
        unit=item.get("Unit"),
        evaluate_low_sample_count_percentile=item.get("EvaluateLowSampleCountPercentile") or None,
        ok_actions=_strings(item.get("OKActions")),
        insufficient_data_actions=_strings(item.get("InsufficientDataActions")),
        state_value=item.get("StateValue"),
        state_updated=_timestamp(item.get("StateUpdatedTimestamp")),
    )


def composite_alarm(item: Mapping[str, Any]) -> CompositeAlarm:
    """A DescribeAlarms ``CompositeAlarms`` item."""
    return CompositeAlarm(
        name=str(item["AlarmName"]),
        arn=str(item["AlarmArn"]),
        alarm_rule=str(item.get("AlarmRule") or ""),
        actions_enabled=bool(item.get("ActionsEnabled", True)),
        alarm_actions=_strings(item.get("AlarmActions")),
        ok_actions=_strings(item.get("OKActions")),
        insufficient_data_actions=_strings(item.get("InsufficientDataActions")),
        state_value=item.get("StateValue"),
        state_updated=_timestamp(item.get("StateUpdatedTimestamp")),
    )


def _timestamp(value: Any) -> str | None:
    """botocore parses timestamps into aware datetimes; the model keeps ISO 8601 text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.isoformat()
    return str(value)


def subscription(item: Mapping[str, Any]) -> Subscription:
    arn = str(item.get("SubscriptionArn") or "")
    return Subscription(
        arn=arn,
        protocol=str(item.get("Protocol") or ""),
        endpoint=str(item.get("Endpoint") or ""),
        confirmed=arn.startswith("arn:"),  # "PendingConfirmation" (or "Deleted") otherwise
    )


def subscription_filter(attributes: Mapping[str, Any]) -> SubscriptionFilter:
    """GetSubscriptionAttributes' ``Attributes``: the filter policy and its scope (AWS leaves
    FilterPolicyScope out until it is set, and the default is MessageAttributes)."""
    policy = attributes.get("FilterPolicy")
    return SubscriptionFilter(
        policy=str(policy) if policy else None,
        scope=str(attributes.get("FilterPolicyScope") or "MessageAttributes"),
    )


def kms_key(key_id: str, metadata: Mapping[str, Any]) -> KmsKey:
    """DescribeKey's ``KeyMetadata`` (the policy is read apart, by GetKeyPolicy)."""
    return KmsKey(
        id=key_id,
        arn=str(metadata.get("Arn") or "") or None,
        manager=str(metadata.get("KeyManager") or "") or None,
        state=str(metadata.get("KeyState") or "") or None,
    )
