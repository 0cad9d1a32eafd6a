"""The scheduler and a scan's pipeline: one at a time, deadlines, shutdown, restarts, shards."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from daemon.polling import run, until

from scanner.aws import CallStats, CollectResult, ScanError, ScanOptions
from scanner.cli.serve import demo_config
from scanner.daemon.config import Config, from_mapping, parse
from scanner.daemon.metrics import Metrics
from scanner.daemon.scheduler import Service, scan_options
from scanner.daemon.sharding import Shard
from scanner.daemon.state import StateStore
from scanner.model import Account, Inventory, Region, Status
from scanner.testing.demo import ORGANIZATION
from scanner.testing.emulation import MOTO_ERROR_SHAPE_WARNING, emulate, fake_credentials

A = "111111111111"
pytestmark = pytest.mark.filterwarnings(MOTO_ERROR_SHAPE_WARNING)


def config(**sections: Any) -> Config:
    return from_mapping(sections, {})


class FakeCollect:
    """The caller's own account, with no trail (every rule FAILs); optionally slow or broken."""

    def __init__(self, seconds: float = 0.0, error: str | None = None) -> None:
        self.seconds = seconds
        self.error = error
        self.name = "own"
        self.running = 0
        self.most = 0
        self.calls = 0

    async def __call__(self, options: ScanOptions) -> CollectResult:
        self.calls += 1
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(self.seconds)
            if self.error:
                raise ScanError(self.error)
            stats = CallStats()
            stats.record(A, "cloudtrail", "DescribeTrails", 0, None)
            region = Region()
            inventory = Inventory(accounts=(Account(A, self.name, regions={"us-east-1": region}),))
            return CollectResult(inventory, stats, (), self.seconds)
        finally:
            self.running -= 1


def service(cfg: Config, collect: FakeCollect, store: StateStore | None = None) -> Service:
    return Service(cfg, Shard(), Metrics(), store=store, collect_fn=collect)


def test_yaml_values_are_parsed_into_the_collector_options() -> None:
    text = """
organization:
  enabled: true
  role_arn: arn:aws:iam::111111111111:role/hub
  include_accounts: ["111111111111", "222222222222"]
  exclude_ous: [ou-ab12-cdef3456]
regions: {include: [us-east-1, eu-west-1]}
limits: {rates: {organizations: 1, sts: 5.5}, retry_mode: adaptive}
schedule: {interval: 1h30m, jitter: 90s, deadline: 45m}
endpoint_url: http://127.0.0.1:5000
"""
    config = parse(text, {})
    assert config.schedule.interval == 5400
    options = scan_options(config)
    assert options.organization
    assert options.role_arn == "arn:aws:iam::111111111111:role/hub"
    assert options.include_accounts == ("111111111111", "222222222222")
    assert options.exclude_ous == ("ou-ab12-cdef3456",)
    assert options.regions == ("us-east-1", "eu-west-1")
    assert options.rate_limits == {"organizations": 1.0, "sts": 5.5}
    assert options.retry_mode == "adaptive"
    assert options.endpoint_url == "http://127.0.0.1:5000"
    # A shard's scan replaces the organization filters by its own account list.
    narrowed = scan_options(config, include_accounts=("333333333333",))
    assert narrowed.include_accounts == ("333333333333",)
    assert narrowed.exclude_ous == ()


def test_a_scan_evaluates_and_exports_the_findings() -> None:
    async def scenario() -> None:
        s = service(Config(), FakeCollect())
        assert not s.health.ready
        outcome = await s.scan_once()
        assert outcome.record.outcome == "success"
        assert {f.status for f in s.findings()} == {Status.FAIL}
        assert len(s.findings()) == 18
        assert s.health.ready
        text = s.metrics.exposition().decode()
        assert 'scanner_scans_total{outcome="success"} 1.0' in text
        assert (
            'scanner_api_calls_total{operation="DescribeTrails",service="cloudtrail"} 1.0' in text
        )

    run(scenario())


def test_an_unchanged_finding_is_kept_not_held_twice(tmp_path: Path) -> None:
    """A scan that finds what the last one found keeps the objects the daemon holds (its
    findings, the store's tracks): at 10,000 accounts a second set of 180,000 findings held until
    the commit was what the process's size grew to. A change is taken, never a stale object."""

    async def scenario() -> None:
        collect = FakeCollect()
        with StateStore.open(tmp_path / "state.db") as store:
            s = service(Config(), collect, store)
            await s.scan_once()
            first, tracks = s.findings(), store.tracks()
            await s.scan_once()
            assert all(a is b for a, b in zip(first, s.findings(), strict=True))
            assert all(tracks[pair] is track for pair, track in store.tracks().items())
            collect.name = "renamed"
            await s.scan_once()
            assert {f.account_name for f in s.findings()} == {"renamed"}
            assert {t.finding.account_name for t in store.tracks().values()} == {"renamed"}
            assert [f.status for f in s.findings()] == [f.status for f in first]

    run(scenario())


def test_never_two_scans_at_once() -> None:
    async def scenario() -> None:
        collect = FakeCollect(seconds=0.05)
        s = service(Config(), collect)
        await asyncio.gather(*(s.scan_once() for _ in range(4)))
        assert (collect.calls, collect.most) == (4, 1)

    run(scenario())


def test_a_scan_past_its_deadline_is_abandoned_and_changes_no_finding() -> None:
    async def scenario() -> None:
        collect = FakeCollect()
        s = service(config(schedule={"deadline": "200ms"}), collect)
        await s.scan_once()
        collect.seconds = 30
        started = time.monotonic()
        outcome = await s.scan_once()
        assert time.monotonic() - started < 2
        assert outcome.record.outcome == "deadline"
        assert len(s.findings()) == 18
        state = s.metrics.state
        assert state.scans["deadline"] == 1
        assert state.last_scan is not None and state.last_success is not None
        assert state.last_scan > state.last_success

    run(scenario())


def test_a_scan_that_cannot_run_is_counted_and_retried_at_the_next_tick() -> None:
    async def scenario() -> None:
        s = service(Config(), FakeCollect(error="cannot list the organization's accounts: x"))
        outcome = await s.scan_once()
        assert outcome.record.outcome == "failed"
        assert outcome.error == "cannot list the organization's accounts: x"
        assert not s.health.ready and s.findings() == []

    run(scenario())


def test_the_scheduler_scans_at_start_then_every_interval() -> None:
    async def scenario() -> None:
        collect = FakeCollect(seconds=0.01)
        s = service(config(schedule={"interval": "200ms", "jitter": "0s"}), collect)
        stop = asyncio.Event()
        loop = asyncio.create_task(s.run(stop))
        await until(lambda: collect.calls >= 1, 1.0)  # at once
        await until(lambda: collect.calls >= 3, 2.0)
        assert s.alive()
        stop.set()
        await asyncio.wait_for(loop, 1.0)
        assert not s.alive()
        assert collect.most == 1

    run(scenario())


def test_jitter_spreads_the_interval() -> None:
    s = service(config(schedule={"interval": "10m", "jitter": "1m"}), FakeCollect())
    delays = [s.next_delay() for _ in range(200)]
    assert all(540 <= d <= 660 for d in delays)
    assert max(delays) - min(delays) > 60


def test_a_stop_during_collection_exits_at_once() -> None:
    async def scenario() -> None:
        collect = FakeCollect(seconds=60)
        s = service(Config(), collect)
        stop = asyncio.Event()
        loop = asyncio.create_task(s.run(stop))
        await until(lambda: collect.running == 1)
        started = time.monotonic()
        stop.set()
        await asyncio.wait_for(loop, 2.0)
        assert time.monotonic() - started < 1
        assert s.metrics.state.scans.total() == 0

    run(scenario())


def test_a_restart_serves_the_last_state_before_scanning_and_alerts_nothing_new(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "state.db")

    async def scenario() -> None:
        with StateStore.open(path) as store:
            first = service(Config(), FakeCollect(), store)
            await first.scan_once()
            findings = first.findings()
        with StateStore.open(path) as store:
            second = service(Config(), FakeCollect(), store)
            assert second.restore() == 18
            assert second.health.ready
            assert second.findings() == findings
            text = second.metrics.exposition().decode()
            assert "scanner_last_successful_scan_timestamp_seconds" in text
            outcome = await second.scan_once()
            assert list(outcome.transitions) == []

    run(scenario())


@pytest.mark.slow
def test_shards_of_the_demo_organization_are_disjoint_and_cover_it_exactly_once() -> None:
    emulator = emulate(ORGANIZATION)

    def sharded(shard: int, total: int) -> Config:
        return demo_config(
            emulator.endpoint_url, {"sharding": {"shard": shard, "total_shards": total}}
        )

    async def findings(cfg: Config) -> dict[tuple[str, str], Status]:
        s = Service(cfg, Shard(cfg.sharding.shard, cfg.sharding.total_shards), Metrics())
        outcome = await s.scan_once()
        assert outcome.record.outcome == "success"
        return {(f.account_id, f.rule): f.status for f in s.findings()}

    async def scenario() -> None:
        whole = await findings(sharded(0, 1))
        parts = [await findings(sharded(i, 3)) for i in range(3)]
        accounts = [{a for a, _ in part} for part in parts]
        assert all(accounts), "every shard has accounts in the demo"
        assert sum(len(a) for a in accounts) == len(set().union(*accounts))
        merged = {k: v for part in parts for k, v in part.items()}
        # Same verdicts as unsharded: each shard still read the organization trail and the
        # cross-account topic its accounts notify, wherever those accounts landed.
        assert merged == whole
        assert {s for (a, _), s in whole.items() if a == "210000000002"} == {Status.PASS}

    with fake_credentials():
        run(scenario())
