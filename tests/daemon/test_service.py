"""The scheduler and a scan's pipeline: one at a time, deadlines, shutdown, restarts, shards."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from scanner.aws import CallStats, CollectResult, ScanError, ScanOptions
from scanner.cli.serve import demo_config
from scanner.daemon.config import Config, from_mapping
from scanner.daemon.metrics import Metrics
from scanner.daemon.runner import Daemon
from scanner.daemon.service import Service
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
            inventory = Inventory(accounts=(Account(A, "own", regions={"us-east-1": Region()}),))
            return CollectResult(inventory, stats, (), self.seconds)
        finally:
            self.running -= 1


def service(cfg: Config, collect: FakeCollect, store: StateStore | None = None) -> Service:
    return Service(cfg, Shard(), Metrics(), store=store, collect_fn=collect)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def run(coro: Awaitable[None]) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


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


@pytest.mark.slow
def test_the_daemon_serves_the_demo_organization_and_stops_on_request(tmp_path: Path) -> None:
    emulator = emulate(ORGANIZATION)
    cfg = demo_config(
        emulator.endpoint_url,
        {"http": {"listen": "127.0.0.1:0"}, "state": {"path": str(tmp_path / "s.db")}},
    )

    async def scenario() -> None:
        import aiohttp

        daemon = Daemon(cfg)
        await daemon.start()
        try:
            assert daemon.service is not None
            service = daemon.service
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{daemon.url}/healthz") as r:
                    assert r.status == 200
                async with http.get(f"{daemon.url}/readyz") as r:
                    assert r.status == 503  # an empty state file: not ready before a scan
                await until(lambda: service.health.ready, 60)
                url = f"{daemon.url}/api/v1/findings?account=210000000003&status=FAIL"
                async with http.get(url) as r:
                    failing = {f["rule"] for f in (await r.json())["findings"]}
            # orders-prod's own trail is stopped: the rules only it monitors fail.
            from scanner.testing.demo import MEMBER_RULES

            assert failing == set(MEMBER_RULES)
        finally:
            started = time.monotonic()
            await daemon.stop()
            assert time.monotonic() - started < 5

    with fake_credentials():
        run(scenario())


DEMO_SERVE = """
import argparse, sys
from scanner.cli.serve import add_demo_arguments, run_demo_serve

class Out:
    def line(self, text=""):
        print(text, flush=True)

parser = argparse.ArgumentParser()
add_demo_arguments(parser)
sys.exit(run_demo_serve(parser.parse_args(sys.argv[1:]), Out()))
"""


@pytest.mark.slow
def test_demo_serve_is_ready_after_its_first_scan_and_exits_promptly_on_sigterm() -> None:
    import signal
    import socket
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [sys.executable, "-c", DEMO_SERVE, "--serve", "--listen", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        ready = False
        while not ready and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    ready = r.status == 200
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        assert ready, proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        out, err = proc.communicate(timeout=10)
        assert time.monotonic() - started < 5
        assert proc.returncode == 0, err
        assert f"Serving the demo organization on http://127.0.0.1:{port}" in out
        assert "scan_completed" in err and "daemon_stopped" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_serve_with_an_invalid_option_stops_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import argparse

    from scanner.cli.serve import register

    parser = argparse.ArgumentParser(prog="scanner")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "--listen", "nowhere", "--shard", "1"])

    class Out:
        def line(self, text: str = "") -> None:
            raise AssertionError("nothing is printed to stdout")

    assert args.handler(args, Out()) == 2
    err = capsys.readouterr().err
    assert err == (
        "scanner: error: config: http.listen (from --listen): not HOST:PORT "
        "(e.g. 127.0.0.1:9108, 0.0.0.0:9108, [::]:9108)\n"
    )
    args = parser.parse_args(["serve", "--shard", "2", "--total-shards", "2"])
    assert args.handler(args, Out()) == 2
    assert (
        "config: sharding.shard: must be below sharding.total_shards (2)" in capsys.readouterr().err
    )
