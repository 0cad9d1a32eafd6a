"""The inventory a scan collects and the findings the evaluator derives from it: plain values.

Invariants, which every other module relies on:

* Everything here is an immutable value with no behaviour beyond lookups. The collector fills an
  :class:`Inventory`; :func:`scanner.evaluate.evaluate` reads it; nothing mutates it.
* ``None`` always means *unknown because a call failed*, never *absent*: an account whose trail
  listing failed has ``trails=None``, one without trails has ``trails=()``. The failed call is
  recorded as a :class:`CollectionError` in the account's ``errors`` (or the inventory's, for
  organization calls), so a verdict that depends on the missing datum can quote it.
* JSON round-trips without loss: ``Inventory.from_json(inv.to_json()) == inv``, so a scan can be
  saved and evaluated offline. The codec is generic, driven by the dataclass fields and their type
  hints (:func:`decode`, :func:`encode`), so adding a field means adding it in one place. Decoding
  validates and names the offending field path in :class:`InventoryError`.

The chain a rule checks is :data:`LINKS`, a table: the links in order, what each one checks and
what its failure means. Findings, the CLI and metrics all speak in these link names.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from scanner.errors import InventoryError

# --------------------------------------------------------------------------------------------
# The chain of links (data first).


class Link(enum.StrEnum):
    """One link of the chain that makes a monitoring control work, in chain order."""

    TRAIL = "trail"
    LOGGING = "logging"
    SELECTORS = "selectors"
    LOG_GROUP = "log_group"
    FILTER = "filter"
    ALARM = "alarm"
    ALARM_CONDITION = "alarm_condition"
    ACTIONS = "actions"
    TOPIC = "topic"
    SUBSCRIBER = "subscriber"

    @property
    def position(self) -> int:
        """0 for the trail, 9 for the subscriber: how far along the chain the link sits."""
        return _LINK_ORDER[self]


@dataclass(frozen=True, slots=True)
class LinkSpec:
    link: Link
    checks: str
    failure_means: str


LINKS: tuple[LinkSpec, ...] = (
    LinkSpec(
        Link.TRAIL,
        "a CloudTrail trail records events of every region (multi-region)",
        "events in the other regions are never recorded",
    ),
    LinkSpec(
        Link.LOGGING,
        "the trail is logging (not stopped)",
        "no event is recorded at all",
    ),
    LinkSpec(
        Link.SELECTORS,
        "the trail records all management events, read and write, no source excluded",
        "the events the control watches may not be recorded",
    ),
    LinkSpec(
        Link.LOG_GROUP,
        "the trail delivers to a CloudWatch Logs group that exists",
        "recorded events never reach a metric filter",
    ),
    LinkSpec(
        Link.FILTER,
        "a metric filter on that log group has a pattern covering the control's reference",
        "some events the control watches produce no metric datapoint",
    ),
    LinkSpec(
        Link.ALARM,
        "a CloudWatch alarm in the log group's region watches the filter's metric",
        "the metric is counted but nobody looks at it",
    ),
    LinkSpec(
        Link.ALARM_CONDITION,
        "the alarm goes from OK to ALARM on one single matching event",
        "a single event (or the quiet state) does not change the alarm's state",
    ),
    LinkSpec(
        Link.ACTIONS,
        "the alarm has actions enabled and an SNS topic among its alarm actions",
        "the alarm changes state silently",
    ),
    LinkSpec(
        Link.TOPIC,
        "the SNS topic of the alarm action exists",
        "notifications are published nowhere",
    ),
    LinkSpec(
        Link.SUBSCRIBER,
        "the topic has at least one confirmed subscription",
        "notifications reach nobody",
    ),
)

_LINK_ORDER: dict[Link, int] = {spec.link: i for i, spec in enumerate(LINKS)}
LINK_SPECS: dict[Link, LinkSpec] = {spec.link: spec for spec in LINKS}


class LinkStatus(enum.StrEnum):
    OK = "ok"
    BROKEN = "broken"  # definitively broken: the data say so
    UNKNOWN = "unknown"  # a datum is missing because a call failed, or cannot be proven
    MISSING = "missing"  # not reached: an earlier link leaves nothing to look at


class Status(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"


# Account states as AWS Organizations reports them; only ACTIVE accounts are evaluated.
ACCOUNT_ACTIVE = "ACTIVE"
ACCOUNT_SUSPENDED = "SUSPENDED"


# --------------------------------------------------------------------------------------------
# The inventory.


@dataclass(frozen=True, slots=True)
class CollectionError:
    """One AWS call that failed; ``service`` is the boto3 client name, ``operation`` the API."""

    service: str  # cloudtrail | logs | cloudwatch | sns | organizations | sts
    operation: str  # DescribeTrails, GetTrailStatus, GetEventSelectors, DescribeMetricFilters, ...
    code: str  # AccessDenied, Throttling, ...
    message: str
    region: str | None = None
    resource: str | None = None

    def describe(self) -> str:
        where = f" in {self.region}" if self.region else ""
        on = f" on {self.resource}" if self.resource else ""
        return f"{self.service} {self.operation}{on}{where} failed: {self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class EventSelector:
    """A basic event selector (``EventSelectors`` of GetEventSelectors)."""

    read_write_type: str = "All"  # All | ReadOnly | WriteOnly
    include_management_events: bool = True
    exclude_management_event_sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """One field condition of an advanced event selector; AWS names the lists like this."""

    field: str  # eventCategory | readOnly | eventSource | eventName | resources.type | ...
    equals: tuple[str, ...] = ()
    starts_with: tuple[str, ...] = ()
    ends_with: tuple[str, ...] = ()
    not_equals: tuple[str, ...] = ()
    not_starts_with: tuple[str, ...] = ()
    not_ends_with: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AdvancedEventSelector:
    name: str | None = None
    field_selectors: tuple[FieldSelector, ...] = ()


@dataclass(frozen=True, slots=True)
class Trail:
    """A trail as DescribeTrails, GetTrailStatus and GetEventSelectors show it.

    ``event_selectors`` and ``advanced_event_selectors`` are both ``None`` when GetEventSelectors
    failed; when it succeeded, the kind the trail does not use is ``()``.
    """

    name: str
    arn: str
    home_region: str
    is_multi_region: bool
    is_organization_trail: bool = False
    is_logging: bool | None = None
    event_selectors: tuple[EventSelector, ...] | None = None
    advanced_event_selectors: tuple[AdvancedEventSelector, ...] | None = None
    log_group_arn: str | None = None
    latest_cloudwatch_logs_delivery_error: str | None = None

    @property
    def account_id(self) -> str:
        return arn_account(self.arn)


@dataclass(frozen=True, slots=True)
class Transformation:
    """A metric transformation of a metric filter; ``metric_value`` is the text AWS holds."""

    metric_name: str
    metric_namespace: str
    metric_value: str = "1"
    default_value: float | None = None
    dimensions: dict[str, str] = field(default_factory=dict)
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class MetricFilter:
    name: str
    log_group_name: str
    pattern: str
    transformations: tuple[Transformation, ...] = ()


@dataclass(frozen=True, slots=True)
class LogGroup:
    """A log group; ``metric_filters`` is ``None`` when DescribeMetricFilters failed for it."""

    name: str
    exists: bool = True
    metric_filters: tuple[MetricFilter, ...] | None = ()


@dataclass(frozen=True, slots=True)
class MetricStat:
    namespace: str
    metric_name: str
    stat: str
    period: int
    dimensions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """One entry of an alarm's ``Metrics``: a metric (``metric_stat``) or an ``expression``."""

    id: str
    expression: str | None = None
    metric_stat: MetricStat | None = None
    return_data: bool = False


@dataclass(frozen=True, slots=True)
class Alarm:
    """A metric alarm as DescribeAlarms shows it (single metric or metric math)."""

    name: str
    arn: str
    comparison_operator: str
    evaluation_periods: int
    metric_name: str | None = None
    namespace: str | None = None
    statistic: str | None = None
    extended_statistic: str | None = None
    dimensions: dict[str, str] = field(default_factory=dict)
    period: int | None = None
    datapoints_to_alarm: int | None = None
    threshold: float | None = None
    # missing (the default) | notBreaching | breaching | ignore
    treat_missing_data: str | None = None
    actions_enabled: bool = True
    alarm_actions: tuple[str, ...] = ()
    metrics: tuple[MetricQuery, ...] = ()
    threshold_metric_id: str | None = None


@dataclass(frozen=True, slots=True)
class Subscription:
    arn: str  # "PendingConfirmation" while the endpoint has not confirmed
    protocol: str
    endpoint: str
    confirmed: bool


@dataclass(frozen=True, slots=True)
class Topic:
    """An SNS topic; ``subscriptions`` is ``None`` when ListSubscriptionsByTopic failed."""

    arn: str
    exists: bool = True
    subscriptions: tuple[Subscription, ...] | None = ()


@dataclass(frozen=True, slots=True)
class Region:
    """What one region of one account holds; ``None`` lists failed (see the account's errors).

    What the collector promises, and the evaluator relies on:

    * ``log_groups`` holds every log group with a metric filter and every log group a trail
      delivers to; a group absent from it had no metric filter listed (unless the account's
      ``errors`` say the listing failed), and one that was not found has ``exists=False``.
    * ``topics`` holds every topic the region lists and every topic an alarm action names; a
      topic absent from it does not exist (unless ``errors`` say the listing failed).
    * Failed calls are recorded with the service and operation names of
      :data:`scanner.evaluate.CALLS`, so that a verdict can quote them.
    """

    trails: tuple[Trail, ...] | None = ()
    log_groups: dict[str, LogGroup] = field(default_factory=dict)
    alarms: tuple[Alarm, ...] | None = ()
    topics: dict[str, Topic] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    ou_path: tuple[str, ...] = ()
    partition: str = "aws"
    status: str = ACCOUNT_ACTIVE
    error: CollectionError | None = None  # the account could not be scanned at all
    regions: dict[str, Region] = field(default_factory=dict)
    errors: tuple[CollectionError, ...] = ()  # every failed call, the account's own

    def error_for(
        self,
        service: str,
        operations: tuple[str, ...],
        region: str | None = None,
        resource: str | None = None,
    ) -> CollectionError | None:
        """The recorded failure that best explains a missing datum, or ``None``.

        Prefers the error on the very resource, then one in the region, then any of that call.
        """

        def rank(e: CollectionError) -> int:
            if e.region == region:
                return 0 if e.resource == resource else 1 if e.resource is None else 2
            return 3 if e.region is None else 4

        candidates = [e for e in self.errors if e.service == service and e.operation in operations]
        return min(candidates, key=rank, default=None)


@dataclass(frozen=True, slots=True)
class Inventory:
    """Every account collected. ``reported_accounts`` names those whose findings are wanted
    (``None``: all); the others were collected only because those depend on them: the
    management account, whose organization trails cover every member, and the owners of topics
    that alarms notify across accounts (a scan narrowed to some accounts, a daemon's shard)."""

    management_account_id: str | None = None
    organization_id: str | None = None
    accounts: tuple[Account, ...] = ()
    errors: tuple[CollectionError, ...] = ()  # organization-level calls
    reported_accounts: tuple[str, ...] | None = None

    def reported(self, account_id: str) -> bool:
        return self.reported_accounts is None or account_id in self.reported_accounts

    def account(self, account_id: str) -> Account | None:
        for account in self.accounts:
            if account.id == account_id:
                return account
        return None

    @classmethod
    def from_json(cls, data: object) -> Inventory:
        return decode(cls, data)

    def to_json(self) -> dict[str, Any]:
        return encode_object(self)


# --------------------------------------------------------------------------------------------
# Findings.


@dataclass(frozen=True, slots=True)
class LinkResult:
    """The verdict on one link of one chain, and the resource it was judged on."""

    link: Link
    status: LinkStatus
    resource: str = ""  # an ARN, or a name when there is no ARN (metric filters)
    account_id: str = ""
    region: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    account_id: str
    account_name: str
    rule: str
    title: str
    severity: str
    profile: str
    status: Status
    reason: str
    broken_link: Link | None = None
    chain: tuple[LinkResult, ...] = ()
    reference: str | None = None  # the name of the reference pattern judged against
    missed_events: tuple[dict[str, Any], ...] = ()
    gaps: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    remediation: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: object) -> Finding:
        return decode(cls, data)

    def to_json(self) -> dict[str, Any]:
        return encode_object(self)


# --------------------------------------------------------------------------------------------
# Helpers on ARNs (pure string work).


def arn_parts(arn: str) -> tuple[str, str, str, str, str]:
    """``(partition, service, region, account, resource)``; ``ValueError`` if not an ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[1], parts[2], parts[3], parts[4], parts[5]


def arn_account(arn: str) -> str:
    try:
        return arn_parts(arn)[3]
    except ValueError:
        return ""


def arn_region(arn: str) -> str:
    try:
        return arn_parts(arn)[2]
    except ValueError:
        return ""


# --------------------------------------------------------------------------------------------
# The generic JSON codec. Field names are the JSON keys; tuples become lists; enums their values.

T = TypeVar("T")

_KINDS: dict[type, str] = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
}


def encode(value: Any) -> Any:
    """A JSON-ready copy of a model value (dataclasses, enums, tuples, dicts, scalars)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode_object(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    return value


def encode_object(value: Any) -> dict[str, Any]:
    return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}


def decode(cls: type[T], data: object) -> T:
    """Build ``cls`` from JSON data, validating every field; errors name the field path."""
    return typing.cast(T, _decode(cls, data, ""))


def _show(value: object) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(path: str, message: str) -> InventoryError:
    return InventoryError(f"{path or '<top>'}: {message}")


def _expected(path: str, what: str, value: object) -> InventoryError:
    return _fail(path, f"expected {what}, got {_show(value)}")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _describe_type(tp: Any) -> str:
    if tp in _KINDS:
        return _KINDS[tp]
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        return "a list"
    if origin is dict or (isinstance(tp, type) and dataclasses.is_dataclass(tp)):
        return "an object"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(_show(m.value) for m in tp)
    if origin in (types.UnionType, typing.Union):
        return " or ".join("null" if a is type(None) else _describe_type(a) for a in tp.__args__)
    return str(tp)


def _decode_scalar(tp: type, value: object, path: str) -> object:
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(value, tp):
        return value
    raise _expected(path, _KINDS[tp], value)


def _decode_dataclass(cls: type, value: object, path: str) -> object:
    if not isinstance(value, dict):
        raise _expected(path, "an object", value)
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    prefix = f"{path}." if path else ""
    unknown = sorted(set(value) - names)
    if unknown:
        raise _fail(prefix + str(unknown[0]), "unknown field")
    kwargs: dict[str, object] = {}
    for f in dataclasses.fields(cls):
        if f.name in value:
            kwargs[f.name] = _decode(hints[f.name], value[f.name], prefix + f.name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _fail(prefix + f.name, "missing")
    return cls(**kwargs)


def _decode(tp: Any, value: object, path: str) -> object:
    if tp is Any:
        return value
    if tp in _KINDS:
        return _decode_scalar(tp, value, path)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) != 1:
            raise TypeError(f"unsupported union {tp} at {path}")
        return _decode(options[0], value, path)
    if origin in (tuple, list):
        if not isinstance(value, list):
            raise _expected(path, "a list", value)
        item_type = args[0]
        return tuple(_decode(item_type, item, f"{path}[{i}]") for i, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise _expected(path, "an object", value)
        return {
            key: _decode(args[1], item, f"{path}[{json.dumps(key)}]") for key, item in value.items()
        }
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise _expected(path, _describe_type(tp), value) from None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, value, path)
    raise TypeError(f"unsupported type {tp} at {path}")
