"""Event benchmark: CloudTrail changes re-judged from the queue, on a large fake organization.

Usage::

    python bench/events.py --accounts 1000 [--events 1000] [--seconds 60] [--regions 17]
                           [--latency-ms 50] [--debounce 1s] [--json FILE] [--log FILE]

Why: issue 17 promises seconds, not scan intervals, at a bounded cost: p99 from a change's event
to its verdict committed <= 5 s, <= 6 API calls per event, the same verdicts as a full re-scan
of the changed organization, and the daemon's RSS <= 300 MB at 10,000 accounts.

How: ``../shared/fakeaws/fakeaws.py`` runs as a child (``--accounts N``); the daemon runs as
another (``python -m scanner serve``) with ``events.enabled``, the fake's ``scanner-events``
queue, and a one-hour schedule (only the first scan runs). After the first scan:

1. Setup (not measured): one event in the management account deletes three of its alarms
   (``CIS-RootAccountUsage``, ``CIS-UnauthorizedAPICalls``, ``CIS-ConsoleSigninWithoutMFA``), so
   those rules now hold in a member only through its own chain. Every member depends on the
   management account: this one event re-judges the whole organization (its time is printed).
   The fake's counters are then reset.
2. Measured: ``--events`` changes over ``--seconds`` through ``POST /_events`` (the fake applies
   each and enqueues the event EventBridge would deliver), on the members that own a chain
   (every 10th): DeleteAlarms / PutMetricAlarm, DeleteMetricFilter / PutMetricFilter,
   StopLogging / StartLogging, Unsubscribe / Subscribe, each break followed by its repair a few
   seconds later, and the last tenth of breaks left standing. Each break turns a member's rule
   FAIL (its own chain was the last one), each repair PASS again.
3. Once every message is deleted: latency from the fake's own clock (send -> delete, which the
   daemon does only after the commit: a bound on event received -> transition committed),
   API calls per event (the fake's ``/_stats``: everything the daemon called in the window,
   SQS included, over the events), the daemon's RSS (``/proc``), and its verdicts (every page
   of ``/api/v1/findings``) against ``scanner scan --organization --format jsonl`` run now on
   the same changed fake: they must be equal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from fakeaws_env import FAKEAWS, REPO, SCANNER_ENV  # a sibling: run as bench/<name>.py
from soak import Daemon, fakeaws, free_port

from scanner.report.compact import expand, expand_lines

MANAGEMENT = "000000000001"
MEMBER_REGION = "eu-west-1"
QUEUE = "scanner-events"
TOPIC = "arn:aws:sns:eu-west-1:{account}:cis-alarms"
SUBSCRIPTION = TOPIC + ":0f4k3000-0000-4000-8000-{account}"
MANAGEMENT_ALARMS = [
    "CIS-RootAccountUsage",
    "CIS-UnauthorizedAPICalls",
    "CIS-ConsoleSigninWithoutMFA",
]

# (break, repair) of a member's own chain, each as the change /_events takes.
PAIRS: tuple[tuple[dict[str, Any], dict[str, Any]], ...] = (
    (
        {"event": "DeleteAlarms", "alarmNames": ["CIS-RootAccountUsage"]},
        {"event": "PutMetricAlarm", "alarmName": "CIS-RootAccountUsage"},
    ),
    (
        {
            "event": "DeleteMetricFilter",
            "logGroupName": "cloudtrail-logs",
            "filterName": "unauthorized-api-calls",
        },
        {
            "event": "PutMetricFilter",
            "logGroupName": "cloudtrail-logs",
            "filterName": "unauthorized-api-calls",
        },
    ),
    (
        {"event": "StopLogging", "name": "account-trail"},
        {"event": "StartLogging", "name": "account-trail"},
    ),
    (
        {"event": "Unsubscribe", "subscriptionArn": SUBSCRIPTION},
        {"event": "Subscribe", "topicArn": TOPIC},
    ),
)


def plan(accounts: int, events: int) -> list[dict[str, Any]]:
    """``events`` changes: rounds of breaks on up to 100 chain-owning members, each round
    followed by its repairs; then a tenth of the events as breaks left standing."""
    owners = [f"1{n:011d}" for n in range(10, accounts, 10)]
    standing = max(1, min(len(owners), events // 10))
    changes: list[dict[str, Any]] = []
    start, kind = 0, 0
    while len(changes) < events - standing - 1:
        group = max(1, min(len(owners), 100, (events - standing - len(changes)) // 2))
        members = [owners[(start + i) % len(owners)] for i in range(group)]
        breaking, repairing = PAIRS[kind % len(PAIRS)]
        changes.extend(_change(breaking, account) for account in members)
        changes.extend(_change(repairing, account) for account in members)
        start, kind = start + group, kind + 1
    # The standing breaks, each on its own member: a second break of the same member would
    # change nothing (the fake refuses it), so with fewer members than that the plan is shorter.
    breaking = PAIRS[kind % len(PAIRS)][0]
    left = [owners[(start + i) % len(owners)] for i in range(len(owners))]
    changes.extend(_change(breaking, account) for account in left[: events - len(changes)])
    return changes[:events]


def _change(template: dict[str, Any], account: str) -> dict[str, Any]:
    change = {"account": account, "region": MEMBER_REGION}
    for key, value in template.items():
        change[key] = value.format(account=account) if isinstance(value, str) else value
    return change


def write_config(directory: Path, endpoint: str, port: int, debounce: str) -> Path:
    config = directory / "scanner.yaml"
    config.write_text(
        json.dumps(
            {
                "endpoint_url": endpoint,
                "organization": {"enabled": True},
                "http": {"listen": f"127.0.0.1:{port}"},
                "state": {"path": str(directory / "state.db")},
                "schedule": {"interval": "1h", "jitter": "0s", "deadline": "1h"},
                "events": {
                    "enabled": True,
                    "queue_urls": [f"{endpoint}/{MANAGEMENT}/{QUEUE}"],
                    "debounce": debounce,
                },
                "logging": {"format": "json"},
            }
        )
    )
    return config


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return tuple(int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))  # type: ignore[return-value]


async def stats(http: aiohttp.ClientSession, endpoint: str) -> dict[str, Any]:
    async with http.get(f"{endpoint}/_stats") as response:
        found: dict[str, Any] = await response.json()
        return found


async def post(http: aiohttp.ClientSession, url: str, body: Any = None) -> dict[str, Any]:
    async with http.post(url, json=body) as response:
        text = await response.text()
        assert response.status == 200, text
        return json.loads(text) if text.strip().startswith("{") else {}


async def drained(http: aiohttp.ClientSession, endpoint: str, sent: int, timeout: float) -> None:
    """Until the fake's queue has every message deleted."""
    deadline = time.monotonic() + timeout
    while True:
        queue = (await stats(http, endpoint))["sqs"][QUEUE]
        if queue["deleted"] >= sent and not queue["visible"] and not queue["in_flight"]:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"queue not drained: {queue}")
        await asyncio.sleep(0.5)


async def daemon_verdicts(http: aiohttp.ClientSession, base: str) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    path: str | None = "/api/v1/findings?limit=1000"
    while path is not None:
        async with http.get(base + path) as response:
            page = await response.json()
        for f in expand(page)["findings"]:  # compact or full, the full shape
            found[(f["account_id"], f["rule"])] = f["status"]
        path = page.get("next")
    return found


async def rescan_verdicts(endpoint: str, directory: Path) -> dict[tuple[str, str], str]:
    """A full scan of the changed fake by the CLI, as (account, rule) -> status."""
    output = directory / "rescan.jsonl"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scanner",
        "scan",
        "--organization",
        "--format",
        "jsonl",
        "--output",
        str(output),
        cwd=REPO,
        env={**os.environ, **SCANNER_ENV, "PYTHONPATH": str(REPO), "AWS_ENDPOINT_URL": endpoint},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    found: dict[tuple[str, str], str] = {}
    lines = output.read_text().splitlines()
    for item in expand_lines(json.loads(line) for line in lines):  # the findings, in full
        found[(item["account_id"], item["rule"])] = item["status"]
    if not found:
        raise RuntimeError(f"the re-scan produced nothing: {err.decode()[-2000:]}")
    return found


async def first_scan(daemon: Daemon, timeout: float) -> float:
    started = time.monotonic()
    await asyncio.wait_for(daemon.completed.wait(), timeout)
    return time.monotonic() - started


async def run(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "accounts": args.accounts,
        "events": args.events,
        "seconds": args.seconds,
        "debounce": args.debounce,
    }
    async with fakeaws(args.fakeaws, args.accounts, args.regions, args.latency_ms) as endpoint:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            port = free_port()
            config = write_config(directory, endpoint, port, args.debounce)
            daemon = Daemon(config, port, args.log)
            await daemon.start()
            assert daemon.process is not None
            pid = daemon.process.pid
            async with aiohttp.ClientSession() as http:
                try:
                    figures["first_scan_s"] = round(await first_scan(daemon, 3600), 1)
                    figures["rss_after_first_scan_mb"] = round(rss_mb(pid)[0], 1)
                    print(
                        f"first scan: {figures['first_scan_s']} s, RSS "
                        f"{figures['rss_after_first_scan_mb']} MB",
                        flush=True,
                    )
                    await asyncio.sleep(3)  # the consumer starts after the first scan

                    # 1. The management account's break: the whole organization re-judged.
                    began = time.monotonic()
                    await post(
                        http,
                        f"{endpoint}/_events",
                        {
                            "queue": QUEUE,
                            "changes": [
                                {
                                    "account": MANAGEMENT,
                                    "region": "us-east-1",
                                    "event": "DeleteAlarms",
                                    "alarmNames": MANAGEMENT_ALARMS,
                                }
                            ],
                        },
                    )
                    await drained(http, endpoint, 1, 600)
                    figures["management_event_s"] = round(time.monotonic() - began, 2)
                    print(
                        f"management event (every member re-judged): "
                        f"{figures['management_event_s']} s",
                        flush=True,
                    )
                    await post(http, f"{endpoint}/_reset?what=stats")

                    # 2. The measured changes, paced over the window.
                    changes = plan(args.accounts, args.events)
                    figures["events"] = len(changes)
                    batch = 10
                    pace = args.seconds / max(1, len(changes) / batch)
                    began = time.monotonic()
                    peak_rss = 0.0
                    for i in range(0, len(changes), batch):
                        answer = await post(
                            http,
                            f"{endpoint}/_events",
                            {"queue": QUEUE, "changes": changes[i : i + batch]},
                        )
                        assert answer.get("failed", 0) == 0, answer
                        peak_rss = max(peak_rss, rss_mb(pid)[0])
                        await asyncio.sleep(
                            max(0.0, began + (i // batch + 1) * pace - time.monotonic())
                        )
                    figures["injected_in_s"] = round(time.monotonic() - began, 1)
                    await drained(http, endpoint, len(changes), 600)
                    figures["drained_after_s"] = round(time.monotonic() - began, 1)
                    after = await stats(http, endpoint)
                    queue = after["sqs"][QUEUE]
                    figures["send_to_delete_ms"] = queue["send_to_delete_ms"]
                    figures["send_to_first_receive_ms"] = queue["send_to_first_receive_ms"]
                    figures["redelivered"] = queue["redelivered"]
                    calls = after["calls"]
                    total = sum(calls.values())
                    sqs = sum(n for op, n in calls.items() if op.startswith("sqs:"))
                    figures["calls"] = dict(sorted(calls.items()))
                    figures["calls_per_event"] = round(total / len(changes), 2)
                    figures["calls_per_event_without_sqs"] = round((total - sqs) / len(changes), 2)
                    now, hwm = rss_mb(pid)
                    figures["rss_mb"] = round(max(now, peak_rss), 1)
                    figures["rss_peak_mb"] = round(hwm, 1)

                    # 3. The verdicts against a full re-scan of the changed fake.
                    mine = await daemon_verdicts(http, daemon.url)
                    began = time.monotonic()
                    theirs = await rescan_verdicts(endpoint, directory)
                    figures["rescan_s"] = round(time.monotonic() - began, 1)
                    differ = sorted(
                        k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k)
                    )
                    figures["findings"] = len(mine)
                    figures["fail"] = sum(1 for s in mine.values() if s == "FAIL")
                    figures["verdicts_differ"] = len(differ)
                    figures["differ_examples"] = [
                        [a, r, mine.get((a, r)), theirs.get((a, r))] for a, r in differ[:10]
                    ]
                finally:
                    await daemon.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--debounce", default="1s")
    parser.add_argument("--fakeaws", type=Path, default=FAKEAWS)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--log", type=Path, help="the daemon's log lines")
    args = parser.parse_args()
    if not args.fakeaws.exists():
        parser.error(f"{args.fakeaws} not found: pass --fakeaws PATH")
    figures = asyncio.run(run(args))
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
