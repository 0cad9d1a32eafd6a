"""The daemon assembled from its configuration: serves, becomes ready, stops within seconds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from daemon.polling import run, until

from scanner.cli.serve import demo_config
from scanner.daemon.lifecycle import Daemon
from scanner.testing.demo import ORGANIZATION
from scanner.testing.emulation import MOTO_ERROR_SHAPE_WARNING, emulate, fake_credentials

pytestmark = pytest.mark.filterwarnings(MOTO_ERROR_SHAPE_WARNING)


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
