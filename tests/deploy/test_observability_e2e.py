"""Every dashboard query and every alert rule against a real Prometheus scraping the daemon.

The daemon runs in this process on the demo organization (moto, fake credentials), scanning
every few seconds so the counters and the duration histogram move between scrapes; a real
Prometheus (tests/prometheus_stack.py, shared with tests/daemon/test_e2e_prometheus.py)
scrapes it every second with helm/files/alerts.yaml loaded. Then each panel's query of
helm/files/dashboard.json runs through Prometheus's HTTP API, variables set to "All" (".*"),
and must return at least one finite value; with the variables set to real values taken from
their own label_values queries, each must still be valid PromQL. The rules must load, evaluate
without error, and the control rule must hold one pending alert per failing (account, rule).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from daemon.test_e2e_events import cloudtrail_event, queue_of
from deploy.test_observability import DASHBOARD, RULES, rule_expressions
from prometheus_stack import (
    Process,
    eventually,
    free_port,
    get_json,
    prometheus_binary,
    start_prometheus,
)

from scanner.cli.serve import demo_config
from scanner.daemon.lifecycle import Daemon
from scanner.testing.demo import ORGANIZATION
from scanner.testing.emulation import MOTO_ERROR_SHAPE_WARNING, emulate, fake_credentials

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(MOTO_ERROR_SHAPE_WARNING)]

# Grafana's built-in variables, as Grafana would expand them for a short time range.
BUILTINS = {"$__range": "5m", "$__rate_interval": "1m", "$__interval": "15s"}


def panel_queries() -> list[tuple[str, dict[str, Any]]]:
    board = json.loads(DASHBOARD.read_text())
    return [
        (f"{panel['title']} [{target['refId']}]", target)
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]


def expand(expr: str, values: dict[str, str]) -> str:
    for name, value in BUILTINS.items():
        expr = expr.replace(name, value)
    return re.sub(r"\$(\w+)", lambda m: values[m.group(1)], expr)


def grafana_escape(value: str) -> str:
    """A value in a regex matcher as Grafana's Prometheus data source writes it."""
    return re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\\\1", value)


def finite(result: list[dict[str, Any]]) -> bool:
    samples = [s["value"] for s in result if "value" in s]
    samples += [v for s in result for v in s.get("values", [])]
    return any(math.isfinite(float(value)) for _, value in samples)


def test_every_panel_query_returns_data_and_the_rules_evaluate(
    tmp_path: Path, processes: list[Process]
) -> None:
    prometheus_binary()  # before the daemon starts: fails in CI, skips elsewhere
    prom_port = free_port()
    emulator = emulate(ORGANIZATION)
    with fake_credentials():  # the change-event queue, in moto (the event path's panels)
        sqs, queue = queue_of(emulator.endpoint_url)
    member = next(a.id for a in ORGANIZATION.members if not a.suspended)
    config = demo_config(
        emulator.endpoint_url,
        {
            "schedule": {"interval": "3s", "jitter": "0s", "deadline": "2m"},
            "logging": {"format": "json"},
            "events": {"enabled": True, "queue_urls": [queue], "wait_seconds": 1},
        },
        listen="127.0.0.1:0",
    )

    async def scenario() -> None:
        async with Daemon(config) as daemon, aiohttp.ClientSession() as http:
            assert daemon.service is not None
            service = daemon.service
            await eventually("the first scan", lambda: asyncio.sleep(0, service.health.ready), 60)
            prom = start_prometheus(
                tmp_path, prom_port, daemon.url.removeprefix("http://"), [RULES.resolve()]
            )
            processes.append(prom)
            base = f"http://127.0.0.1:{prom_port}/api/v1"

            async def query(promql: str) -> Any:
                return await get_json(http, f"{base}/query", query=promql)

            async def result(promql: str) -> list[dict[str, Any]]:
                data = await query(promql)
                return data["data"]["result"] if data else []

            # One change event once Prometheus has seen the event counters at zero, so that the
            # latency histogram's rate moves (what a member's forwarding rule would deliver).
            await eventually(
                "the event counters scraped",
                lambda: result("scanner_events_acted_total == 0"),
                60,
                prom,
            )
            sqs.send_message(
                QueueUrl=queue,
                MessageBody=cloudtrail_event(
                    member, "monitoring.amazonaws.com", "DeleteAlarms", {"alarmNames": ["gone"]}
                ),
            )
            # Two more successful scans seen by Prometheus: counters and histograms have moved.
            await eventually(
                "two scans scraped",
                lambda: result('increase(scanner_scans_total{outcome="success"}[1m]) >= 2'),
                90,
                prom,
            )
            await eventually(
                "the event scraped",
                lambda: result("increase(scanner_events_acted_total[1m]) > 0"),
                60,
                prom,
            )

            every = {"ou": ".*", "account": ".*", "rule": ".*"}
            empty = []
            for title, target in panel_queries():
                expr = expand(target["expr"], every)
                if target.get("range"):
                    now = time.time()
                    data = await get_json(
                        http,
                        f"{base}/query_range",
                        query=expr,
                        start=str(now - 60),
                        end=str(now),
                        step="1",
                    )
                else:
                    data = await query(expr)
                assert data and data["status"] == "success", (title, expr, data)
                if not finite(data["data"]["result"]):
                    empty.append((title, expr))
            assert not empty, empty

            # Compliance, computed from the per-account counts and the failures only, is exact:
            # what the findings say, for the whole organization and for one rule in one OU.
            (compliance,) = [
                t for title, t in panel_queries() if title == "Organization compliance [A]"
            ]
            findings = service.findings()
            rule = next(f.rule for f in findings if f.status == "FAIL")
            ou = "Workloads/Production"
            views = service.metrics.state.accounts
            chosen = [
                f
                for f in findings
                if f.rule == rule and views[f.account_id].organizational_unit.startswith(ou)
            ]
            for selection, subset in (
                (every, findings),
                ({**every, "rule": rule, "ou": ou + ".*"}, chosen),
            ):
                rows = await result(expand(compliance["expr"], selection))
                want = sum(f.status == "PASS" for f in subset) / len(subset)
                assert float(rows[0]["value"][1]) == pytest.approx(want), selection

            # A real value for each variable, from the variable's own label_values query.
            board = json.loads(DASHBOARD.read_text())
            real: dict[str, str] = {}
            for variable in board["templating"]["list"]:
                match = re.fullmatch(r"label_values\((.*), (\w+)\)", variable.get("definition", ""))
                if not match:
                    continue
                selector = expand(match.group(1), every)
                values = await get_json(
                    http, f"{base}/label/{match.group(2)}/values", **{"match[]": selector}
                )
                assert values and values["data"], variable["name"]
                real[variable["name"]] = grafana_escape(sorted(v for v in values["data"] if v)[0])
            assert set(real) == {"ou", "account", "rule"}
            for title, target in panel_queries():
                data = await query(expand(target["expr"], real))
                assert data and data["status"] == "success", (title, real)

            # The rules load and evaluate without error.
            rules = await eventually(
                "the rules evaluated",
                lambda: get_json(http, f"{base}/rules"),
                30,
                prom,
            )
            loaded = {r["name"]: r for g in rules["data"]["groups"] for r in g["rules"]}
            assert set(loaded) == set(rule_expressions())
            for name, rule in loaded.items():
                assert rule["health"] == "ok", (name, rule.get("lastError"))
                assert not rule.get("lastError"), name

            # The control rule holds one pending alert per failing (account, rule).
            failing = {(f.account_id, f.rule) for f in service.findings() if f.status == "FAIL"}
            assert failing
            alerts = loaded["ScannerControlMetricFailing"]["alerts"]
            assert {(a["labels"]["account_id"], a["labels"]["rule"]) for a in alerts} == failing
            assert {a["state"] for a in alerts} == {"pending"}  # for: 5m
            assert not loaded["ScannerDown"]["alerts"]
            assert not loaded["ScannerAbsent"]["alerts"]

    with fake_credentials():
        asyncio.run(scenario())
