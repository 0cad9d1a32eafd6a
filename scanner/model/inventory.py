"""The inventory a scan collects: plain, immutable values.

Invariants, which every other module relies on:

* Everything here is an immutable value with no behaviour beyond lookups. The collector fills an
  :class:`Inventory`; :func:`scanner.evaluate.evaluate` reads it; nothing mutates it.
* ``None`` always means *unknown*, never *absent*: an account whose trail listing failed has
  ``trails=None``, one without trails has ``trails=()``. The failed call is recorded as a
  :class:`CollectionError` in the account's ``errors`` (or the inventory's, for organization
  calls), so a verdict that depends on the missing datum can quote it. The one unknown without a
  failed call: trails are listed once per account, in one region (DescribeTrails with shadow
  trails shows there every trail that can count), so the account's other regions have
  ``trails=None``.
* An account the scan deliberately did not enter (chains outside it decided every rule the
  scan planned for) has ``entered=False``; it may still hold topics other accounts' alarms
  notify. :func:`scanner.evaluate.evaluate` gives it the verdicts decided outside it, and ERROR
  for any other rule, so a saved inventory evaluates offline to the same findings.
* JSON round-trips without loss: ``Inventory.from_json(inv.to_json()) == inv``, so a scan can be
  saved and evaluated offline (:mod:`scanner.model.codec`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from scanner.model.arns import arn_account
from scanner.model.codec import decode, encode_object

# Account states as AWS Organizations reports them; only ACTIVE accounts are evaluated.
ACCOUNT_ACTIVE = "ACTIVE"
ACCOUNT_SUSPENDED = "SUSPENDED"


@dataclass(frozen=True, slots=True)
class CollectionError:
    """One AWS call that failed; ``service`` is the boto3 client name, ``operation`` the API."""

    service: str  # cloudtrail | logs | cloudwatch | sns | kms | organizations | sts
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
    unit: str | None = None  # the unit asked for; a datapoint of another unit is not seen


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
    unit: str | None = None  # the unit asked for; a datapoint of another unit is not seen
    # evaluate (the default) | ignore: whether a percentile of few samples is evaluated at all
    evaluate_low_sample_count_percentile: str | None = None
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    state_value: str | None = None  # OK | ALARM | INSUFFICIENT_DATA
    state_updated: str | None = None  # StateUpdatedTimestamp, ISO 8601 with an offset


@dataclass(frozen=True, slots=True)
class CompositeAlarm:
    """A composite alarm as DescribeAlarms shows it: a rule over other alarms' states."""

    name: str
    arn: str
    alarm_rule: str
    actions_enabled: bool = True
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    state_value: str | None = None
    state_updated: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionFilter:
    """What GetSubscriptionAttributes says decides which messages a subscription receives.

    ``policy`` is the FilterPolicy's JSON text, ``None`` when the subscription has none (it
    receives every message); ``scope`` is FilterPolicyScope as AWS defaults it."""

    policy: str | None = None
    scope: str = "MessageAttributes"  # MessageAttributes | MessageBody


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription of a topic; ``filter`` is ``None`` when its attributes were not read
    (GetSubscriptionAttributes failed, or the inventory was saved before they were read)."""

    arn: str  # "PendingConfirmation" while the endpoint has not confirmed
    protocol: str
    endpoint: str
    confirmed: bool
    filter: SubscriptionFilter | None = None


@dataclass(frozen=True, slots=True)
class KmsKey:
    """The KMS key a topic is encrypted with, as DescribeKey and GetKeyPolicy show it.

    ``arn`` is ``None`` when DescribeKey failed (so are ``manager`` and ``state``); ``policy``
    is ``None`` when GetKeyPolicy failed or was not needed (an AWS managed key)."""

    id: str  # KmsMasterKeyId as the topic names it: a key id, key ARN, alias name or alias ARN
    exists: bool = True  # False: DescribeKey found no such key
    arn: str | None = None
    manager: str | None = None  # AWS | CUSTOMER
    state: str | None = None  # Enabled | Disabled | PendingDeletion | ...
    policy: str | None = None


@dataclass(frozen=True, slots=True)
class TopicAccess:
    """What GetTopicAttributes says decides whether an alarm's message gets into the topic.

    ``policy`` is the access policy's JSON text (``None``: the topic has none); ``key`` the KMS
    key of server-side encryption, ``None`` when the topic is not encrypted."""

    policy: str | None = None
    key: KmsKey | None = None


@dataclass(frozen=True, slots=True)
class Topic:
    """An SNS topic; ``subscriptions`` is ``None`` when ListSubscriptionsByTopic failed, and
    ``access`` is ``None`` when GetTopicAttributes failed (or was never called: an inventory
    saved before the scanner read it)."""

    arn: str
    exists: bool = True
    subscriptions: tuple[Subscription, ...] | None = ()
    access: TopicAccess | None = None


@dataclass(frozen=True, slots=True)
class Region:
    """What one region of one account holds; ``None`` lists failed (see the account's errors).

    What the collector promises, and the evaluator relies on:

    * An account's regions are only those something was read in: the region its trails were
      listed in (``trails`` is that listing) and the regions its trails, log groups, alarms and
      topics lead to (``trails=None`` there: not listed in that region).

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
    # The composite alarms whose rule names a kept metric alarm; ``None`` when the listing
    # failed (the same DescribeAlarms call as ``alarms``).
    composite_alarms: tuple[CompositeAlarm, ...] | None = ()


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    ou_path: tuple[str, ...] = ()
    partition: str = "aws"
    status: str = ACCOUNT_ACTIVE
    error: CollectionError | None = None  # the account could not be scanned at all
    # False: not entered on purpose, nothing (of the scan's profile) depended on its resources.
    entered: bool = True
    regions: dict[str, Region] = field(default_factory=dict)
    errors: tuple[CollectionError, ...] = ()  # every failed call, the account's own
    # The ids of the root and of every OU above the account, root first (``ou_path`` names the
    # OUs below the root): what suppressions by OU id match.
    ou_ids: tuple[str, ...] = ()

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


@dataclass(frozen=True)
class Inventory:
    """Every account collected. ``reported_accounts`` names those whose findings are wanted
    (``None``: all); the others were collected only because those depend on them: the
    management account, whose organization trails cover every member, and the owners of topics
    that alarms notify across accounts (a scan narrowed to some accounts, a daemon's shard).

    :meth:`account` and :meth:`reported` are asked for every finding (the evaluator, every
    report format): they look up indexes built on first use, not the tuples, whose scan made a
    scan's CPU grow with the square of the organization (issue 18.3). The indexes are not
    fields (no slots, so :func:`~functools.cached_property` can keep them): equality, the JSON
    codec and :func:`dataclasses.replace` see the fields only, and a replaced inventory builds
    its own."""

    management_account_id: str | None = None
    organization_id: str | None = None
    accounts: tuple[Account, ...] = ()
    errors: tuple[CollectionError, ...] = ()  # organization-level calls
    reported_accounts: tuple[str, ...] | None = None
    # When the collection started (ISO 8601, UTC): the evaluator's "now", since it has no clock.
    collected_at: str | None = None

    def reported(self, account_id: str) -> bool:
        return self.reported_accounts is None or account_id in self._reported

    def account(self, account_id: str) -> Account | None:
        return self._by_id.get(account_id)

    @cached_property
    def _by_id(self) -> dict[str, Account]:
        """Each account by id; the first of its id, as a scan of ``accounts`` would find."""
        found: dict[str, Account] = {}
        for account in self.accounts:
            found.setdefault(account.id, account)
        return found

    @cached_property
    def _reported(self) -> frozenset[str]:
        return frozenset(self.reported_accounts or ())

    @classmethod
    def from_json(cls, data: object) -> Inventory:
        return decode(cls, data)

    def to_json(self) -> dict[str, Any]:
        return encode_object(self)
