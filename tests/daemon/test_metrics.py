"""Metrics derived from findings: Prometheus naming, one-hot statuses, counters that add up."""

from __future__ import annotations

import dataclasses
import functools
import json
import weakref
from collections.abc import Iterable

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from scanner.aws import CallStats
from scanner.daemon.metrics import FAMILIES, PER_SCAN, AccountView, Metrics, ScanResult
from scanner.daemon.reasons import REASON_CODES
from scanner.daemon.sharding import Shard
from scanner.model import Account, CollectionError, Finding, Status
from scanner.testing import demo
from scanner.testing.emulation import MOTO_ERROR_SHAPE_WARNING


@functools.cache
def demo_scan() -> demo.DemoResult:
    return demo.run()


A, B = "111111111111", "222222222222"


def finding(account: str, rule: str, status: Status, severity: str = "high") -> Finding:
    return Finding(
        account_id=account,
        account_name=f"name-{account[0]}",
        rule=rule,
        title=rule,
        severity=severity,
        profile="recommended",
        status=status,
        reason="because",
    )


def samples(metrics: Metrics, name: str) -> list[Sample]:
    text = metrics.exposition().decode()
    return [
        s
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


def value(metrics: Metrics, name: str, **labels: str) -> float:
    found = [s.value for s in samples(metrics, name) if labels.items() <= s.labels.items()]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def summed(metrics: Metrics, name: str, **labels: str) -> float:
    """sum(name{labels}) as PromQL computes it."""
    return sum(s.value for s in samples(metrics, name) if labels.items() <= s.labels.items())


def scan(
    findings: Iterable[Finding],
    accounts: Iterable[AccountView] = (),
    *,
    at: float = 1000.0,
    seconds: float = 4.0,
    outcome: str = "success",
    stats: tuple[CallStats, ...] = (),
) -> ScanResult:
    return ScanResult(at - seconds, at, outcome, tuple(findings), tuple(accounts), stats)


def test_names_follow_the_prometheus_guidance() -> None:
    names = [f.name for f in FAMILIES]
    assert len(names) == len(set(names))
    for family in FAMILIES:
        assert family.name.startswith("scanner_")
        assert family.name.endswith("_total") == (family.kind == "counter"), family.name
        assert "region" not in family.labels, family.name
        assert family.help.endswith("."), family.name
    cached = {f.name for f in FAMILIES if "cached" in f.help}
    assert {"scanner_account_controls", "scanner_account_errors", "scanner_scan_accounts"} <= cached
    assert "aws_region" in {label for f in FAMILIES for label in f.labels}


def test_identity_rides_once_per_account_and_controls_are_counted_per_status() -> None:
    metrics = Metrics()
    views = [AccountView(A, "prod", "Workloads/Production"), AccountView(B, "dev", "Sandbox")]
    metrics.record(
        scan(
            [
                finding(A, "root-account-usage", Status.FAIL, "critical"),
                finding(A, "vpc-changes", Status.FAIL),
                finding(A, "nacl-changes", Status.PASS),
                finding(B, "root-account-usage", Status.ERROR, "critical"),
                finding(B, "vpc-changes", Status.PASS),
            ],
            views,
        )
    )
    info = samples(metrics, "scanner_account_info")
    assert [s.labels for s in info] == [
        {"account_id": A, "account_name": "prod", "organizational_unit": "Workloads/Production"},
        {"account_id": B, "account_name": "dev", "organizational_unit": "Sandbox"},
    ]
    # No other family repeats the identity.
    for family in FAMILIES:
        if family.name != "scanner_account_info":
            assert not {"account_name", "organizational_unit"} & set(family.labels), family.name
    # One series per (account, status), zeros included: compliance is PASS over the sum.
    assert len(samples(metrics, "scanner_account_controls")) == 2 * 3
    assert value(metrics, "scanner_account_controls", account_id=A, status="FAIL") == 2
    assert value(metrics, "scanner_account_controls", account_id=A, status="PASS") == 1
    assert value(metrics, "scanner_account_controls", account_id=B, status="FAIL") == 0
    assert value(metrics, "scanner_account_controls", account_id=B, status="ERROR") == 1
    # A per-control series only for what is not PASS.
    failing = {
        (s.labels["account_id"], s.labels["rule"], s.labels["status"])
        for s in samples(metrics, "scanner_control_failure_info")
    }
    assert failing == {
        (A, "root-account-usage", "FAIL"),
        (A, "vpc-changes", "FAIL"),
        (B, "root-account-usage", "ERROR"),
    }
    assert value(metrics, "scanner_rule_info", rule="root-account-usage") == 1
    assert {s.labels["severity"] for s in samples(metrics, "scanner_rule_info")} == {
        "critical",
        "high",
    }
    assert value(metrics, "scanner_findings", rule="root-account-usage", status="FAIL") == 1


def test_failure_labels_are_bounded_whatever_the_reason_says() -> None:
    wordings = [
        'none of the 9 metric filters on log group "x" catches any event of this rule',
        'metric filter "F" on log group "g" misses 6 events (A, B, C, D, E, F)',
        'metric filter "F" on log group "g" misses 1 event (A)',
        "cannot read the event selectors of t: cloudtrail GetEventSelectors failed: "
        "AccessDeniedException: no",
        "account 1 could not be scanned: sts AssumeRole failed: AccessDenied: no",
        "a wording nobody wrote yet",
    ]
    metrics = Metrics()
    metrics.record(
        scan(
            [
                dataclasses.replace(finding(A, f"rule-{i}", Status.FAIL), reason=reason)
                for i, reason in enumerate(wordings)
            ],
            [AccountView(A, "a")],
        )
    )
    codes = [s.labels["reason"] for s in samples(metrics, "scanner_control_failure_info")]
    assert codes == [
        "pattern_gap",
        "pattern_gap",
        "pattern_gap",
        "access_denied",
        "account_unreachable",
        "other",
    ]
    assert set(codes) <= set(REASON_CODES)
    text = metrics.exposition().decode()
    assert "misses" not in text and "nobody" not in text


@pytest.mark.filterwarnings(MOTO_ERROR_SHAPE_WARNING)
def test_the_demo_exports_at_most_2_kb_per_account_and_no_reason_is_other() -> None:
    """The demo's scan (its findings, computed once for the test session) as /metrics shows it."""
    result = demo_scan()
    inventory = result.collected.inventory
    views = tuple(AccountView.of(a) for a in inventory.accounts if inventory.reported(a.id))
    metrics = Metrics()
    metrics.record(ScanResult(0.0, 1.0, "success", tuple(result.findings), views))
    body = metrics.exposition()
    assert len(body) / len(views) <= 2048, len(body) / len(views)
    reasons = {s.labels["reason"] for s in samples(metrics, "scanner_control_failure_info")}
    assert reasons and "other" not in reasons


def test_metrics_negotiate_openmetrics_or_the_classic_text() -> None:
    metrics = Metrics()
    metrics.record(scan([finding(A, "vpc-changes", Status.FAIL)], [AccountView(A, "a")]))
    body, kind = metrics.negotiate("application/openmetrics-text; version=1.0.0; charset=utf-8")
    assert kind.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
    body, kind = metrics.negotiate("*/*")
    assert kind == "text/plain; version=0.0.4; charset=utf-8"
    assert body == metrics.exposition()


def test_the_next_scan_replaces_the_picture_and_drops_accounts_that_left() -> None:
    metrics = Metrics()
    metrics.record(
        scan(
            [finding(A, "vpc-changes", Status.FAIL), finding(B, "vpc-changes", Status.PASS)],
            [AccountView(A, "a"), AccountView(B, "b")],
            at=1000.0,
        )
    )
    metrics.record(scan([finding(A, "vpc-changes", Status.PASS)], [AccountView(A, "a")], at=2000.0))
    assert {s.labels["account_id"] for s in samples(metrics, "scanner_account_controls")} == {A}
    assert {s.labels["account_id"] for s in samples(metrics, "scanner_account_info")} == {A}
    assert value(metrics, "scanner_account_controls", account_id=A, status="PASS") == 1
    assert samples(metrics, "scanner_control_failure_info") == []
    assert value(metrics, "scanner_account_last_success_timestamp_seconds", account_id=A) == 2000
    assert samples(metrics, "scanner_account_last_success_timestamp_seconds")[0].labels == {
        "account_id": A
    }


def test_a_scan_that_did_not_complete_keeps_the_findings_and_moves_only_the_scan_families() -> None:
    metrics = Metrics()
    metrics.record(scan([finding(A, "vpc-changes", Status.FAIL)], [AccountView(A, "a")], at=1000.0))
    metrics.record(scan([], at=2000.0, seconds=1200.0, outcome="deadline"))
    assert value(metrics, "scanner_account_controls", account_id=A, status="FAIL") == 1
    assert value(metrics, "scanner_last_scan_timestamp_seconds") == 2000
    assert value(metrics, "scanner_last_successful_scan_timestamp_seconds") == 1000
    assert value(metrics, "scanner_scans_total", outcome="success") == 1
    assert value(metrics, "scanner_scans_total", outcome="deadline") == 1
    assert value(metrics, "scanner_scan_duration_seconds_count") == 2
    assert value(metrics, "scanner_scan_duration_seconds_sum") == 1204
    assert value(metrics, "scanner_scan_duration_seconds_bucket", le="5.0") == 1
    assert value(metrics, "scanner_scan_duration_seconds_bucket", le="1200.0") == 2


def test_accounts_scanned_not_entered_skipped_failed_and_their_error_reasons() -> None:
    denied = CollectionError("sts", "AssumeRole", "AccessDenied", "no", "us-east-1")
    throttled = CollectionError("logs", "DescribeMetricFilters", "Throttling", "slow", "eu-west-1")
    accounts = [
        Account(A, "a", ("Workloads",), errors=(throttled, throttled)),
        Account(B, "b", error=denied),
        Account("333333333333", "c", status="SUSPENDED"),
        Account("444444444444", "d", entered=False),  # the organization trail decided it all
    ]
    views = [AccountView.of(a) for a in accounts]
    assert [v.state for v in views] == ["scanned", "failed", "skipped", "not_entered"]
    metrics = Metrics()
    metrics.record(scan([], views))
    assert value(metrics, "scanner_scan_accounts", state="scanned") == 1
    assert value(metrics, "scanner_scan_accounts", state="not_entered") == 1
    assert value(metrics, "scanner_scan_accounts", state="failed") == 1
    assert value(metrics, "scanner_scan_accounts", state="skipped") == 1
    assert value(metrics, "scanner_account_errors", account_id=A, reason="Throttling") == 2
    assert value(metrics, "scanner_account_errors", account_id=B, reason="AccessDenied") == 1
    assert (
        value(
            metrics,
            "scanner_collection_errors",
            account_id=A,
            aws_region="eu-west-1",
            service="logs",
            operation="DescribeMetricFilters",
        )
        == 2
    )
    # Only accounts whose findings were decided have a last success: entered, or not entered
    # because the organization trail decided every rule.
    stamped = {
        s.labels["account_id"]
        for s in samples(metrics, "scanner_account_last_success_timestamp_seconds")
    }
    assert stamped == {A, "444444444444"}


def test_api_counters_accumulate_over_scans_with_every_throttled_response_and_refresh() -> None:
    stats = CallStats()
    stats.record(A, "cloudtrail", "DescribeTrails", retries=2, error_code=None, throttled=2)
    stats.record(
        A, "cloudtrail", "DescribeTrails", retries=0, error_code="ThrottlingException", throttled=1
    )
    stats.record(B, "sts", "AssumeRole", retries=0, error_code=None)
    stats.record(B, "sts", "AssumeRole", retries=0, error_code=None)  # a refresh
    stats.record_refresh(B)
    stats.record(A, "sts", "AssumeRole", retries=0, error_code=None)
    metrics = Metrics()
    metrics.record(scan([], stats=(stats,)))
    metrics.record(scan([], stats=(stats,), at=2000.0))
    op = {"service": "cloudtrail", "operation": "DescribeTrails"}
    assert value(metrics, "scanner_api_calls_total", **op) == 4
    assert value(metrics, "scanner_api_retries_total", **op) == 4
    assert value(metrics, "scanner_api_throttles_total", **op) == 2
    assert value(metrics, "scanner_api_throttled_responses_total", **op) == 6
    assert value(metrics, "scanner_api_errors_total", **op) == 2
    assert value(metrics, "scanner_credential_refreshes_total") == 2


def test_build_info_and_shard() -> None:
    metrics = Metrics(Shard(2, 5), build_version="1.2.3")
    assert value(metrics, "scanner_build_info", version="1.2.3") == 1
    assert value(metrics, "scanner_shard_ordinal") == 2
    assert value(metrics, "scanner_total_shards") == 5


def test_restored_state_is_served_before_any_scan_with_its_labels_and_only_this_shards() -> None:
    shard = Shard(0, 2)
    mine = next(a for a in (A, B, "333333333333", "444444444444") if shard.owns(a))
    other = next(a for a in (A, B, "333333333333", "444444444444") if not shard.owns(a))
    metrics = Metrics(shard)
    metrics.restore(
        [finding(mine, "vpc-changes", Status.FAIL), finding(other, "vpc-changes", Status.FAIL)],
        last_success=1234.0,
        accounts=[AccountView(mine, "mine", "Workloads"), AccountView(other, "other", "X")],
        account_success={mine: 1200.0, other: 1200.0},
    )
    assert {s.labels["account_id"] for s in samples(metrics, "scanner_account_controls")} == {mine}
    assert value(metrics, "scanner_account_info", account_id=mine) == 1
    assert samples(metrics, "scanner_account_info")[0].labels["organizational_unit"] == "Workloads"
    assert value(metrics, "scanner_account_last_success_timestamp_seconds", account_id=mine) == 1200
    assert len(samples(metrics, "scanner_account_last_success_timestamp_seconds")) == 1
    assert value(metrics, "scanner_last_successful_scan_timestamp_seconds") == 1234
    assert samples(metrics, "scanner_last_scan_timestamp_seconds") == []


def test_account_views_survive_their_json_round_trip() -> None:
    denied = CollectionError("sts", "AssumeRole", "AccessDenied", "no", "us-east-1")
    view = AccountView(A, "a", "Workloads/Production", "failed", (denied,))
    again = AccountView.from_json(A, json.loads(json.dumps(view.to_json())))
    assert (again.name, again.organizational_unit, again.state) == (
        "a",
        "Workloads/Production",
        "failed",
    )
    assert [(e.region, e.service, e.operation, e.code) for e in again.errors] == [
        ("us-east-1", "sts", "AssumeRole", "AccessDenied")
    ]


def test_alert_outbox_families_read_the_alert_machinery_at_scrape_time() -> None:
    metrics = Metrics()
    pending = {"hook": 3}
    metrics.state.alerts_pending = lambda: pending
    metrics.state.alert_deliveries = lambda: {("hook", "sent"): 5}
    assert value(metrics, "scanner_alerts_pending", target="hook") == 3
    pending["hook"] = 0
    assert value(metrics, "scanner_alerts_pending", target="hook") == 0
    assert value(metrics, "scanner_alert_deliveries_total", target="hook", result="sent") == 5


def test_the_per_account_families_render_once_per_scan_and_the_rest_at_every_scrape() -> None:
    metrics = Metrics()
    pending = {"hook": 1}
    metrics.state.alerts_pending = lambda: pending
    metrics.record(scan([finding(A, "vpc-changes", Status.FAIL)], [AccountView(A, "a")]))
    openmetrics = "application/openmetrics-text; version=1.0.0"
    for accept in ("", openmetrics):
        first, _ = metrics.negotiate(accept)
        # Everything the full exposition has, in the same order.
        assert first == metrics.negotiate(accept)[0]
        full, _ = metrics.negotiate(accept)
        if accept:
            assert full.count(b"# EOF") == 1 and full.endswith(b"# EOF\n")
        else:
            assert full == metrics.exposition()
    pending["hook"] = 7  # a live family moves between scans
    body, _ = metrics.negotiate("")
    assert b'scanner_alerts_pending{target="hook"} 7.0' in body
    assert body == metrics.exposition()
    metrics.record(scan([finding(A, "vpc-changes", Status.PASS)], [AccountView(A, "a")], at=2000))
    body, _ = metrics.negotiate("")
    assert b'scanner_account_controls{account_id="111111111111",status="PASS"} 1.0' in body
    assert body == metrics.exposition()
    assert {f.name for f in FAMILIES} >= PER_SCAN


def test_a_scan_frees_the_last_picture_though_no_scrape_came_since() -> None:
    """The per-scan render kept for the next scrape does not keep the picture it was made from
    alive: what a scan replaces (its findings, the API's ids) is freed when it is replaced."""
    metrics = Metrics()
    metrics.record(scan([finding(A, "vpc-changes", Status.FAIL)], [AccountView(A, "a")]))
    metrics.negotiate("")
    replaced = weakref.ref(metrics.state.picture)
    metrics.record(scan([finding(A, "vpc-changes", Status.PASS)], [AccountView(A, "a")], at=2000))
    assert replaced() is None  # freed at once (reference counting), before any scrape
    body, _ = metrics.negotiate("")  # and the next scrape renders the new picture
    assert b'scanner_account_controls{account_id="111111111111",status="PASS"} 1.0' in body


def test_an_event_merge_exports_what_a_scan_of_the_same_findings_would() -> None:
    """The event path replaces a few accounts' findings; the families then say exactly what a
    scan that found the merged findings would have said."""
    C = "333333333333"
    before = [
        finding(A, "r1", Status.PASS),
        finding(A, "r2", Status.FAIL),
        finding(B, "r1", Status.PASS),
        finding(B, "r2", Status.PASS),
        finding(C, "r1", Status.ERROR),
    ]
    views = [AccountView(A, "a"), AccountView(B, "b"), AccountView(C, "c")]
    changed = [finding(B, "r1", Status.FAIL), finding(B, "r2", Status.PASS)]
    merged, scanned = Metrics(), Metrics()
    merged.record(scan(before, views))
    merged.merge(scan(changed, [AccountView(B, "b")], at=2000.0))
    after = [f for f in before if f.account_id != B] + changed
    scanned.record(scan(after, views))
    scanned.state.picture = dataclasses.replace(
        scanned.state.picture, account_success={A: 1000.0, B: 2000.0, C: 1000.0}
    )
    for name in sorted(PER_SCAN):
        assert sorted(map(str, samples(merged, name))) == sorted(map(str, samples(scanned, name)))
    assert value(merged, "scanner_account_controls", account_id=B, status="FAIL") == 1
    # A rule that appears for the account (not in the picture before) is merged as well.
    merged.merge(scan([*changed, finding(B, "r3", Status.FAIL)], [AccountView(B, "b")]))
    assert value(merged, "scanner_account_controls", account_id=B, status="FAIL") == 2
