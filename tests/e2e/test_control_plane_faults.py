"""Faults of the control plane and of credentials, end to end through moto's server.

moto has no fault injection: each test patches moto's response dispatch in this process
(:mod:`e2e.faults`) so that its Organizations and STS answer as AWS does under pressure
(TooManyRequestsException, Throttling) or refuse keys before their time (ExpiredToken), and
serialises the error in the service's own protocol. The backoff is shrunk through the scan's
options (milliseconds instead of seconds), never by sleeping.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from typing import Any

import pytest
import structlog.testing
from e2e import emulated_org as org
from e2e import faults
from moto.cloudtrail.responses import CloudTrailResponse
from moto.organizations.responses import OrganizationsResponse
from moto.sts.responses import TokenResponse

from scanner.aws import ScanError, ScanOptions, collect
from scanner.aws.clients import ClientPool
from scanner.aws.credentials import Credentials
from scanner.aws.gateway import Caller, RetryPolicy
from scanner.aws.scan import CollectResult
from scanner.daemon.accounts import AccountList
from scanner.daemon.metrics import Metrics
from scanner.evaluate import evaluate
from scanner.model import Status

ROOT = "root-account-usage"
TRAIL_CHANGES = "cloudtrail-config-changes"
FAST: dict[str, Any] = {
    "rate_limits": {"organizations": 100.0},
    "backoff": (0.001, 0.01),
    "regions": ("us-east-1",),
}
ORGANIZATIONS_CALLS = (
    "describe_organization",
    "list_roots",
    "list_accounts_for_parent",
    "list_organizational_units_for_parent",
)
STS_CALLS = ("get_caller_identity", "assume_role")


def scan(**options: Any) -> CollectResult:
    return asyncio.run(collect(ScanOptions(organization=True, **{**FAST, **options})))


def verdicts(result: CollectResult) -> dict[tuple[str, str], Status]:
    return {(f.account_id, f.rule): f.status for f in evaluate(result.inventory)}


def build() -> dict[str, str]:
    """Management with an organization trail for ROOT; beta adds its own for TRAIL_CHANGES."""
    ids = org.organization("alpha", "beta", ou="Workloads")
    org.chain(org.management(), name="org", organization_trail=True, rules=(ROOT,))
    org.chain(org.enter(ids["beta"]), name="own", rules=(TRAIL_CHANGES,))
    return ids


def throttle_control_plane(monkeypatch: pytest.MonkeyPatch, share: float) -> list[list[int]]:
    """Throttle ``share`` of every Organizations and STS request (seeded); the fault counters."""
    rng = random.Random(7)
    counters = [
        faults.inject(
            monkeypatch,
            OrganizationsResponse,
            method,
            "TooManyRequestsException",
            "AWS Organizations can't complete your request because another request is in progress",
            when=lambda _: rng.random() < share,
        )
        for method in ORGANIZATIONS_CALLS
    ]
    counters += [
        faults.inject(
            monkeypatch,
            TokenResponse,
            method,
            "Throttling",
            "Rate exceeded",
            when=lambda _: rng.random() < share,
        )
        for method in STS_CALLS
    ]
    return counters


@pytest.mark.slow
@pytest.mark.parametrize("share", [0.6, 0.9])
def test_a_throttled_control_plane_slows_the_scan_down_and_changes_no_verdict(
    aws: str, monkeypatch: pytest.MonkeyPatch, share: float
) -> None:
    build()
    calm = scan()
    counters = throttle_control_plane(monkeypatch, share)

    pressed = scan()

    injected = sum(c[0] for c in counters)
    assert injected > 5
    # No false FAIL: every verdict is the calm scan's (an ERROR would be allowed where the
    # retries ran out, but the patience outlasts this pressure).
    assert verdicts(pressed) == verdicts(calm)
    assert Status.FAIL in verdicts(calm).values() and Status.PASS in verdicts(calm).values()
    # Every throttled response is counted and was retried; none was left failing.
    stats = pressed.stats
    assert stats.throttled_responses == injected
    assert stats.retries >= injected
    assert stats.throttles == 0 and stats.errors == 0
    by_op = stats.by_operation()
    assert sum(s.throttled_responses for (svc, _), s in by_op.items() if svc != "sts") == sum(
        c[0] for c in counters[: len(ORGANIZATIONS_CALLS)]
    )


def test_throttling_that_outlasts_the_patience_fails_the_listing_with_its_count(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    build()
    raised = faults.inject(
        monkeypatch, OrganizationsResponse, "list_roots", "TooManyRequestsException"
    )
    with pytest.raises(ScanError, match=r"ListRoots.*TooManyRequestsException"):
        scan(patience=3.0, max_attempts=2)
    assert raised[0] > 2  # it kept trying for the patience, not for max_attempts


def test_a_failed_listing_falls_back_to_the_cached_one_and_says_so(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = build()
    accounts = AccountList(ScanOptions(organization=True, **FAST, patience=0.2), refresh=0.0)
    metrics = Metrics()
    metrics.state.account_list_fallbacks = lambda: accounts.fallbacks
    first, stats = asyncio.run(accounts.get())
    assert stats is not None and {a.id for a in first.accounts} >= set(ids.values())

    faults.inject(monkeypatch, OrganizationsResponse, "list_roots", "TooManyRequestsException")
    with structlog.testing.capture_logs() as logs:
        again, stats = asyncio.run(accounts.get())

    assert again is first and stats is None
    assert accounts.fallbacks == 1
    warning = next(e for e in logs if e["event"] == "account_list_fallback")
    assert warning["log_level"] == "warning" and "TooManyRequestsException" in warning["reason"]
    exposition = metrics.exposition().decode()
    assert "scanner_account_list_fallbacks_total 1.0" in exposition


@pytest.mark.slow
def test_credentials_refused_early_are_renewed_once_and_the_verdicts_stand(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = build()
    calm = scan()
    # alpha's first DescribeTrails is refused as if its session had been cut short.
    raised = faults.inject(
        monkeypatch,
        CloudTrailResponse,
        "describe_trails",
        "ExpiredTokenException",
        "The security token included in the request is expired",
        times=1,
        when=lambda response: response.current_account == ids["alpha"],
    )

    renewed = scan()

    assert raised == [1]
    assert verdicts(renewed) == verdicts(calm)
    stats = renewed.stats
    assert stats.credential_refreshes == 1
    assert stats.refreshes == {ids["alpha"]: 1}
    assert stats.by_account()[ids["alpha"]]["sts:AssumeRole"] == 2
    trails = stats.by_operation()[("cloudtrail", "DescribeTrails")]
    assert (trails.retries, trails.errors) == (1, 0)


def test_credentials_refused_again_after_renewal_are_an_error_never_a_fail(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = build()
    faults.inject(
        monkeypatch,
        CloudTrailResponse,
        "describe_trails",
        "ExpiredTokenException",
        when=lambda response: response.current_account == ids["alpha"],
    )

    result = scan()

    assert result.stats.refreshes == {ids["alpha"]: 1}  # once per call, not in a loop
    alpha = {rule: s for (account, rule), s in verdicts(result).items() if account == ids["alpha"]}
    assert alpha and Status.FAIL not in alpha.values()
    assert alpha[TRAIL_CHANGES] is Status.ERROR


def test_a_throttled_caller_identity_says_it_was_throttled_not_that_the_keys_are_bad(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    build()
    faults.inject(monkeypatch, TokenResponse, "get_caller_identity", "Throttling", "Rate exceeded")

    with pytest.raises(ScanError) as raised:
        scan(patience=0.2)

    message = str(raised.value)
    assert message.startswith("cannot check the AWS credentials: STS kept throttling ")
    assert "GetCallerIdentity" in message and "Throttling: Rate exceeded" in message
    assert "do not work" not in message


def test_refused_keys_still_say_the_credentials_do_not_work(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    build()
    faults.inject(
        monkeypatch, TokenResponse, "get_caller_identity", "InvalidClientTokenId", "bad keys"
    )

    with pytest.raises(
        ScanError, match=r"^the AWS credentials do not work: .*InvalidClientTokenId"
    ):
        scan()


def test_a_listing_missing_an_ou_takes_that_ous_accounts_from_the_cached_one(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = build()
    accounts = AccountList(ScanOptions(organization=True, **FAST, patience=0.2), refresh=0.0)
    first, _ = asyncio.run(accounts.get())
    workloads = next(a.ou_ids[-1] for a in first.accounts if a.id == ids["alpha"])
    faults.inject(
        monkeypatch,
        OrganizationsResponse,
        "list_accounts_for_parent",
        "TooManyRequestsException",
        when=lambda response: response._get_param("ParentId") == workloads,
    )

    again, stats = asyncio.run(accounts.get())

    assert stats is not None  # a listing was made, and it missed the OU
    assert {a.id for a in again.accounts} == {a.id for a in first.accounts}
    assert [e.resource for e in again.incomplete] == [workloads]
    assert accounts.fallbacks == 1


def test_throttled_organizations_answers_space_the_next_requests_further(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alone, a scan uses the Organizations quota whole (one request every 0.5 s at 2/s); once
    AWS answers TooManyRequestsException (another tool is listing), its requests leave further
    apart, and come back to the quota only gradually. Timed where moto receives them."""
    org.organization("alpha")
    received: list[float] = []

    def decide(call: faults.Call) -> faults.Fault | None:
        if call.service != "organizations":
            return None
        received.append(time.monotonic())
        return faults.THROTTLED_ORGANIZATIONS if len(received) in (2, 3) else None

    faults.hook(monkeypatch, decide)

    async def scenario() -> None:
        pool = ClientPool()
        caller = Caller(retry=RetryPolicy(base_delay=0.001, max_delay=0.01))
        try:
            identity = await Credentials(pool, caller, home_region="us-east-1").caller_identity()
            client = await pool.client(identity, "us-east-1", "organizations")
            for _ in range(4):  # the second one is throttled twice, then answered
                await caller.call(client, "ListRoots")
        finally:
            await pool.close()

    asyncio.run(scenario())
    gaps = [later - earlier for earlier, later in itertools.pairwise(received)]
    assert len(gaps) == 5
    assert 0.45 <= gaps[0] < 0.75  # alone: 2/s
    assert gaps[1] >= 1 / 1.5 - 0.03  # after one throttled answer: 1.5/s
    assert gaps[2] >= 1 / 1.125 - 0.03  # after two: 1.125/s
    assert all(gap >= 0.8 for gap in gaps[3:])  # each answer gives back only 0.04/s
