"""The daemon assembled from its configuration: serves, becomes ready, stops within seconds."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from unittest import mock

import pytest
from daemon.polling import run, until

from scanner.aws import CollectResult
from scanner.cli.serve import demo_config
from scanner.daemon.lifecycle import Daemon
from scanner.daemon.scheduler import Service
from scanner.testing.demo import ORGANIZATION
from scanner.testing.emulation import MOTO_ERROR_SHAPE_WARNING, emulate, fake_credentials

pytestmark = pytest.mark.filterwarnings(MOTO_ERROR_SHAPE_WARNING)


@pytest.mark.slow
def test_the_daemon_serves_the_demo_organization_and_stops_on_request(tmp_path: Path) -> None:
    emulator = emulate(ORGANIZATION)
    cfg = demo_config(
        emulator.endpoint_url,
        {"state": {"path": str(tmp_path / "s.db")}},
        listen="127.0.0.1:0",
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


PER_ACCOUNT = (
    "scanner_account_info",
    "scanner_account_controls",
    "scanner_control_failure_info",
    "scanner_account_last_success_timestamp_seconds",
    "scanner_account_errors",
    "scanner_collection_errors",
    "scanner_rule_info",
    "scanner_scan_accounts",
)


def per_account_series(text: str) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name in PER_ACCOUNT
    }


@pytest.mark.slow
def test_a_restart_opens_the_port_at_once_and_keeps_every_label_and_timestamp(
    tmp_path: Path,
) -> None:
    """Restarted on the same state, before any scan: the same per-account series, values and all."""
    emulator = emulate(ORGANIZATION)
    cfg = demo_config(
        emulator.endpoint_url,
        {"state": {"path": str(tmp_path / "s.db")}},
        listen="127.0.0.1:0",
    )

    async def never(options: object) -> CollectResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def scenario() -> None:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            async with Daemon(cfg) as first:
                assert first.service is not None
                service = first.service
                await until(lambda: service.health.ready, 60)
                async with http.get(f"{first.url}/metrics") as r:
                    before = per_account_series(await r.text())
            assert {name for name, _, _ in before} >= {
                "scanner_account_info",
                "scanner_account_last_success_timestamp_seconds",
                "scanner_collection_errors",
            }
            ous = {dict(labels).get("organizational_unit") for _, labels, _ in before}
            assert "Workloads/Production" in ous

            again = Daemon(cfg, collect_fn=never)
            await again.start()
            try:
                async with http.get(f"{again.url}/readyz") as r:
                    assert r.status == 200
                async with http.get(f"{again.url}/metrics") as r:
                    after = per_account_series(await r.text())
            finally:
                await again.stop()
            assert after == before

    with fake_credentials():
        run(scenario())


def test_probes_answer_while_the_state_is_restored(tmp_path: Path) -> None:
    """The port opens before the restore: liveness 200 and readiness 503 while it runs."""
    cfg = demo_config(
        "http://127.0.0.1:9",
        {"state": {"path": str(tmp_path / "s.db")}},
        listen="127.0.0.1:0",
    )
    release = threading.Event()

    async def scenario() -> None:
        import aiohttp

        daemon = Daemon(cfg)
        original = Service.restore

        def slow_restore(service: Service) -> int:
            release.wait(10)
            return original(service)

        with mock.patch.object(Service, "restore", slow_restore):
            starting = asyncio.ensure_future(daemon.start())
            await until(lambda: daemon.front is not None, 5)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{daemon.url}/readyz") as r:
                    assert (r.status, await r.text()) == (503, "restoring the state\n")
                async with http.get(f"{daemon.url}/healthz") as r:
                    assert r.status == 200
                release.set()
                await starting
        await daemon.stop()

    run(scenario())
