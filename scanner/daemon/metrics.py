"""Prometheus metrics derived from findings: a table of families, as kube-state-metrics does it.

Every family is a row of :data:`FAMILIES`: its name, type, help, labels, and a function from
the daemon's :class:`MetricState` to samples. Nothing is set imperatively: a scrape renders the
table from the state, so a family can never disagree with the findings, and an account that
leaves the organization (or the shard) leaves every family at the next scan.

Naming follows Prometheus's guidance: prefix ``scanner_``, base units (seconds), ``_total`` only
on counters, ``account_id`` and ``aws_region`` labels (never ``region``); HELP says when a value
is cached from the last scan. ``scanner_control_status`` is one-hot: for each (account, rule)
one series per status, 1 for the current one and 0 for the others, so
``sum by (account_id) (scanner_control_status{status="FAIL"})`` counts failing controls without
double counting and a status change is a change of value, not a series appearing.

Counters (API calls, throttled responses, throttles, retries, credential refreshes, scans)
accumulate over the process's life from each scan's call statistics, which count every attempt
(the collector's gateway makes the retries itself) and every renewal of assumed credentials.
A failed organization listing that falls back to the cached one is counted too (read from the
account list at scrape time).
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest

from scanner.aws import CallStats
from scanner.daemon.sharding import Shard
from scanner.model import ACCOUNT_ACTIVE, Account, CollectionError, Finding, Status

DISTRIBUTION = "cloudtrail-monitoring-scanner"
CACHED = "As of the last completed scan (cached between scans)."
# Scan durations: seconds for a small organization up to the default 20-minute deadline.
DURATION_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0)
ACCOUNT_STATES = ("scanned", "skipped", "failed")
SCAN_OUTCOMES = ("success", "failed", "deadline")
# The classic text format generate_latest() writes, understood by every Prometheus version.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


# --------------------------------------------------------------------------------------------
# The state the families are computed from.


@dataclass(frozen=True)
class AccountView:
    """What the metrics need of an account: labels, how the scan went, which calls failed."""

    id: str
    name: str
    organizational_unit: str = ""
    state: str = "scanned"  # scanned | skipped | failed
    errors: tuple[CollectionError, ...] = ()

    @classmethod
    def of(cls, account: Account) -> AccountView:
        if account.status != ACCOUNT_ACTIVE:
            state = "skipped"
        elif account.error is not None:
            state = "failed"
        else:
            state = "scanned"
        errors = (account.error, *account.errors) if account.error else account.errors
        return cls(account.id, account.name, "/".join(account.ou_path), state, errors)


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

    @property
    def duration(self) -> float:
        return max(0.0, self.finished - self.started)


@dataclass
class MetricState:
    """Everything the families read; mutated only by :class:`Metrics`."""

    shard: Shard
    version: str
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)
    accounts: dict[str, AccountView] = field(default_factory=dict)
    account_success: dict[str, float] = field(default_factory=dict)
    last_scan: float | None = None
    last_success: float | None = None
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    throttles: Counter[tuple[str, str]] = field(default_factory=Counter)
    throttled_responses: Counter[tuple[str, str]] = field(default_factory=Counter)
    retries: Counter[tuple[str, str]] = field(default_factory=Counter)
    call_errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    credential_refreshes: int = 0
    scans: Counter[str] = field(default_factory=Counter)
    duration_counts: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS) + 1))
    duration_sum: float = 0.0
    # Read at scrape time from the alert machinery, when there is one.
    alerts_pending: Callable[[], Mapping[str, int]] = dict
    account_list_fallbacks: Callable[[], int] = int
    alert_deliveries: Callable[[], Mapping[tuple[str, str], int]] = dict

    def labels_of(self, account_id: str, fallback_name: str) -> tuple[str, str]:
        view = self.accounts.get(account_id)
        return (view.name, view.organizational_unit) if view else (fallback_name, "")


# --------------------------------------------------------------------------------------------
# Sample functions: state -> ((label values), value).

Samples = Iterable[tuple[tuple[str, ...], Any]]


def _control_status(s: MetricState) -> Samples:
    for (account_id, rule), finding in sorted(s.findings.items()):
        name, ou = s.labels_of(account_id, finding.account_name)
        for status in Status:
            value = 1.0 if finding.status is status else 0.0
            yield (account_id, name, ou, rule, finding.severity, status.value), value


def _control_failures(s: MetricState) -> Samples:
    for (account_id, rule), finding in sorted(s.findings.items()):
        if finding.status is Status.PASS:
            continue
        name, ou = s.labels_of(account_id, finding.account_name)
        link = finding.broken_link.value if finding.broken_link else ""
        labels = (account_id, name, ou, rule, finding.severity, finding.status.value, link)
        yield (*labels, finding.reason), 1.0


def _account_success(s: MetricState) -> Samples:
    for account_id, when in sorted(s.account_success.items()):
        yield (account_id,), when


def _account_errors(s: MetricState) -> Samples:
    for account_id, view in sorted(s.accounts.items()):
        for reason, count in sorted(Counter(e.code for e in view.errors).items()):
            yield (account_id, reason), float(count)


def _collection_errors(s: MetricState) -> Samples:
    for account_id, view in sorted(s.accounts.items()):
        counted = Counter((e.region or "", e.service, e.operation, e.code) for e in view.errors)
        for key, count in sorted(counted.items()):
            yield (account_id, *key), float(count)


def _scan_accounts(s: MetricState) -> Samples:
    counted = Counter(view.state for view in s.accounts.values())
    for state in ACCOUNT_STATES:
        yield (state,), float(counted[state])


def _findings(s: MetricState) -> Samples:
    counted = Counter((f.rule, f.severity, f.status.value) for f in s.findings.values())
    rules = sorted({(f.rule, f.severity) for f in s.findings.values()})
    for rule, severity in rules:
        for status in Status:
            yield (rule, severity, status.value), float(counted[rule, severity, status.value])


def _optional(value: float | None) -> Samples:
    return [((), value)] if value is not None else []


def _by_operation(counter: Counter[tuple[str, str]]) -> Samples:
    return [((service, operation), float(n)) for (service, operation), n in sorted(counter.items())]


def _scans(s: MetricState) -> Samples:
    return [((outcome,), float(s.scans[outcome])) for outcome in SCAN_OUTCOMES]


def _durations(s: MetricState) -> Samples:
    cumulative, buckets = 0, []
    for bound, count in zip((*DURATION_BUCKETS, float("inf")), s.duration_counts, strict=True):
        cumulative += count
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), float(cumulative)))
    return [((), (buckets, s.duration_sum))]


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
        "scanner_control_status",
        "gauge",
        "1 for the current status of a control (rule) in an account, 0 for the other statuses: "
        "PASS it works, FAIL it is broken, ERROR it could not be determined. " + CACHED,
        (*ACCOUNT_LABELS, "rule", "severity", "status"),
        _control_status,
    ),
    Family(
        "scanner_control_failure_info",
        "gauge",
        "1 for every control that is not PASS, with the link of its chain that broke and the "
        "one-line reason (what a dashboard table shows). " + CACHED,
        (*ACCOUNT_LABELS, "rule", "severity", "status", "broken_link", "reason"),
        _control_failures,
    ),
    Family(
        "scanner_findings",
        "gauge",
        "Accounts of this shard per rule and status. " + CACHED,
        ("rule", "severity", "status"),
        _findings,
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
        "Accounts of this shard in the last completed scan: scanned, skipped (not ACTIVE) or "
        "failed (could not be entered). " + CACHED,
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
        "Assumed-role credentials renewed during scans (ahead of expiry, or after AWS refused "
        "them: ExpiredToken and kin).",
        (),
        lambda s: [((), float(s.credential_refreshes))],
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


class _Collector:
    def __init__(self, state: MetricState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        for family in FAMILIES:
            yield _render(family, self.state)

    def describe(self) -> Iterator[Metric]:
        # Describing without samples keeps registration from calling collect().
        for family in FAMILIES:
            yield _BUILDERS[family.kind](family.name, family.help, labels=family.labels)


# --------------------------------------------------------------------------------------------
# Updating the state.


class Metrics:
    """The daemon's metrics: its own registry, fed scan records and the restored state."""

    def __init__(self, shard: Shard | None = None, build_version: str | None = None) -> None:
        self.state = MetricState(shard or Shard(), build_version or version())
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_Collector(self.state))

    def restore(self, findings: Iterable[Finding], last_success: float | None = None) -> None:
        """The last known findings from the state file, before the first scan of this process."""
        self.state.findings = {
            (f.account_id, f.rule): f for f in findings if self.state.shard.owns(f.account_id)
        }
        self.state.last_success = last_success

    def record(self, scan: ScanResult) -> None:
        state = self.state
        state.scans[scan.outcome] += 1
        state.last_scan = scan.finished
        state.duration_counts[bisect.bisect_left(DURATION_BUCKETS, scan.duration)] += 1
        state.duration_sum += scan.duration
        for stats in scan.stats:
            self._count_calls(stats)
        if scan.outcome != "success":
            return
        state.last_success = scan.finished
        state.findings = {(f.account_id, f.rule): f for f in scan.findings}
        state.accounts = {a.id: a for a in scan.accounts}
        for view in scan.accounts:
            if view.state == "scanned":
                state.account_success[view.id] = scan.finished
        for gone in set(state.account_success) - set(state.accounts):
            del state.account_success[gone]

    def _count_calls(self, stats: CallStats) -> None:
        state = self.state
        for key, op in stats.by_operation().items():
            state.calls[key] += op.calls
            state.throttles[key] += op.throttles
            state.throttled_responses[key] += op.throttled_responses
            state.retries[key] += op.retries
            state.call_errors[key] += op.errors
        state.credential_refreshes += stats.credential_refreshes

    def exposition(self) -> bytes:
        """The text format of every family, as /metrics serves it."""
        return generate_latest(self.registry)


__all__ = [
    "CONTENT_TYPE",
    "FAMILIES",
    "AccountView",
    "Family",
    "MetricState",
    "Metrics",
    "ScanResult",
    "version",
]
