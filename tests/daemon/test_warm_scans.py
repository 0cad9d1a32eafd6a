"""Warm daemon scans through moto's server: credentials, identity and listing kept between scans.

The daemon's :class:`~scanner.daemon.scheduler.Service` scans an emulated organization several
times on one long-lived AWS session. What the scans ask AWS is counted on moto's side (every
request its server dispatches, through the fault hook of ``tests/e2e/faults.py`` answering
none, or refusing one role while a test says so) and compared with what each scan says it
called. moto never expires keys and always grants the duration asked: where a test needs keys
close to expiry, it patches moto's STS backend to grant less, and says so.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import boto3
import pytest
import structlog
import structlog.testing
from daemon.test_e2e_events import cloudtrail_event
from daemon.test_metrics import samples, value
from e2e.faults import DENIED, WARNING_FILTER, Call, Fault, hook
from moto.cloudwatch.models import cloudwatch_backends
from moto.sts.models import STSBackend

from scanner.aws.events import EventSession, QueueMessage, Read
from scanner.daemon.config import Config, from_mapping
from scanner.daemon.events import EventConsumer
from scanner.daemon.metrics import Metrics
from scanner.daemon.scheduler import ScanOutcome, Service
from scanner.daemon.sharding import Shard
from scanner.model import Status
from scanner.testing.emulation import (
    MANAGEMENT_ACCOUNT_ID,
    MOTO_ERROR_SHAPE_WARNING,
    AccountSpec,
    OrganizationSpec,
    TopicSpec,
    TrailSpec,
    emulate,
    fake_credentials,
    monitors,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings(MOTO_ERROR_SHAPE_WARNING),
    pytest.mark.filterwarnings(WARNING_FILTER),
]

RULES = ("iam-policy-changes", "ssm-actions")
PAYMENTS, SANDBOX, LOCKED = "222222222222", "333333333333", "444444444444"
MEMBERS = (PAYMENTS, SANDBOX, LOCKED)
ORGANIZATION = OrganizationSpec(
    management=AccountSpec(MANAGEMENT_ACCOUNT_ID, "management"),
    members=(
        AccountSpec(
            PAYMENTS,
            "payments",
            trails=(TrailSpec("member-trail", log_group="member-logs", monitors=monitors(*RULES)),),
            topics=(TopicSpec(),),
        ),
        AccountSpec(SANDBOX, "sandbox"),
        AccountSpec(LOCKED, "locked"),
    ),
)


class Requests:
    """Every request moto's server answers, as AWS would see it; refuses the member role of
    the accounts in ``refused`` (not deployed yet) and the operations in ``failing``."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.refused: set[str] = set()
        self.failing: set[str] = set()
        self.faults: dict[tuple[str, str], Fault] = {}  # (operation, account) -> fault, once
        self._lock = threading.Lock()

    def __call__(self, call: Call) -> Fault | None:
        with self._lock:
            self.calls.append(call)
            role = str(call.params.get("RoleArn", ""))
            if call.operation == "AssumeRole" and any(f":{a}:" in role for a in self.refused):
                return DENIED
            if call.operation in self.failing:
                return DENIED
            return self.faults.pop((call.operation, call.account), None)

    def since(self, start: int) -> Counter[str]:
        """``service:operation`` -> requests, from the ``start``-th on."""
        with self._lock:
            return Counter(f"{c.service}:{c.operation}" for c in self.calls[start:])

    def mark(self) -> int:
        with self._lock:
            return len(self.calls)

    def roles_assumed(self, start: int) -> list[str]:
        """The accounts whose role was asked for, from the ``start``-th request on, sorted."""
        with self._lock:
            roles = [str(c.params.get("RoleArn", "")) for c in self.calls[start:]]
        return sorted(role.split(":")[4] for role in roles if role)


def config(endpoint: str, **organization: Any) -> Config:
    return from_mapping(
        {
            "organization": {"enabled": True, **organization},
            "regions": {"include": ["us-east-1"]},
            "rules": {"profile": "cloudguard"},
            "schedule": {"interval": "1h", "jitter": "0s"},
            "limits": {"max_attempts": 1, "patience": "1s"},
            "endpoint_url": endpoint,
        },
        {},
    )


@asynccontextmanager
async def daemon(cfg: Config, clock: Callable[[], float] = time.time) -> AsyncIterator[Service]:
    """The daemon's service, its AWS session closed at the end."""
    service = Service(cfg, Shard(), Metrics(), clock=clock)
    try:
        yield service
    finally:
        await service.close()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Requests, str]]:
    """The emulated organization, every request to it counted: (the counter, the endpoint)."""
    emulator = emulate(ORGANIZATION)
    seen = Requests()
    hook(monkeypatch, seen)
    with fake_credentials():
        yield seen, emulator.endpoint_url


def verdicts(service: Service) -> dict[tuple[str, str], Status]:
    return {(f.account_id, f.rule): f.status for f in service.findings()}


def called(outcome: ScanOutcome) -> Counter[str]:
    """What the scan says it called, ``service:operation`` -> calls."""
    calls: Counter[str] = Counter()
    for stats in outcome.record.stats:
        for (service, operation), op in stats.by_operation().items():
            calls[f"{service}:{operation}"] += op.calls
    return calls


def organizations(calls: Counter[str]) -> int:
    return sum(n for name, n in calls.items() if name.startswith("organizations:"))


def test_a_warm_scan_assumes_no_role_lists_nothing_and_finds_the_same(
    aws: tuple[Requests, str],
) -> None:
    seen, endpoint = aws

    async def scenario() -> None:
        async with daemon(config(endpoint)) as service:
            cold = await service.scan_once()
            assert cold.record.outcome == "success", cold.error
            first = verdicts(service)
            mark = seen.mark()
            warm = await service.scan_once()
            assert warm.record.outcome == "success", warm.error
            on_the_wire = seen.since(mark)

            # The cold scan: the caller's identity, the listing, one AssumeRole per member.
            assert called(cold)["sts:AssumeRole"] == len(MEMBERS)
            assert called(cold)["sts:GetCallerIdentity"] == 1
            assert organizations(called(cold)) > 0
            # The warm one: none of those, as the scan says and as AWS saw it; every member is
            # still read, and the verdicts are the same.
            assert on_the_wire["sts:AssumeRole"] == called(warm)["sts:AssumeRole"] == 0
            assert on_the_wire["sts:GetCallerIdentity"] == 0
            assert called(warm)["sts:GetCallerIdentity"] == 0
            assert organizations(on_the_wire) == organizations(called(warm)) == 0
            assert on_the_wire["cloudtrail:DescribeTrails"] == len(MEMBERS) + 1
            assert verdicts(service) == first
            assert first[(PAYMENTS, "iam-policy-changes")] is Status.PASS
            assert first[(SANDBOX, "iam-policy-changes")] is Status.FAIL
            # What a user sees: the last scan's calls per operation, the listing's age.
            metrics = service.metrics
            last = {
                s.labels["operation"]: s.value
                for s in samples(metrics, "scanner_last_scan_api_calls")
            }
            assert "AssumeRole" not in last and "ListAccountsForParent" not in last
            assert last["DescribeTrails"] == len(MEMBERS) + 1
            assert value(metrics, "scanner_api_calls_total", operation="AssumeRole") == 3
            assert value(metrics, "scanner_organization_listing_age_seconds") >= 0

    asyncio.run(scenario())


def test_a_warm_scan_keeps_the_accounts_it_finds_unchanged_as_they_were(
    aws: tuple[Requests, str],
) -> None:
    """What a warm scan finds unchanged is the last inventory's very objects (one inventory
    held at its peak, not two); an account whose resources changed is read anew, and judged on
    what it holds now."""
    _, endpoint = aws

    async def scenario() -> None:
        async with daemon(config(endpoint)) as service:
            assert (await service.scan_once()).record.outcome == "success"
            cold = service.inventory
            assert cold is not None
            assert (await service.scan_once()).record.outcome == "success"
            warm = service.inventory
            assert warm is not None and warm is not cold
            assert [a.id for a in warm.accounts] == [a.id for a in cold.accounts]
            assert all(w is c for w, c in zip(warm.accounts, cold.accounts, strict=True))
            # A change in one member: that account alone is a new object, the rest stay.
            alarms = cloudwatch_backends[PAYMENTS]["us-east-1"]
            alarms.delete_alarms(list(alarms.alarms))
            assert (await service.scan_once()).record.outcome == "success"
            changed = service.inventory
            assert changed is not None
            for before, after in zip(warm.accounts, changed.accounts, strict=True):
                assert (after is before) is (after.id != PAYMENTS), after.id
            assert verdicts(service)[(PAYMENTS, "iam-policy-changes")] is Status.FAIL

    asyncio.run(scenario())


def test_the_first_scan_enters_members_while_the_organization_is_still_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first scan does not list the whole organization before it enters a member (at
    10,000 accounts that was Organizations' ~280 s, then AssumeRole's ~250 s): moto holds the
    listing's next call (the root's OUs, asked after the root's accounts) until a member's role
    is assumed, which only a scan collecting as the pages arrive does; the list it made is kept."""
    emulator = emulate(ORGANIZATION)
    assumed = threading.Event()
    waited: list[bool] = []

    def answer(call: Call) -> Fault | None:
        if call.operation == "AssumeRole":
            assumed.set()
        elif call.operation == "ListOrganizationalUnitsForParent" and not waited:
            waited.append(assumed.wait(10))  # moto's request thread; the scan's loop goes on
        return None

    hook(monkeypatch, answer)

    async def scenario() -> None:
        async with daemon(config(emulator.endpoint_url)) as service:
            cold = await service.scan_once()
            assert cold.record.outcome == "success", cold.error
            assert waited == [True]
            assert verdicts(service)[(SANDBOX, "iam-policy-changes")] is Status.FAIL
            assert len({account for account, _ in verdicts(service)}) == len(MEMBERS) + 1
            warm = await service.scan_once()
            assert organizations(called(warm)) == 0  # the first scan's list, kept

    with fake_credentials():
        asyncio.run(scenario())


def test_the_event_path_on_the_scans_session_reads_an_entered_account_without_assuming(
    aws: tuple[Requests, str],
) -> None:
    seen, endpoint = aws

    async def scenario() -> None:
        async with daemon(config(endpoint)) as service:
            await service.scan_once()
            session = EventSession(service.options, service.aws_session())
            payments, inventory = service.account(PAYMENTS), service.inventory
            assert payments is not None and inventory is not None
            mark = seen.mark()
            fresh = await session.reread(payments, [Read("alarms", "us-east-1")], inventory)
            await session.close()  # not the service's session: that one stays open
            on_the_wire = seen.since(mark)
            again = await service.scan_once()

        assert on_the_wire["cloudwatch:DescribeAlarms"] == 1, on_the_wire
        assert on_the_wire["sts:AssumeRole"] == on_the_wire["sts:GetCallerIdentity"] == 0
        assert fresh[PAYMENTS].regions["us-east-1"].alarms == payments.regions["us-east-1"].alarms
        assert again.record.outcome == "success" and called(again)["sts:AssumeRole"] == 0

    asyncio.run(scenario())


def test_a_role_refused_is_tried_again_at_the_next_scan_and_entered_once_deployed(
    aws: tuple[Requests, str],
) -> None:
    seen, endpoint = aws

    async def scenario() -> None:
        async with daemon(config(endpoint)) as service:
            outcomes = []
            for deployed in (False, False, True):
                seen.refused = set() if deployed else {LOCKED}
                outcome = await service.scan_once()
                assert outcome.record.outcome == "success", outcome.error
                outcomes.append((outcome, verdicts(service)))

        (first, refused), (second, still), (third, entered) = outcomes
        assert called(first)["sts:AssumeRole"] == len(MEMBERS)
        # Refused: tried again at each scan (one AssumeRole, LOCKED's), never remembered.
        assert called(second)["sts:AssumeRole"] == 1
        assert called(second).get("organizations:ListRoots", 0) == 0
        assert called(third)["sts:AssumeRole"] == 1
        assert {s for (a, _), s in refused.items() if a == LOCKED} == {Status.ERROR}
        assert still == refused
        # Deployed: entered, judged on what it holds (no trail: FAIL); the others unchanged.
        assert {s for (a, _), s in entered.items() if a == LOCKED} == {Status.FAIL}
        assert {k: v for k, v in entered.items() if k[0] != LOCKED} == {
            k: v for k, v in refused.items() if k[0] != LOCKED
        }

    asyncio.run(scenario())


def test_credentials_that_did_not_work_are_tried_again_at_the_next_scan(
    aws: tuple[Requests, str],
) -> None:
    seen, endpoint = aws

    async def scenario() -> None:
        async with daemon(config(endpoint)) as service:
            seen.failing = {"GetCallerIdentity"}
            refused = await service.scan_once()
            seen.failing = set()
            working = await service.scan_once()

        assert refused.record.outcome == "failed"
        assert refused.error is not None and "credentials do not work" in refused.error
        assert working.record.outcome == "success", working.error
        assert called(working)["sts:GetCallerIdentity"] == 1

    asyncio.run(scenario())


def test_kept_credentials_are_renewed_before_they_expire_and_when_refused(
    aws: tuple[Requests, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto grants the duration asked: patched to grant 16 minutes at first (renewal is due
    when fewer than 15 remain), then the usual hour. The daemon's clock moves on 2 minutes."""
    seen, endpoint = aws
    granted = [16 * 60]
    original = STSBackend.assume_role

    def assume_role(self: STSBackend, **kwargs: Any) -> Any:
        return original(self, **{**kwargs, "duration": granted[0]})

    monkeypatch.setattr(STSBackend, "assume_role", assume_role)
    skew = [0.0]

    async def scenario() -> None:
        async with daemon(config(endpoint), clock=lambda: time.time() + skew[0]) as service:
            cold = await service.scan_once()
            first = verdicts(service)
            granted[0], skew[0] = 3600, 120.0
            renewing = await service.scan_once()
            renewed = verdicts(service)
            warm = await service.scan_once()
            # Keys refused before their time (a session cut short): renewed once, as in a cold
            # scan, and the verdicts stand.
            seen.faults[("DescribeTrails", PAYMENTS)] = Fault("ExpiredToken", "expired")
            refused = await service.scan_once()
            after_refusal = verdicts(service)

        assert called(cold)["sts:AssumeRole"] == len(MEMBERS)
        # 14 minutes left: each kept identity is renewed once, before it expires.
        assert called(renewing)["sts:AssumeRole"] == len(MEMBERS)
        assert sum(s.credential_refreshes for s in renewing.record.stats) == len(MEMBERS)
        assert called(renewing)["sts:GetCallerIdentity"] == 0
        assert renewed == first
        # The renewed keys hold for the hour: nothing to assume.
        assert called(warm)["sts:AssumeRole"] == 0
        assert called(refused)["sts:AssumeRole"] == 1
        assert [dict(s.refreshes) for s in refused.record.stats if s.refreshes] == [{PAYMENTS: 1}]
        assert after_refusal == first

    asyncio.run(scenario())


def test_kept_keys_too_old_to_use_whose_renewal_is_refused_make_the_account_an_error(
    aws: tuple[Requests, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto patched to grant 16 minutes at first, then the hour; the clock moves on 7 (9
    minutes left: too few to use the keys) while SANDBOX's role is withdrawn: SANDBOX cannot be
    entered, as if refused at its first AssumeRole, and is tried again (and entered) at the
    next scan."""
    seen, endpoint = aws
    original = STSBackend.assume_role
    granted = [16 * 60]

    def assume_role(self: STSBackend, **kwargs: Any) -> Any:
        return original(self, **{**kwargs, "duration": granted[0]})

    monkeypatch.setattr(STSBackend, "assume_role", assume_role)
    skew = [0.0]

    async def scenario() -> None:
        async with daemon(config(endpoint), clock=lambda: time.time() + skew[0]) as service:
            await service.scan_once()
            first = verdicts(service)
            skew[0], seen.refused, granted[0] = 7 * 60.0, {SANDBOX}, 3600
            withdrawn = await service.scan_once()
            sandbox = service.account(SANDBOX)
            assert sandbox is not None and sandbox.error is not None
            assert (sandbox.error.operation, sandbox.error.code) == ("AssumeRole", "AccessDenied")
            during = verdicts(service)
            seen.refused = set()
            back = await service.scan_once()
            again = verdicts(service)

        assert called(withdrawn)["sts:AssumeRole"] == len(MEMBERS)  # renewals, one refused
        assert {s for (a, _), s in during.items() if a == SANDBOX} == {Status.ERROR}
        assert {k: v for k, v in during.items() if k[0] != SANDBOX} == {
            k: v for k, v in first.items() if k[0] != SANDBOX
        }
        assert called(back)["sts:AssumeRole"] == 1  # SANDBOX again; the others' keys hold
        assert again == first

    asyncio.run(scenario())


def create_account(endpoint: str, name: str) -> str:
    """A new member, created in moto's organization (where the management account acts)."""
    client = boto3.client("organizations", region_name="us-east-1", endpoint_url=endpoint)
    status = client.create_account(Email=f"{name}@example.com", AccountName=name)
    return str(status["CreateAccountStatus"]["AccountId"])


async def eventually(check: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def listed(service: Service) -> set[str]:
    organization = service.accounts.organization if service.accounts else None
    return {a.id for a in organization.accounts} if organization else set()


def test_the_listing_is_refreshed_in_the_background_and_a_failed_refresh_keeps_it(
    aws: tuple[Requests, str],
) -> None:
    seen, endpoint = aws

    async def scenario() -> None:
        cfg = config(endpoint, account_list_refresh="1s")
        async with daemon(cfg) as service:
            stop = asyncio.Event()
            running = asyncio.create_task(service.run(stop))
            try:
                await eventually(lambda: service.health.scans == 1)
                accounts = service.accounts
                assert accounts is not None
                newcomer = create_account(endpoint, "newcomer")
                # Listed again after its interval, between scans: no scan waits for it.
                await eventually(lambda: newcomer in listed(service))
                assert service.health.scans == 1
                metrics = service.metrics
                assert value(metrics, "scanner_api_calls_total", operation="ListRoots") >= 2

                # Organizations refuses: the last good listing stays, and grows old.
                seen.failing = {"ListRoots"}
                kept, listed_at = accounts.organization, accounts.listed_at
                await eventually(lambda: accounts.fallbacks >= 1)
                assert accounts.organization is kept and accounts.listed_at == listed_at
                assert value(metrics, "scanner_account_list_fallbacks_total") >= 1
                age = value(metrics, "scanner_organization_listing_age_seconds")
                await asyncio.sleep(1.1)
                assert value(metrics, "scanner_organization_listing_age_seconds") > age

                # A scan meanwhile uses it: the newcomer is scanned, Organizations is not asked.
                service.scan_soon("the test asks")
                await eventually(lambda: service.health.scans == 2)
                assert service.health.last_outcome == "success"
                assert newcomer in service.covered
                last = {
                    s.labels["service"] for s in samples(metrics, "scanner_last_scan_api_calls")
                }
                assert "organizations" not in last and "cloudtrail" in last
            finally:
                stop.set()
                await running

    asyncio.run(scenario())


def test_a_membership_event_lists_the_organization_at_once_then_scans_it(
    aws: tuple[Requests, str],
) -> None:
    seen, endpoint = aws
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=endpoint)
    queue = sqs.create_queue(QueueName="scanner-events")["QueueUrl"]

    async def scenario() -> None:
        base = config(endpoint)  # the listing's interval: an hour
        cfg = base.replace("events", enabled=True, queue_urls=(queue,))
        async with daemon(cfg) as service:
            stop = asyncio.Event()
            running = asyncio.create_task(service.run(stop))
            session = EventSession(service.options, service.aws_session())
            consumer = EventConsumer(service, session, service.metrics)
            try:
                await eventually(lambda: service.health.scans == 1)
                newcomer = create_account(endpoint, "newcomer")
                mark = seen.mark()
                body = cloudtrail_event(
                    MANAGEMENT_ACCOUNT_ID,
                    "organizations.amazonaws.com",
                    "CreateAccountResult",
                    {},
                )
                await consumer.take([QueueMessage("m-1", "r-1", body)])

                await eventually(lambda: service.health.scans == 2)
                assert newcomer in listed(service) and newcomer in service.covered
                on_the_wire = seen.since(mark)
                assert on_the_wire["organizations:ListRoots"] == 1  # listed once, for the event
                assert on_the_wire["sts:AssumeRole"] == 1  # the newcomer's; the others kept
                last = {
                    s.labels["service"]
                    for s in samples(service.metrics, "scanner_last_scan_api_calls")
                }
                assert "organizations" not in last  # the scan did not list: the refresh did
                assert service.metrics.state.events.acted == 1
            finally:
                stop.set()
                await running
                await session.close()

    asyncio.run(scenario())


def keys_by(clock_skew: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    """moto issues keys for the duration asked from its own clock, the real one: patched to
    issue them from the daemon's test clock (``time.time() + clock_skew[0]``), as AWS's clock
    and the daemon's agree. Moving the skew on then ages the keys the daemon holds."""
    original = STSBackend.assume_role

    def assume_role(self: STSBackend, **kwargs: Any) -> Any:
        return original(self, **{**kwargs, "duration": kwargs["duration"] + int(clock_skew[0])})

    monkeypatch.setattr(STSBackend, "assume_role", assume_role)


def test_kept_keys_near_expiry_are_renewed_between_scans_and_the_next_scan_assumes_nothing(
    aws: tuple[Requests, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keys come due together, 45 minutes after the first scan assumed them: renewed by the
    background round before any scan would have to, counted in the process's AssumeRole calls
    and renewals, not in the warm scan after it."""
    seen, endpoint = aws
    skew = [0.0]
    keys_by(skew, monkeypatch)

    async def scenario() -> None:
        async with daemon(config(endpoint), clock=lambda: time.time() + skew[0]) as service:
            cold = await service.scan_once()
            assert called(cold)["sts:AssumeRole"] == len(MEMBERS)
            first = verdicts(service)
            mark = seen.mark()
            fresh = await service.renew_keys_now()  # an hour left: nothing due
            assert fresh == 0 and seen.since(mark) == Counter()

            skew[0] = 40 * 60.0  # 20 minutes left: due within the next round and a scan
            mark = seen.mark()
            renewed = await service.renew_keys_now()
            assert renewed == len(MEMBERS)
            assert seen.since(mark) == Counter({"sts:AssumeRole": len(MEMBERS)})
            assert seen.roles_assumed(mark) == sorted(MEMBERS)
            mark = seen.mark()
            assert await service.renew_keys_now() == 0  # renewed for the hour
            assert seen.since(mark) == Counter()

            mark = seen.mark()
            warm = await service.scan_once()
            on_the_wire = seen.since(mark)
            assert warm.record.outcome == "success", warm.error
            assert on_the_wire["sts:AssumeRole"] == called(warm)["sts:AssumeRole"] == 0
            assert sum(s.credential_refreshes for s in warm.record.stats) == 0
            assert on_the_wire["cloudtrail:DescribeTrails"] == len(MEMBERS) + 1
            assert verdicts(service) == first
            metrics = service.metrics
            last = {
                s.labels["operation"]: s.value
                for s in samples(metrics, "scanner_last_scan_api_calls")
            }
            assert "AssumeRole" not in last
            total = value(metrics, "scanner_api_calls_total", operation="AssumeRole")
            assert total == 2 * len(MEMBERS)
            assert value(metrics, "scanner_credential_refreshes_total") == len(MEMBERS)

    asyncio.run(scenario())


def test_a_refused_renewal_keeps_the_old_keys_and_accounts_not_entered_are_not_renewed(
    aws: tuple[Requests, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """LOCKED's role is refused from the start (no identity: nothing to renew); SANDBOX's is
    withdrawn before its keys are renewed: the round logs it, keeps its keys (the next scan
    still enters SANDBOX with them) and leaves them to the scans' own renewal."""
    seen, endpoint = aws
    skew = [0.0]
    keys_by(skew, monkeypatch)

    async def scenario() -> None:
        async with daemon(config(endpoint), clock=lambda: time.time() + skew[0]) as service:
            seen.refused = {LOCKED}
            await service.scan_once()
            first = verdicts(service)
            assert {s for (a, _), s in first.items() if a == LOCKED} == {Status.ERROR}
            sandbox = await service.aws_session().credentials.for_account(SANDBOX)
            keys = await sandbox.credentials.get_frozen_credentials()

            skew[0], seen.refused = 40 * 60.0, {LOCKED, SANDBOX}
            mark = seen.mark()
            with structlog.testing.capture_logs() as logs:
                renewed = await service.renew_keys_now()
            assert renewed == 1
            assert seen.roles_assumed(mark) == [PAYMENTS, SANDBOX]  # never LOCKED's
            failed = [e for e in logs if e["event"] == "background_renewal_failed"]
            assert [(e["account"], e["log_level"]) for e in failed] == [(SANDBOX, "warning")]
            assert "AccessDenied" in failed[0]["error"]
            logged = repr(logs)
            assert keys.access_key not in logged and keys.secret_key not in logged
            assert keys.token not in logged
            assert [e["renewed"] for e in logs if e["event"] == "keys_renewed"] == [1]
            # Not tried again in the background: the scans renew SANDBOX's keys from now on.
            mark = seen.mark()
            assert await service.renew_keys_now() == 0
            assert seen.roles_assumed(mark) == []

            # 20 minutes left: the scan enters SANDBOX with its old keys, asks only LOCKED's
            # role again (a refusal is retried each scan), and the verdicts stand.
            mark = seen.mark()
            warm = await service.scan_once()
            assert seen.roles_assumed(mark) == [LOCKED]
            assert verdicts(service) == first
            assert await sandbox.credentials.get_frozen_credentials() is keys

            # 13 minutes left: the scan renews SANDBOX's keys itself, as before, once granted.
            skew[0], seen.refused = 47 * 60.0, {LOCKED}
            mark = seen.mark()
            await service.scan_once()
            assert seen.roles_assumed(mark) == sorted([LOCKED, SANDBOX])
            assert verdicts(service) == first
        assert warm.record.outcome == "success", warm.error

    asyncio.run(scenario())


def test_the_daemon_renews_kept_keys_in_the_background_beside_its_schedule(
    aws: tuple[Requests, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The running service (rounds every 50 ms here, every minute by default): once the keys
    age, a round renews them with no scan in between; the scan asked for after it assumes
    nothing."""
    seen, endpoint = aws
    skew = [0.0]
    keys_by(skew, monkeypatch)

    async def scenario() -> None:
        cfg = config(endpoint, account_list_refresh="1h")
        service = Service(
            cfg, Shard(), Metrics(), clock=lambda: time.time() + skew[0], renewal_tick=0.05
        )
        stop = asyncio.Event()
        running = asyncio.create_task(service.run(stop))
        try:
            await eventually(lambda: service.health.scans == 1)
            metrics = service.metrics
            await asyncio.sleep(0.2)  # rounds run: an hour left, the next scan an hour off
            assert value(metrics, "scanner_credential_refreshes_total") == 0
            skew[0] = 40 * 60.0  # 20 minutes left, the next scan in 20
            await eventually(
                lambda: value(metrics, "scanner_credential_refreshes_total") == len(MEMBERS)
            )
            assert service.health.scans == 1
            mark = seen.mark()
            service.scan_soon("the test asks")
            await eventually(lambda: service.health.scans == 2)
            assert service.health.last_outcome == "success"
            assert seen.since(mark)["sts:AssumeRole"] == 0
            last = {s.labels["operation"] for s in samples(metrics, "scanner_last_scan_api_calls")}
            assert "AssumeRole" not in last and "DescribeTrails" in last
            total = value(metrics, "scanner_api_calls_total", operation="AssumeRole")
            assert total == 2 * len(MEMBERS)
        finally:
            stop.set()
            await running
            await service.close()

    asyncio.run(scenario())
