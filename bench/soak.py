"""Soak benchmark: the daemon on a large fake organization, probed and scraped while it scans.

Usage::

    python bench/soak.py --accounts 1000 [--scans 5] [--regions 17] [--interval 5]
                         [--latency-ms 50] [--account-concurrency N]
                         [--no-load] [--heap-reports DIR]

Why: a daemon at scale must keep answering its probes (Kubernetes restarts one whose /healthz
outlasts the probe timeout) while it scans, renders /metrics and serves large API responses,
its state file must stay bounded over scans that change nothing, and a restart must keep every
series' labels. This measures exactly that, from outside, as Kubernetes and Prometheus would.

How: ``../shared/fakeaws/fakeaws.py`` (relative to the repository root; ``--fakeaws`` to point
elsewhere) runs as a child with ``--accounts N``; the daemon runs as another child
(``python -m scanner serve``) with ``endpoint_url`` set to it, a short schedule interval and its
state in a temporary directory. While it runs, three loops hit it: /healthz every 50 ms (the
probe), /metrics every 2 s with gzip (a Prometheus scrape) and every page of /api/v1/findings
every 5 s. Scans are delimited by the daemon's own log lines (scan start, ``scan_completed``).
After each completed scan the daemon's RSS (``/proc/<pid>/status``), its front process's
(the child that owns the port and answers the probes) and the state's size (database plus WAL)
are read. After the last scan the daemon is stopped and started again on
the same state: the time until the port answers, until /readyz is 200, and whether the
per-account series (names, labels, values) are the same as before the restart.

Prints a per-scan table, then /healthz p50/p99/max overall, during scans and while a /metrics
or /api/v1/findings request was in flight, the sizes and times of those responses, and the
restart figures. ``--json FILE`` writes every figure.

``--no-load`` leaves out the scrapes and the API walks (what the daemon's own scans cost);
``--heap-reports DIR`` runs the daemon through ``bench/heap_report.py`` and has it write a report
of its memory (allocators, and tracemalloc's lines with ``PYTHONTRACEMALLOC=1``) at the end of
each scan, after its RSS is read.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import multiprocessing
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from fakeaws_env import FAKEAWS, REPO, SCANNER_ENV  # a sibling: run as bench/<name>.py
from prometheus_client.parser import text_string_to_metric_families

PER_ACCOUNT = (
    "scanner_account_info",
    "scanner_account_controls",
    "scanner_control_failure_info",
    "scanner_account_last_success_timestamp_seconds",
    "scanner_account_errors",
    "scanner_collection_errors",
)
PROBE_EVERY = 0.05
SCRAPE_EVERY = 2.0
API_EVERY = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Probe:
    started: float
    seconds: float
    status: int


@dataclass
class Request:
    path: str
    started: float
    seconds: float
    size: int  # bytes on the wire
    body: int  # bytes decoded


@dataclass
class ScanFigures:
    number: int
    seconds: float
    findings: int
    healthz_p50_ms: float
    healthz_p99_ms: float
    healthz_max_ms: float
    rss_mb: float
    front_rss_mb: float
    database_mb: float
    # From the daemon's scan_completed line: the scan's own seconds (its listing included) and
    # calls; AssumeRole, GetCallerIdentity and Organizations calls drop to 0 on a warm scan.
    daemon_seconds: float = 0.0
    calls: int = 0
    calls_per_account: float = 0.0
    assume_role: int = 0
    caller_identity: int = 0
    organizations: int = 0
    listing_age_s: float | None = None


@dataclass
class Figures:
    accounts: int
    regions: int
    scans: list[ScanFigures] = field(default_factory=list)
    healthz: dict[str, dict[str, float]] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    findings_api: dict[str, float] = field(default_factory=dict)
    restart: dict[str, Any] = field(default_factory=dict)


def percentiles(values: Iterable[float]) -> dict[str, float]:
    data = sorted(values)
    if not data:
        return {"n": 0, "p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    p99 = data[min(len(data) - 1, round(0.99 * (len(data) - 1)))]
    return {
        "n": len(data),
        "p50_ms": round(1000 * statistics.median(data), 1),
        "p99_ms": round(1000 * p99, 1),
        "max_ms": round(1000 * data[-1], 1),
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def children(pid: int) -> list[int]:
    """The process's children (the daemon's front), from /proc."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def front_rss_mb(pid: int) -> float:
    return round(sum(rss_mb(child) for child in children(pid)), 1)


def database_mb(path: Path) -> float:
    total = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    return round(total / 1e6, 2)


def per_account_series(text: str) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    return {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name in PER_ACCOUNT
    }


class Daemon:
    """The daemon as a child process; its log lines mark the scans."""

    def __init__(
        self, config: Path, port: int, log: Path | None = None, heap_reports: Path | None = None
    ) -> None:
        self.config = config
        self.log = log
        self.heap_reports = heap_reports
        self.url = f"http://127.0.0.1:{port}"
        self.process: asyncio.subprocess.Process | None = None
        self.scans: list[tuple[float, float | None, int]] = []  # start, end, findings
        self.completed = asyncio.Event()
        self.completions: list[dict[str, Any]] = []  # each scan_completed line
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> float:
        # Through bench/heap_report.py when asked: the same command line, and a memory report
        # on SIGUSR1 (see report_heap).
        command = (
            ("-m", "scanner")
            if self.heap_reports is None
            else (str(Path(__file__).with_name("heap_report.py")), str(self.heap_reports))
        )
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            *command,
            "serve",
            "--config",
            str(self.config),
            cwd=REPO,
            env={**os.environ, **SCANNER_ENV, "PYTHONPATH": str(REPO)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())
        return time.monotonic()

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        log = self.log.open("ab") if self.log else None
        async for raw in self.process.stdout:
            if log is not None:
                log.write(raw)
                log.flush()
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            event = line.get("event")
            now = time.monotonic()
            if event in ("accounts_listed", "scan_started") and (
                not self.scans or self.scans[-1][1] is not None
            ):
                self.scans.append((now, None, 0))
            elif event == "scan_completed" and self.scans:
                start, _, _ = self.scans[-1]
                self.scans[-1] = (start, now, int(line.get("findings", 0)))
                self.completions.append(line)
                self.completed.set()
            elif event in ("scan_failed", "scan_crashed"):
                print(f"daemon: {event}: {line}", file=sys.stderr)
                if self.scans and self.scans[-1][1] is None:
                    self.scans.pop()

    def report_heap(self) -> None:
        """Ask the daemon for a memory report (``--heap-reports``), written to that directory."""
        if self.heap_reports is not None and self.process is not None:
            self.process.send_signal(signal.SIGUSR1)

    def in_scan(self, moment: float) -> bool:
        return any(s <= moment and (e is None or moment <= e) for s, e, _ in self.scans)

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)


@contextlib.asynccontextmanager
async def fakeaws(path: Path, accounts: int, regions: int, latency: float) -> AsyncIterator[str]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(path),
        "--port",
        str(port),
        "--accounts",
        str(accounts),
        "--regions",
        str(regions),
        "--latency-ms",
        str(latency),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{url}/_stats") as r:
                        if r.status == 200:
                            break
                await asyncio.sleep(0.1)
        yield url
    finally:
        process.terminate()
        await process.wait()


def probe_loop(url: str, stop: Any, results: Any) -> None:
    """The probe, in its own process (as the kubelet is): a slow reader in the benchmark's own
    event loop must not be counted as the daemon's delay."""
    import http.client

    conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=30)
    probes: list[tuple[float, float, int]] = []
    while not stop.is_set():
        started = time.monotonic()
        try:
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            response.read()
            status = response.status
        except OSError:
            conn.close()
            status = 0
        probes.append((started, time.monotonic() - started, status))
        time.sleep(PROBE_EVERY)
    results.send(probes)


class Load:
    """The scraper and the API reader, recording every request; the probe's results.
    ``reads=False`` (``--no-load``): neither reads, the probe only."""

    def __init__(self, base: str, reads: bool = True) -> None:
        self.base = base
        self.reads = reads
        self.probes: list[Probe] = []
        self.requests: list[Request] = []
        self.in_flight: list[tuple[float, float]] = []  # big requests' (start, end)
        self.last_metrics = ""

    async def _get(self, http: aiohttp.ClientSession, path: str, **headers: str) -> bytes:
        started = time.monotonic()
        async with http.get(f"{self.base}{path}", headers=headers) as r:
            wire = await r.content.read()
            zipped = r.headers.get("Content-Encoding") == "gzip"
        ended = time.monotonic()
        body = await asyncio.to_thread(gzip.decompress, wire) if zipped else wire
        self.requests.append(
            Request(path.split("?", maxsplit=1)[0], started, ended - started, len(wire), len(body))
        )
        self.in_flight.append((started, ended))
        return body

    async def scrape(self, http: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        while self.reads and not stop.is_set():
            with contextlib.suppress(aiohttp.ClientError):
                body = await self._get(http, "/metrics", **{"Accept-Encoding": "gzip"})
                self.last_metrics = body.decode()
            await asyncio.sleep(SCRAPE_EVERY)

    async def read_api(self, http: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        while self.reads and not stop.is_set():
            path: str | None = "/api/v1/findings?limit=1000"
            with contextlib.suppress(aiohttp.ClientError):
                while path is not None and not stop.is_set():
                    body = await self._get(http, path, **{"Accept-Encoding": "gzip"})
                    # The head comes first: no need to parse megabytes of findings for it.
                    head = json.loads(body[: body.index(b',"findings":')] + b"}")
                    path = head.get("next")
            await asyncio.sleep(API_EVERY)

    def overlapping(self, probe: Probe) -> bool:
        end = probe.started + probe.seconds
        return any(s <= end and probe.started <= e for s, e in self.in_flight)


def write_config(
    directory: Path, endpoint: str, port: int, interval: float, concurrency: int | None = None
) -> Path:
    config = directory / "scanner.yaml"
    limits = {"limits": {"account_concurrency": concurrency}} if concurrency else {}
    config.write_text(
        json.dumps(
            {
                "endpoint_url": endpoint,
                "organization": {"enabled": True},
                "http": {"listen": f"127.0.0.1:{port}"},
                "state": {"path": str(directory / "state.db")},
                "schedule": {"interval": f"{int(interval)}s", "jitter": "0s", "deadline": "1h"},
                "logging": {"format": "json"},
                **limits,
            }
        )
    )
    return config


async def restart(daemon: Daemon, http: aiohttp.ClientSession, load: Load) -> dict[str, Any]:
    """Stop, start again on the same state; how soon it answers and whether labels held."""
    plain = {"Accept-Encoding": "identity"}
    async with http.get(f"{daemon.url}/metrics", headers=plain) as r:
        before = per_account_series(await r.text())
    await daemon.stop()
    again = Daemon(daemon.config, int(daemon.url.rsplit(":", 1)[1]), daemon.log)  # no reports
    started = await again.start()
    port_open = ready = None
    after: set[tuple[str, tuple[tuple[str, str], ...], float]] = set()
    try:
        while ready is None and time.monotonic() - started < 120:
            try:
                async with http.get(f"{again.url}/healthz") as r:
                    port_open = port_open or time.monotonic() - started
                async with http.get(f"{again.url}/readyz") as r:
                    if r.status == 200:
                        ready = time.monotonic() - started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        async with http.get(f"{again.url}/metrics", headers=plain) as r:
            after = per_account_series(await r.text())
        rescanned = any(e is not None for _, e, _ in again.scans)
    finally:
        await again.stop()
    changed = before ^ after
    return {
        "port_open_s": round(port_open, 2) if port_open else None,
        "ready_s": round(ready, 2) if ready else None,
        "series_before": len(before),
        "series_after": len(after),
        "identical": not changed,
        "differences": sorted(str(c) for c in changed)[:10],
        "a_scan_completed_before_the_comparison": rescanned,
    }


async def soak(args: argparse.Namespace) -> Figures:
    figures = Figures(args.accounts, args.regions)
    async with fakeaws(args.fakeaws, args.accounts, args.regions, args.latency_ms) as endpoint:
        with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
            directory = Path(tmp)
            port = free_port()
            config = write_config(
                directory, endpoint, port, args.interval, args.account_concurrency
            )
            daemon = Daemon(config, port, args.log, args.heap_reports)
            await daemon.start()
            load = Load(daemon.url, reads=not args.no_load)
            stop = asyncio.Event()
            timeout = aiohttp.ClientTimeout(total=600)
            # Bodies as sent: the sizes on the wire are measured, and decompressed here.
            async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as http:
                context = multiprocessing.get_context("spawn")
                probe_stop = context.Event()
                receive, send = context.Pipe(duplex=False)
                prober = context.Process(target=probe_loop, args=(daemon.url, probe_stop, send))
                prober.start()
                loops = [
                    asyncio.create_task(load.scrape(http, stop)),
                    asyncio.create_task(load.read_api(http, stop)),
                ]
                assert daemon.process is not None
                pid = daemon.process.pid
                scan_ends: list[tuple[int, float, float, int, float, float, float]] = []
                while len(scan_ends) < args.scans:
                    await asyncio.wait_for(daemon.completed.wait(), args.scan_timeout)
                    daemon.completed.clear()
                    for start, end, findings in daemon.scans[len(scan_ends) :]:
                        if end is not None:
                            scan_ends.append(
                                (
                                    len(scan_ends) + 1,
                                    start,
                                    end,
                                    findings,
                                    rss_mb(pid),
                                    front_rss_mb(pid),
                                    database_mb(directory / "state.db"),
                                )
                            )
                            daemon.report_heap()  # after the RSS is read: it runs gc
                            print(f"scan {len(scan_ends)}: {end - start:.1f} s", flush=True)
                stop.set()
                probe_stop.set()
                load.probes = [Probe(*p) for p in await asyncio.to_thread(receive.recv)]
                prober.join()
                await asyncio.gather(*loops, return_exceptions=True)
                for number, start, end, findings, rss, front, size in scan_ends:
                    during = [p.seconds for p in load.probes if start <= p.started <= end]
                    stats = percentiles(during)
                    line = daemon.completions[number - 1]
                    calls = int(line.get("api_calls") or 0)
                    figures.scans.append(
                        ScanFigures(
                            number,
                            round(end - start, 1),
                            findings,
                            stats["p50_ms"],
                            stats["p99_ms"],
                            stats["max_ms"],
                            rss,
                            front,
                            size,
                            float(line.get("seconds") or 0.0),
                            calls,
                            round(calls / args.accounts, 2),
                            int(line.get("assume_role_calls") or 0),
                            int(line.get("caller_identity_calls") or 0),
                            int(line.get("organizations_calls") or 0),
                            line.get("listing_age_seconds"),
                        )
                    )
                probes = load.probes
                answered = next((i for i, p in enumerate(probes) if p.status), len(probes))
                figures.healthz = {
                    "all": percentiles(p.seconds for p in probes[answered:]),
                    "during_scans": percentiles(
                        p.seconds for p in probes if daemon.in_scan(p.started)
                    ),
                    "during_metrics_or_findings": percentiles(
                        p.seconds for p in probes if load.overlapping(p)
                    ),
                    # Refused before the port was first bound (the daemon still starting) is
                    # not a failure; anything but 200 after that is.
                    "failed": {
                        "before_the_port_opened": sum(
                            1 for p in probes[:answered] if p.status == 0
                        ),
                        "after": sum(1 for p in probes[answered:] if p.status != 200),
                    },
                }
                scrapes = [r for r in load.requests if r.path == "/metrics"]
                pages = [r for r in load.requests if r.path == "/api/v1/findings"]
                last = per_account_series(load.last_metrics) if load.last_metrics else set()
                body = max((r.body for r in scrapes[-3:]), default=0)
                figures.metrics = {
                    "scrapes": len(scrapes),
                    "bytes": body,
                    "bytes_gzip": max((r.size for r in scrapes[-3:]), default=0),
                    "bytes_per_account": round(body / args.accounts, 1),
                    **{
                        f"seconds_{k}": v
                        for k, v in percentiles(r.seconds for r in scrapes).items()
                    },
                    "per_account_series": len(last),
                }
                figures.findings_api = {
                    "pages": len(pages),
                    "page_bytes_max": max((r.body for r in pages), default=0),
                    "page_bytes_gzip_max": max((r.size for r in pages), default=0),
                    **{f"s_{k}": v for k, v in percentiles(r.seconds for r in pages).items()},
                }
                figures.restart = await restart(daemon, http, load)
    return figures


def report(figures: Figures) -> None:
    print()
    print(f"{figures.accounts} accounts, {figures.regions} regions")
    print(
        "| scan | seconds | findings | /healthz p50 ms | p99 ms | max ms | RSS MB | front RSS MB "
        "| state MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in figures.scans:
        print(
            f"| {s.number} | {s.seconds} | {s.findings} | {s.healthz_p50_ms} | "
            f"{s.healthz_p99_ms} | {s.healthz_max_ms} | {s.rss_mb} | {s.front_rss_mb} | "
            f"{s.database_mb} |"
        )
    print()
    print(
        "| scan | daemon s | calls | calls/account | AssumeRole | GetCallerIdentity "
        "| Organizations | listing age s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in figures.scans:
        print(
            f"| {s.number} | {s.daemon_seconds} | {s.calls} | {s.calls_per_account} | "
            f"{s.assume_role} | {s.caller_identity} | {s.organizations} | {s.listing_age_s} |"
        )
    for name, stats in figures.healthz.items():
        print(f"/healthz {name}: {stats}")
    print(f"/metrics: {figures.metrics}")
    print(f"/api/v1/findings: {figures.findings_api}")
    print(f"restart: {figures.restart}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--scans", type=int, default=5)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between scans")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--account-concurrency",
        type=int,
        help="limits.account_concurrency (default: the daemon's); warm scans are bound by it",
    )
    parser.add_argument("--scan-timeout", type=float, default=1800.0, help="seconds per scan")
    parser.add_argument("--fakeaws", type=Path, default=FAKEAWS)
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--log", type=Path, help="append the daemon's log lines here")
    parser.add_argument(
        "--no-load",
        action="store_true",
        help="no /metrics scrapes and no walks of /api/v1/findings: the daemon's own scans alone",
    )
    parser.add_argument(
        "--heap-reports",
        type=Path,
        metavar="DIR",
        help="run the daemon through bench/heap_report.py and write a memory report of it to "
        "DIR at the end of each scan (PYTHONTRACEMALLOC=1 adds tracemalloc's lines)",
    )
    args = parser.parse_args(argv)
    if not args.fakeaws.exists():
        parser.error(f"{args.fakeaws} not found: pass --fakeaws PATH")
    figures = asyncio.run(soak(args))
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(asdict(figures), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
