"""Prometheus metrics derived from findings: a table of families, as kube-state-metrics does it.

Every family is a row of :data:`FAMILIES`: its name, type, help, labels, and a function from
the daemon's :class:`MetricState` to samples. Nothing is set imperatively: a scrape renders the
table from the state, so a family can never disagree with the findings, and an account that
leaves the organization (or the shard) leaves every family at the next scan.

Naming follows Prometheus's guidance: prefix ``scanner_``, base units (seconds), ``_total`` only
on counters, ``account_id`` and ``aws_region`` labels (never ``region``); HELP says when a value
is cached from the last scan.

Size scales with the organization, so the per-account series are few and their labels short
and bounded (about 1.7 KB per account on the demo, fixed overhead included):

* identity rides once per account, on ``scanner_account_info{account_id, account_name,
  organizational_unit}`` (value 1), to join on: ``... * on (account_id) group_left
  (organizational_unit) scanner_account_info``; a renamed account changes one series;
* ``scanner_account_controls{account_id, status}`` counts the account's controls per status
  (all three, zeros included: compliance is PASS over the sum);
* only what is not PASS gets a series per (account, rule): ``scanner_control_failure_info``,
  whose ``reason`` is a code from a fixed list (:mod:`.reasons`), never the free text;
* a rule's severity is a property of the rule: ``scanner_rule_info{rule, severity}``.

A scan's picture (:class:`Picture`) is computed once when the scan is recorded and swapped in
as one object, so a scrape rendering in a worker thread never sees half of two scans.

Counters (API calls, throttled responses, throttles, retries, credential refreshes, scans)
accumulate over the process's life from each scan's call statistics, which count every attempt
(the collector's gateway makes the retries itself) and every renewal of assumed credentials.
A failed organization listing that falls back to the cached one is counted too (read from the
account list at scrape time), and so are the calls of the listings the daemon refreshes in the
background, between scans. ``scanner_last_scan_api_calls`` says what the last scan alone
called (a warm scan: no ``sts:AssumeRole`` for keys still good, no ``organizations:*``), and
``scanner_organization_listing_age_seconds`` how old the listing it scanned from is.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder, generate_latest

from scanner.aws import CallStats
from scanner.daemon.encoded import Encoded
from scanner.daemon.pairs import ByAccount, by_account
from scanner.daemon.reasons import REASON_CODES, reason_code
from scanner.daemon.sharding import Shard
from scanner.model import ACCOUNT_ACTIVE, Account, CollectionError, Finding, Status
from scanner.version import installed_version

CACHED = "As of the last completed scan (cached between scans)."
# Scan durations: seconds for a small organization up to the default 20-minute deadline.
DURATION_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0)
ACCOUNT_STATES = ("scanned", "not_entered", "skipped", "failed")
DECIDED = ("scanned", "not_entered")  # states whose findings are fresh: a success for the account
SCAN_OUTCOMES = ("success", "failed", "deadline")
# Seconds from a CloudTrail change to its verdict committed: the event path's whole point.
EVENT_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0)
# Why an event was dropped (a fixed list: the series never churn with wording).
IGNORE_REASONS = (
    "malformed",  # not an EventBridge envelope of a CloudTrail call
    "failed_call",  # the call failed (errorCode): it changed nothing
    "unknown_event",  # no link of a chain is changed by it
    "unknown_region",  # not a region name, or one the configuration excludes
    "foreign_account",  # not an account of the organization
    "other_shard",  # an account of another shard (left in a shared queue for it)
    "not_entered",  # a member whose verdicts chains outside it decide: its change cannot move them
)
# The classic text format generate_latest() writes, understood by every Prometheus version.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def version() -> str:
    return installed_version("0+unknown")


# --------------------------------------------------------------------------------------------
# The state the families are computed from.


@dataclass(frozen=True)
class AccountView:
    """What the metrics need of an account: labels, how the scan went, which calls failed."""

    id: str
    name: str
    organizational_unit: str = ""
    state: str = "scanned"  # scanned | not_entered | skipped | failed
    errors: tuple[CollectionError, ...] = ()

    @classmethod
    def of(cls, account: Account) -> AccountView:
        if account.status != ACCOUNT_ACTIVE:
            state = "skipped"
        elif account.error is not None:
            state = "failed"
        elif not account.entered:  # on purpose: what other accounts hold decided its rules
            state = "not_entered"
        else:
            state = "scanned"
        errors = (account.error, *account.errors) if account.error else account.errors
        return cls(account.id, account.name, "/".join(account.ou_path), state, errors)

    def to_json(self) -> dict[str, Any]:
        """What the store keeps so the labels survive a restart (errors as their labels only)."""
        return {
            "name": self.name,
            "ou": self.organizational_unit,
            "state": self.state,
            "errors": [[e.region or "", e.service, e.operation, e.code] for e in self.errors],
        }

    @classmethod
    def from_json(cls, account_id: str, data: Mapping[str, Any]) -> AccountView:
        errors = tuple(
            CollectionError(service, operation, code, "", region=region or None)
            for region, service, operation, code in data.get("errors", ())
        )
        return cls(
            account_id, data["name"], data.get("ou", ""), data.get("state", "scanned"), errors
        )


@dataclass(frozen=True)
class ScanResult:
    """One scan as the metrics see it; ``findings``/``accounts`` are this shard's only.

    A scan that did not complete (``outcome`` failed or deadline) carries no findings: the
    previous ones stay exported, and only the scan families move.
    """

    started: float  # Unix time
    finished: float
    outcome: str  # success | failed | deadline
    findings: tuple[Finding, ...] = ()
    accounts: tuple[AccountView, ...] = ()
    stats: tuple[CallStats, ...] = ()  # every listing and collection of the scan
    engine_disagreements: int = 0  # scan.confirm: events AWS's engine judged otherwise
    # scan.confirm: PASS paths whose latest notification failed in AWS's alarm history, and the
    # failed notifications that history holds.
    alarm_history_disagreements: int = 0
    failed_alarm_actions: int = 0

    @property
    def duration(self) -> float:
        return max(0.0, self.finished - self.started)


@dataclass(frozen=True)
class Picture:
    """The last completed scan's findings and accounts, and what the families derive from them.

    Built once per scan (or restore), then swapped in whole: renders in worker threads read it
    without locks, and a scrape costs no per-finding work beyond writing its series.
    """

    findings: ByAccount[Finding] = field(default_factory=lambda: ByAccount((), {}))
    accounts: Mapping[str, AccountView] = field(default_factory=dict)
    account_success: Mapping[str, float] = field(default_factory=dict)
    # Derived: (account_id, rule, status, broken_link, reason code) of every non-PASS finding.
    failures: tuple[tuple[str, str, str, str, str], ...] = ()
    controls: Mapping[str, Counter[str]] = field(default_factory=dict)  # account -> by status
    rules: tuple[tuple[str, str], ...] = ()  # (rule, severity)
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    suppressed: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # The findings API's JSON texts of the distinct verdicts, chains and fixes
    # (scanner.daemon.encoded), filled as pages ask for them (by the HTTP render thread only);
    # dropped with the picture.
    encoded: Encoded = field(default_factory=Encoded, compare=False, repr=False)
    # The per-scan families rendered for /metrics (Metrics.negotiate), by content type, one kept
    # (a scraper asks for the same each time); dropped with the picture, not at the next scrape.
    rendered: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(
        cls,
        findings: Iterable[Finding],
        accounts: Iterable[AccountView],
        account_success: Mapping[str, float],
    ) -> Picture:
        by_pair = ByAccount.of(((f.account_id, f.rule), f) for f in findings)
        controls: dict[str, Counter[str]] = {}
        failures = []
        for (account_id, rule), finding in by_pair.items():
            controls.setdefault(account_id, Counter())[finding.status.value] += 1
            if finding.status is not Status.PASS:
                link = finding.broken_link.value if finding.broken_link else ""
                status = finding.status.value
                failures.append((account_id, rule, status, link, reason_code(finding)))
        return cls(
            by_pair,
            dict(sorted((a.id, a) for a in accounts)),
            dict(sorted(account_success.items())),
            tuple(failures),
            controls,
            tuple(sorted({(f.rule, f.severity) for f in by_pair.values()})),
            Counter((f.rule, f.severity, f.status.value) for f in by_pair.values()),
            Counter((f.rule, f.severity, f.status.value) for f in by_pair.values() if f.suppressed),
        )

    def merged(
        self,
        findings: Iterable[Finding],
        accounts: Iterable[AccountView],
        account_success: Mapping[str, float],
    ) -> Picture:
        """This picture with the given accounts' findings and views replaced (the event path
        re-judges a few accounts of many): the same result as :meth:`of` over everything, at
        the cost of the accounts replaced, except for the plain copies of the mappings."""
        views = {a.id: a for a in accounts}
        fresh = {(f.account_id, f.rule): f for f in findings}
        judged = set(views) | {a for a, _ in fresh}
        rows: dict[str, dict[str, Finding]] = {a: {} for a in judged}
        rows.update(by_account(fresh.items()))
        if any(rule not in rows[a] for a in judged for rule, _ in self.findings.account(a)) or any(
            k not in self.findings for k in fresh
        ):  # a rule came or went: rebuild
            kept = [f for k, f in self.findings.items() if k[0] not in judged]
            return Picture.of(
                [*kept, *fresh.values()], {**self.accounts, **views}.values(), account_success
            )
        by_pair = self.findings.replaced(rows)
        counts, suppressed = Counter(self.counts), Counter(self.suppressed)
        controls = dict(self.controls)
        for key, finding in fresh.items():
            old = self.findings[key]
            counts[(old.rule, old.severity, old.status.value)] -= 1
            counts[(finding.rule, finding.severity, finding.status.value)] += 1
            if old.suppressed:
                suppressed[(old.rule, old.severity, old.status.value)] -= 1
            if finding.suppressed:
                suppressed[(finding.rule, finding.severity, finding.status.value)] += 1
        for account_id in {a for a, _ in fresh}:
            controls[account_id] = Counter()
        for (account_id, _), finding in fresh.items():
            controls[account_id][finding.status.value] += 1
        failures = [f for f in self.failures if f[0] not in judged]
        for (account_id, rule), finding in sorted(fresh.items()):
            if finding.status is not Status.PASS:
                link = finding.broken_link.value if finding.broken_link else ""
                code = reason_code(finding)
                failures.append((account_id, rule, finding.status.value, link, code))
        failures.sort()
        all_accounts = {**self.accounts, **views}
        if any(a not in self.accounts for a in views):
            all_accounts = dict(sorted(all_accounts.items()))
        return Picture(
            by_pair,
            all_accounts,
            dict(sorted(account_success.items())),
            tuple(failures),
            controls,
            tuple(sorted({(f.rule, f.severity) for f in by_pair.values()})),
            +counts,
            +suppressed,
        )


@dataclass
class EventStats:
    """The event path's counters and gauges, mutated by :mod:`.events` (swapping values)."""

    received: int = 0
    acted: int = 0
    ignored: Counter[str] = field(default_factory=Counter)
    receive_errors: int = 0
    rejudged_accounts: int = 0
    changes_missed: int = 0
    detection: list[int] = field(default_factory=lambda: [0] * (len(EVENT_BUCKETS) + 1))
    detection_sum: float = 0.0
    handling: list[int] = field(default_factory=lambda: [0] * (len(EVENT_BUCKETS) + 1))
    handling_sum: float = 0.0
    queue_messages: dict[str, float] = field(default_factory=dict)  # by queue name
    oldest_age: dict[str, float] = field(default_factory=dict)  # by queue name
    last_event: dict[str, float] = field(default_factory=dict)  # by region
    forwarding_changes: Counter[tuple[str, str]] = field(default_factory=Counter)

    def observe(self, detection: float, handling: float) -> None:
        """One acted event: seconds from its CloudTrail time, and from its receipt, to commit."""
        for counts, seconds in ((self.detection, detection), (self.handling, handling)):
            counts[bisect.bisect_left(EVENT_BUCKETS, max(0.0, seconds))] += 1
        self.detection_sum += max(0.0, detection)
        self.handling_sum += max(0.0, handling)


@dataclass
class MetricState:
    """Everything the families read; mutated only by :class:`Metrics`, by swapping values."""

    shard: Shard
    version: str
    picture: Picture = field(default_factory=Picture)
    last_scan: float | None = None
    last_success: float | None = None
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    throttles: Counter[tuple[str, str]] = field(default_factory=Counter)
    throttled_responses: Counter[tuple[str, str]] = field(default_factory=Counter)
    retries: Counter[tuple[str, str]] = field(default_factory=Counter)
    call_errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    credential_refreshes: int = 0
    engine_disagreements: int = 0
    alarm_history_disagreements: int = 0
    failed_alarm_actions: int = 0
    scans: Counter[str] = field(default_factory=Counter)
    duration_counts: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS) + 1))
    duration_sum: float = 0.0
    # Read at scrape time from the alert machinery, when there is one.
    alerts_pending: Callable[[], Mapping[str, int]] = dict
    account_list_fallbacks: Callable[[], int] = int
    listing_age: Callable[[], float | None] = lambda: None
    last_scan_calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    front_restarts: Callable[[], int] = int
    alert_deliveries: Callable[[], Mapping[tuple[str, str], int]] = dict
    events: EventStats = field(default_factory=EventStats)

    @property
    def findings(self) -> Mapping[tuple[str, str], Finding]:
        return self.picture.findings

    @property
    def accounts(self) -> Mapping[str, AccountView]:
        return self.picture.accounts


# --------------------------------------------------------------------------------------------
# Sample functions: state -> ((label values), value).

Samples = Iterable[tuple[tuple[str, ...], Any]]


def _account_info(s: MetricState) -> Samples:
    for account_id, view in s.picture.accounts.items():
        yield (account_id, view.name, view.organizational_unit), 1.0


def _account_controls(s: MetricState) -> Samples:
    for account_id, counted in s.picture.controls.items():
        for status in Status:
            yield (account_id, status.value), float(counted[status.value])


def _control_failures(s: MetricState) -> Samples:
    for labels in s.picture.failures:
        yield labels, 1.0


def _rules(s: MetricState) -> Samples:
    for rule, severity in s.picture.rules:
        yield (rule, severity), 1.0


def _account_success(s: MetricState) -> Samples:
    for account_id, when in s.picture.account_success.items():
        yield (account_id,), when


def _account_errors(s: MetricState) -> Samples:
    for account_id, view in s.picture.accounts.items():
        for reason, count in sorted(Counter(e.code for e in view.errors).items()):
            yield (account_id, reason), float(count)


def _collection_errors(s: MetricState) -> Samples:
    for account_id, view in s.picture.accounts.items():
        counted = Counter((e.region or "", e.service, e.operation, e.code) for e in view.errors)
        for key, count in sorted(counted.items()):
            yield (account_id, *key), float(count)


def _scan_accounts(s: MetricState) -> Samples:
    counted = Counter(view.state for view in s.picture.accounts.values())
    for state in ACCOUNT_STATES:
        yield (state,), float(counted[state])


def _findings(s: MetricState) -> Samples:
    counted = s.picture.counts
    for rule, severity in s.picture.rules:
        for status in Status:
            yield (rule, severity, status.value), float(counted[rule, severity, status.value])


def _suppressed(s: MetricState) -> Samples:
    for (rule, severity, status), count in sorted(s.picture.suppressed.items()):
        yield (rule, severity, status), float(count)


def _optional(value: float | None) -> Samples:
    return [((), value)] if value is not None else []


def _by_operation(counter: Counter[tuple[str, str]]) -> Samples:
    return [((service, operation), float(n)) for (service, operation), n in sorted(counter.items())]


def _scans(s: MetricState) -> Samples:
    return [((outcome,), float(s.scans[outcome])) for outcome in SCAN_OUTCOMES]


def _histogram(bounds: tuple[float, ...], counts: list[int], total: float) -> Samples:
    cumulative, buckets = 0, []
    for bound, count in zip((*bounds, float("inf")), counts, strict=True):
        cumulative += count
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), float(cumulative)))
    return [((), (buckets, total))]


def _durations(s: MetricState) -> Samples:
    return _histogram(DURATION_BUCKETS, s.duration_counts, s.duration_sum)


def _by_key(values: Mapping[str, float]) -> Samples:
    return [((key,), value) for key, value in sorted(values.items())]


def _ignored(s: MetricState) -> Samples:
    return [((reason,), float(s.events.ignored[reason])) for reason in IGNORE_REASONS]


def _forwarding(s: MetricState) -> Samples:
    changes = s.events.forwarding_changes
    return [((a, r), float(n)) for (a, r), n in sorted(changes.items())]


@dataclass(frozen=True)
class Family:
    """One metric family: how to name, type, explain, label and compute it."""

    name: str
    kind: str  # gauge | counter | histogram
    help: str
    labels: tuple[str, ...]
    samples: Callable[[MetricState], Samples]


def _alerts_pending(s: MetricState) -> Samples:
    return [((target,), float(n)) for target, n in sorted(s.alerts_pending().items())]


def _alert_deliveries(s: MetricState) -> Samples:
    counted = s.alert_deliveries()
    return [((target, result), float(n)) for (target, result), n in sorted(counted.items())]


ACCOUNT_LABELS = ("account_id", "account_name", "organizational_unit")
OPERATION = ("service", "operation")

FAMILIES: tuple[Family, ...] = (
    Family(
        "scanner_account_info",
        "gauge",
        "Always 1: the account's name and OU path, to join on account_id. " + CACHED,
        ACCOUNT_LABELS,
        _account_info,
    ),
    Family(
        "scanner_account_controls",
        "gauge",
        "Controls (rules) of the account per status: PASS works, FAIL broken, ERROR could not "
        "be determined. " + CACHED,
        ("account_id", "status"),
        _account_controls,
    ),
    Family(
        "scanner_control_failure_info",
        "gauge",
        "1 for every control that is not PASS: the link of its chain that broke and a reason "
        f"code ({', '.join(REASON_CODES)}); the full reason is in /api/v1/findings. " + CACHED,
        ("account_id", "rule", "status", "broken_link", "reason"),
        _control_failures,
    ),
    Family(
        "scanner_rule_info",
        "gauge",
        "Always 1: the severity of each rule evaluated. " + CACHED,
        ("rule", "severity"),
        _rules,
    ),
    Family(
        "scanner_findings",
        "gauge",
        "Accounts of this shard per rule and status. " + CACHED,
        ("rule", "severity", "status"),
        _findings,
    ),
    Family(
        "scanner_suppressed_findings",
        "gauge",
        "Findings of this shard an accepted exception (rules.suppressions) covers, per rule and "
        "status: they keep their status in every other family but send no alert. " + CACHED,
        ("rule", "severity", "status"),
        _suppressed,
    ),
    Family(
        "scanner_account_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last scan that could enter and collect the account.",
        ("account_id",),
        _account_success,
    ),
    Family(
        "scanner_account_errors",
        "gauge",
        "Failed AWS calls of the account by error code (AccessDenied, Throttling, ...); a "
        "failed call makes the rules that depend on it ERROR. " + CACHED,
        ("account_id", "reason"),
        _account_errors,
    ),
    Family(
        "scanner_collection_errors",
        "gauge",
        "Failed AWS calls of the account by region, service, operation and error code. " + CACHED,
        ("account_id", "aws_region", "service", "operation", "reason"),
        _collection_errors,
    ),
    Family(
        "scanner_scan_accounts",
        "gauge",
        "Accounts of this shard in the last completed scan: scanned, not_entered (every rule "
        "decided by what other accounts hold, e.g. the organization trail), skipped (not "
        "ACTIVE) or failed (could not be entered). " + CACHED,
        ("state",),
        _scan_accounts,
    ),
    Family(
        "scanner_scan_duration_seconds",
        "histogram",
        "Duration of scans, completed or not.",
        (),
        _durations,
    ),
    Family(
        "scanner_scans_total",
        "counter",
        "Scans by outcome: success, failed (could not run) or deadline (took too long).",
        ("outcome",),
        _scans,
    ),
    Family(
        "scanner_last_scan_timestamp_seconds",
        "gauge",
        "Unix time the last scan ended, whatever its outcome.",
        (),
        lambda s: _optional(s.last_scan),
    ),
    Family(
        "scanner_last_successful_scan_timestamp_seconds",
        "gauge",
        "Unix time the last successful scan ended (restored from the state file at start-up).",
        (),
        lambda s: _optional(s.last_success),
    ),
    Family(
        "scanner_api_calls_total",
        "counter",
        "AWS API calls by service and operation (each retry is counted once, in the call).",
        OPERATION,
        lambda s: _by_operation(s.calls),
    ),
    Family(
        "scanner_last_scan_api_calls",
        "gauge",
        "AWS API calls the last scan made, by service and operation (its listing of the "
        "organization included when it listed; a warm scan reuses credentials and listing).",
        OPERATION,
        lambda s: _by_operation(s.last_scan_calls),
    ),
    Family(
        "scanner_api_throttles_total",
        "counter",
        "AWS API calls that ended throttled after their retries.",
        OPERATION,
        lambda s: _by_operation(s.throttles),
    ),
    Family(
        "scanner_api_throttled_responses_total",
        "counter",
        "Throttled responses to AWS API calls, retried or not: the pressure on the quotas.",
        OPERATION,
        lambda s: _by_operation(s.throttled_responses),
    ),
    Family(
        "scanner_api_retries_total",
        "counter",
        "Retries made for AWS API calls (after throttling, a transient error, or refused "
        "credentials).",
        OPERATION,
        lambda s: _by_operation(s.retries),
    ),
    Family(
        "scanner_api_errors_total",
        "counter",
        "AWS API calls that failed after their retries.",
        OPERATION,
        lambda s: _by_operation(s.call_errors),
    ),
    Family(
        "scanner_credential_refreshes_total",
        "counter",
        "Assumed-role credentials renewed: by scans (ahead of expiry, or after AWS refused "
        "them: ExpiredToken and kin) and in the background between them.",
        (),
        lambda s: [((), float(s.credential_refreshes))],
    ),
    Family(
        "scanner_engine_disagreements_total",
        "counter",
        "Events on which AWS's engine (logs:TestMetricFilter, scan.confirm) and the scanner's "
        "matcher disagreed; each is a note on its finding, never a changed verdict.",
        (),
        lambda s: [((), float(s.engine_disagreements))],
    ),
    Family(
        "scanner_alarm_history_disagreements_total",
        "counter",
        "Paths the scanner passed whose alarm's latest notification to the topic failed in AWS's "
        "alarm history (cloudwatch:DescribeAlarmHistory, scan.confirm); each is a note on its "
        "findings, never a changed verdict.",
        (),
        lambda s: [((), float(s.alarm_history_disagreements))],
    ),
    Family(
        "scanner_failed_alarm_actions_total",
        "counter",
        "Failed notifications (Failed to execute action ...) found in the history of the alarms "
        "the chains use (cloudwatch:DescribeAlarmHistory, scan.confirm); each is a note on its "
        "findings.",
        (),
        lambda s: [((), float(s.failed_alarm_actions))],
    ),
    Family(
        "scanner_account_list_fallbacks_total",
        "counter",
        "Organization listings that failed (after their retries) and were replaced by the "
        "last cached listing.",
        (),
        lambda s: [((), float(s.account_list_fallbacks()))],
    ),
    Family(
        "scanner_organization_listing_age_seconds",
        "gauge",
        "Seconds since the organization's account list the scans use was last listed (it is "
        "refreshed in the background every organization.account_list_refresh, and at once on "
        "a membership event; a failed refresh keeps the last list, and its age grows).",
        (),
        lambda s: _optional(s.listing_age()),
    ),
    Family(
        "scanner_http_front_restarts_total",
        "counter",
        "Times the front process that owns the HTTP port and answers the probes died and was "
        "started again (each restart is also logged as front_exited).",
        (),
        lambda s: [((), float(s.front_restarts()))],
    ),
    Family(
        "scanner_alerts_pending",
        "gauge",
        "Alert messages in the outbox not yet delivered, per target.",
        ("target",),
        _alerts_pending,
    ),
    Family(
        "scanner_alert_deliveries_total",
        "counter",
        "Alert delivery attempts per target and result (sent, retried, refused, abandoned).",
        ("target", "result"),
        _alert_deliveries,
    ),
    Family(
        "scanner_events_received_total",
        "counter",
        "CloudTrail change events received from the event queue(s).",
        (),
        lambda s: [((), float(s.events.received))],
    ),
    Family(
        "scanner_events_acted_total",
        "counter",
        "Events acted on: their account's changed part read again and its verdicts committed "
        "(or the organization listing refreshed, or a forwarding change counted).",
        (),
        lambda s: [((), float(s.events.acted))],
    ),
    Family(
        "scanner_events_ignored_total",
        "counter",
        "Events dropped without acting, by reason (malformed, failed_call, unknown_event, "
        "unknown_region, foreign_account, other_shard, not_entered).",
        ("reason",),
        _ignored,
    ),
    Family(
        "scanner_event_receive_errors_total",
        "counter",
        "Failed receives from the event queue (the consumer backs off; the schedule goes on).",
        (),
        lambda s: [((), float(s.events.receive_errors))],
    ),
    Family(
        "scanner_event_rejudged_accounts_total",
        "counter",
        "Accounts whose verdicts the event path committed (the changed ones and their dependents).",
        (),
        lambda s: [((), float(s.events.rejudged_accounts))],
    ),
    Family(
        "scanner_event_detection_seconds",
        "histogram",
        "Seconds from a change's CloudTrail event time to its verdicts committed (a transition "
        "is in the alert outbox then).",
        (),
        lambda s: _histogram(EVENT_BUCKETS, s.events.detection, s.events.detection_sum),
    ),
    Family(
        "scanner_event_handling_seconds",
        "histogram",
        "Seconds from an event received from the queue to its verdicts committed (the debounce "
        "included).",
        (),
        lambda s: _histogram(EVENT_BUCKETS, s.events.handling, s.events.handling_sum),
    ),
    Family(
        "scanner_event_queue_messages",
        "gauge",
        "ApproximateNumberOfMessages of the event queue at the last look (queue lag).",
        ("queue",),
        lambda s: _by_key(s.events.queue_messages),
    ),
    Family(
        "scanner_event_queue_oldest_message_age_seconds",
        "gauge",
        "Age of the oldest message of the last batch received (from its SentTimestamp).",
        ("queue",),
        lambda s: _by_key(s.events.oldest_age),
    ),
    Family(
        "scanner_event_last_timestamp_seconds",
        "gauge",
        "CloudTrail time of the last event received, per region: a region gone quiet shows.",
        ("aws_region",),
        lambda s: _by_key(s.events.last_event),
    ),
    Family(
        "scanner_changes_missed_by_events_total",
        "counter",
        "Transitions a scheduled scan found that no event announced since the scan before: "
        "changes the event path missed (a forwarding rule gone, a queue down, an event not in "
        "the catalog).",
        (),
        lambda s: [((), float(s.events.changes_missed))],
    ),
    Family(
        "scanner_event_forwarding_changes_total",
        "counter",
        "EventBridge rules or targets deleted or disabled (DeleteRule, DisableRule, "
        "RemoveTargets), per account and region: that account's changes may no longer arrive.",
        ("account_id", "aws_region"),
        _forwarding,
    ),
    Family(
        "scanner_build_info",
        "gauge",
        "Always 1; the scanner's version in a label.",
        ("version",),
        lambda s: [((s.version,), 1.0)],
    ),
    Family(
        "scanner_shard_ordinal",
        "gauge",
        "This replica's shard: it exports the accounts with sha256(account_id) mod "
        "scanner_total_shards equal to this.",
        (),
        lambda s: [((), float(s.shard.ordinal))],
    ),
    Family(
        "scanner_total_shards",
        "gauge",
        "The number of shards the organization's accounts are split into.",
        (),
        lambda s: [((), float(s.shard.total))],
    ),
)

_BUILDERS: dict[str, Callable[..., Metric]] = {
    "gauge": GaugeMetricFamily,
    "counter": CounterMetricFamily,
    "histogram": HistogramMetricFamily,
}


def _render(family: Family, state: MetricState) -> Metric:
    metric = _BUILDERS[family.kind](family.name, family.help, labels=family.labels)
    for labels, value in family.samples(state):
        if family.kind == "histogram":
            buckets, total = value
            metric.add_metric(list(labels), buckets, total)  # type: ignore[attr-defined]
        else:
            metric.add_metric(list(labels), value)  # type: ignore[attr-defined]
    return metric


# The families computed from the picture alone (the bulk of a scrape, per account): rendered once
# per scan and format, the others (counters, timestamps, the alert outbox) at every scrape.
PER_SCAN = frozenset(
    {
        "scanner_account_info",
        "scanner_account_controls",
        "scanner_control_failure_info",
        "scanner_rule_info",
        "scanner_findings",
        "scanner_suppressed_findings",
        "scanner_account_last_success_timestamp_seconds",
        "scanner_account_errors",
        "scanner_collection_errors",
        "scanner_scan_accounts",
    }
)
_EOF = b"# EOF\n"


class _Collector:
    def __init__(self, state: MetricState, families: tuple[Family, ...] = FAMILIES) -> None:
        self.state = state
        self.families = families

    def collect(self) -> Iterator[Metric]:
        for family in self.families:
            yield _render(family, self.state)

    def describe(self) -> Iterator[Metric]:
        # Describing without samples keeps registration from calling collect().
        for family in self.families:
            yield _BUILDERS[family.kind](family.name, family.help, labels=family.labels)


def _registry(state: MetricState, families: tuple[Family, ...]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(_Collector(state, families))
    return registry


# --------------------------------------------------------------------------------------------
# Updating the state.


class Metrics:
    """The daemon's metrics: its own registry, fed scan records and the restored state."""

    def __init__(self, shard: Shard | None = None, build_version: str | None = None) -> None:
        self.state = MetricState(shard or Shard(), build_version or version())
        self.registry = _registry(self.state, FAMILIES)
        self._per_scan = _registry(self.state, tuple(f for f in FAMILIES if f.name in PER_SCAN))
        self._live = _registry(self.state, tuple(f for f in FAMILIES if f.name not in PER_SCAN))

    def restore(
        self,
        findings: Iterable[Finding],
        last_success: float | None = None,
        accounts: Iterable[AccountView] = (),
        account_success: Mapping[str, float] | None = None,
    ) -> None:
        """The last known state from the store, before the first scan of this process."""
        owns = self.state.shard.owns
        self.state.picture = Picture.of(
            (f for f in findings if owns(f.account_id)),
            (a for a in accounts if owns(a.id)),
            {a: t for a, t in (account_success or {}).items() if owns(a)},
        )
        self.state.last_success = last_success

    def record(self, scan: ScanResult) -> None:
        """Count the scan and, when it succeeded, swap in its picture (callable off the loop)."""
        state = self.state
        state.scans = state.scans + Counter({scan.outcome: 1})
        state.last_scan = scan.finished
        counts = list(state.duration_counts)
        counts[bisect.bisect_left(DURATION_BUCKETS, scan.duration)] += 1
        state.duration_counts = counts
        state.duration_sum += scan.duration
        last: Counter[tuple[str, str]] = Counter()
        for stats in scan.stats:
            self.count_calls(stats)
            last.update({key: op.calls for key, op in stats.by_operation().items()})
        state.last_scan_calls = last
        state.engine_disagreements += scan.engine_disagreements
        state.alarm_history_disagreements += scan.alarm_history_disagreements
        state.failed_alarm_actions += scan.failed_alarm_actions
        if scan.outcome != "success":
            return
        success = self.account_success_after(scan)
        state.picture = Picture.of(scan.findings, scan.accounts, success)
        state.last_success = scan.finished

    def merge(self, part: ScanResult) -> None:
        """Swap in the picture with some accounts' findings and views replaced: the event
        path's commit (``part.accounts`` are the accounts re-judged; the scan families stay)."""
        state = self.state
        success = dict(state.picture.account_success)
        success.update((v.id, part.finished) for v in part.accounts if v.state in DECIDED)
        state.picture = state.picture.merged(part.findings, part.accounts, success)

    def account_success_after(self, scan: ScanResult) -> dict[str, float]:
        """Per account of a successful scan, its last success: this scan's end if its findings
        were decided (read, or not entered because other accounts' resources decided them)."""
        before = self.state.picture.account_success
        success = {v.id: before[v.id] for v in scan.accounts if v.id in before}
        success.update((v.id, scan.finished) for v in scan.accounts if v.state in DECIDED)
        return success

    def count_calls(self, stats: CallStats) -> None:
        """Add calls to the API counters (a scan's, or a listing made between scans)."""
        state = self.state
        calls, throttles = Counter(state.calls), Counter(state.throttles)
        throttled = Counter(state.throttled_responses)
        retries, errors = Counter(state.retries), Counter(state.call_errors)
        for key, op in stats.by_operation().items():
            calls[key] += op.calls
            throttles[key] += op.throttles
            throttled[key] += op.throttled_responses
            retries[key] += op.retries
            errors[key] += op.errors
        state.calls, state.throttles, state.throttled_responses = calls, throttles, throttled
        state.retries, state.call_errors = retries, errors
        state.credential_refreshes += stats.credential_refreshes

    def exposition(self) -> bytes:
        """The classic text format of every family."""
        return generate_latest(self.registry)

    def negotiate(self, accept: str) -> tuple[bytes, str]:
        """The body and content type the scraper's Accept header asks for (OpenMetrics or text).

        The per-account families are rendered once per scan and format (one format is cached:
        a scraper asks for the same one each time); the rest at every call. CPU work
        proportional to the organization at the first call after a scan: call it in a worker
        thread, one at a time.
        """
        encoder, content_type = choose_encoder(accept)
        rendered = self.state.picture.rendered
        per_scan = rendered.get(content_type)
        if per_scan is None:
            per_scan = encoder(self._per_scan)
            if per_scan.endswith(_EOF):  # OpenMetrics ends once, after the live families
                per_scan = per_scan[: -len(_EOF)]
            rendered.clear()
            rendered[content_type] = per_scan
        return per_scan + encoder(self._live), content_type


__all__ = [
    "CONTENT_TYPE",
    "EVENT_BUCKETS",
    "FAMILIES",
    "IGNORE_REASONS",
    "AccountView",
    "EventStats",
    "Family",
    "MetricState",
    "Metrics",
    "Picture",
    "ScanResult",
    "version",
]
