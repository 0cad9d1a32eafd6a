"""A real Prometheus scrapes the daemon and a real Alertmanager receives its alerts.

The daemon runs in this process on the demo organization (moto's server, fake credentials);
Prometheus (Debian package ``prometheus``) and Alertmanager (``prometheus-alertmanager``) run
as child processes on free ports of 127.0.0.1 with their own configuration and data
directories. The test reads everything back through their HTTP APIs: what PromQL computes from
the scraped ``scanner_account_controls`` and ``scanner_control_failure_info`` must equal what
the daemon's own (paginated) API says, joined to ``scanner_account_info`` for the OU, and
Alertmanager must hold one alert per failing (account, rule). ``.ci/install-prometheus.sh``
installs both; without them the test is skipped, saying which binary is missing.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_stack import (
    Process,
    alertmanager_binary,
    eventually,
    free_port,
    get_json,
    prometheus_binary,
    start_alertmanager,
    start_prometheus,
)

from scanner.cli.serve import demo_config
from scanner.daemon.lifecycle import Daemon
from scanner.daemon.reasons import REASON_CODES
from scanner.testing.demo import ORGANIZATION
from scanner.testing.emulation import MOTO_ERROR_SHAPE_WARNING, emulate, fake_credentials

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(MOTO_ERROR_SHAPE_WARNING)]


PAYMENTS_PROD = "210000000002"  # healthy, notifies a topic of another account
PARTNER = "210000000014"  # the scanner's role cannot be assumed: every rule ERROR


async def all_findings(http: aiohttp.ClientSession, base: str) -> list[dict[str, Any]]:
    """Every finding, following the API's next links."""
    found: list[dict[str, Any]] = []
    url: str | None = f"{base}/api/v1/findings?limit=100"
    while url is not None:
        async with http.get(url) as response:
            page = await response.json()
        found += page["findings"]
        url = f"{base}{page['next']}" if page["next"] else None
    return found


def test_prometheus_scrapes_the_daemon_and_alertmanager_holds_its_alerts(
    tmp_path: Path, processes: list[Process]
) -> None:
    # Both programs before the daemon starts: a missing one fails the test in CI (which
    # installs them with .ci/install-prometheus.sh) and skips it elsewhere, saying so.
    prometheus_binary()
    alertmanager_binary()
    am_port, prom_port = free_port(), free_port()
    am = start_alertmanager(tmp_path, am_port)
    processes.append(am)
    emulator = emulate(ORGANIZATION)
    config = demo_config(
        emulator.endpoint_url,
        {
            "state": {"path": str(tmp_path / "state.db")},
            "alerts": {"alertmanager": [{"name": "am", "url": f"http://127.0.0.1:{am_port}"}]},
            "logging": {"format": "json"},
        },
        listen="127.0.0.1:0",
    )

    async def scenario() -> None:
        async with Daemon(config) as daemon, aiohttp.ClientSession() as http:
            assert daemon.service is not None
            service = daemon.service
            await eventually("the first scan", lambda: asyncio.sleep(0, service.health.ready), 60)
            target = daemon.url.removeprefix("http://")
            prom = start_prometheus(tmp_path, prom_port, target)
            processes.append(prom)
            api = f"http://127.0.0.1:{prom_port}/api/v1/query"

            async def query(promql: str) -> list[dict[str, Any]]:
                data = await get_json(http, api, query=promql)
                return data["data"]["result"] if data else []

            up = await eventually(
                "a scrape of the daemon", lambda: query('up{job="scanner"} == 1'), 60, prom
            )
            assert up[0]["metric"]["instance"] == target
            series = await eventually(
                "scanner_account_controls", lambda: query("scanner_account_controls"), 30, prom
            )
            served = await all_findings(http, daemon.url)
            assert (
                len(served) == len(service.findings()) == 18 * 18
            )  # 18 active accounts of the demo, 18 rules
            assert len(series) == 3 * len({f["account_id"] for f in served})
            total = await query("sum by (account_id) (scanner_account_controls)")
            assert {float(s["value"][1]) for s in total} == {18.0}

            # What PromQL counts per account and status is what the daemon's API says.
            expected = Counter((f["account_id"], f["status"]) for f in served)
            for status in ("PASS", "FAIL", "ERROR"):
                rows = await query(f'scanner_account_controls{{status="{status}"}}')
                got = {r["metric"]["account_id"]: float(r["value"][1]) for r in rows}
                want = {a: float(expected[a, status]) for a, _ in expected}
                assert got == want, status
            assert expected[PAYMENTS_PROD, "FAIL"] == 0
            # The organization trail decides the identity rules for the refused member too.
            assert expected[PARTNER, "ERROR"] == 9
            assert expected[PARTNER, "PASS"] == 9
            failures = await query("scanner_control_failure_info")
            assert {(r["metric"]["account_id"], r["metric"]["rule"]) for r in failures} == {
                (f["account_id"], f["rule"]) for f in served if f["status"] != "PASS"
            }
            assert {r["metric"]["reason"] for r in failures} <= set(REASON_CODES)
            assert "other" not in {r["metric"]["reason"] for r in failures}
            info = (await query(f'scanner_account_info{{account_id="{PAYMENTS_PROD}"}}'))[0]
            assert info["metric"]["organizational_unit"] == "Workloads/Production"
            assert info["metric"]["account_name"] == "payments-prod"
            # The identity joins onto any per-account series.
            joined = await query(
                f'scanner_control_failure_info{{account_id="{PARTNER}"}}'
                " * on (account_id) group_left (account_name, organizational_unit)"
                " scanner_account_info"
            )
            assert len(joined) == 9
            assert {r["metric"]["account_name"] for r in joined} == {"partner-integration"}
            accounts = await query("scanner_scan_accounts")
            by_state = {r["metric"]["state"]: float(r["value"][1]) for r in accounts}
            assert by_state == {"scanned": 17.0, "not_entered": 0.0, "skipped": 1.0, "failed": 1.0}
            calls = await query("sum(scanner_api_calls_total)")
            assert float(calls[0]["value"][1]) > 0

            # Alertmanager holds one alert per failing (account, rule), labelled for routing.
            failing = {(f["account_id"], f["rule"]) for f in served if f["status"] == "FAIL"}
            assert failing

            async def alerts() -> list[dict[str, Any]] | None:
                got = await get_json(http, f"http://127.0.0.1:{am_port}/api/v2/alerts")
                return got if got and len(got) >= len(failing) else None

            held = await eventually("the alerts in Alertmanager", alerts, 30, am)
            assert {(a["labels"]["account_id"], a["labels"]["rule"]) for a in held} == failing
            for alert in held:
                assert set(alert["labels"]) == {"alertname", "account_id", "rule", "severity"}
                assert alert["status"]["state"] == "active"

    with fake_credentials():
        asyncio.run(scenario())
