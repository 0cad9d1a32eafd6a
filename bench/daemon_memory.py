"""What the daemon's process holds scan after scan, and after a restart, without AWS.

    python bench/daemon_memory.py --inventory FILE [--scans 4] [--trace]

FILE is an inventory saved by ``scanner scan --organization --save-inventory`` (the fake
organization of ``../shared/fakeaws`` at 1,000 or 10,000 accounts). The daemon's own
:class:`~scanner.daemon.scheduler.Service` (metrics, state store in a temporary directory,
alert dispatcher) runs its scans with a collector that decodes FILE again each time (new
objects, as a real collection makes), so what is measured is the evaluation, the commit, the
picture and what they keep, not the AWS session. After the scans a second Service restores the
state (as a restarted daemon does) and scans once more, in the same process: its figures add to
what the first one left (run with ``--scans 1`` to see a restart close to alone).

Prints, per scan, the process's RSS and its high-water mark (``/proc/self/status``), the
scan's CPU seconds and the state file's size; for the restart, the seconds reading the state
took (:meth:`~scanner.daemon.state.StateStore.load`, what a restarted daemon waits for before
``/readyz``) and the restore into the metrics; with ``--trace``, tracemalloc's held and peak
figures per scan and the lines holding the most at the end (tracemalloc inflates RSS: compare
RSS without it).

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

from scanner.aws import CallStats, CollectResult, ScanOptions
from scanner.daemon.alerts import AlertDispatcher
from scanner.daemon.config import Config, from_mapping
from scanner.daemon.heap import tune_heap
from scanner.daemon.metrics import Metrics
from scanner.daemon.scheduler import Service
from scanner.daemon.sharding import Shard
from scanner.daemon.state import StateStore
from scanner.model import Inventory


def rss() -> str:
    """``RSS <now> MB (peak <high-water> MB)`` of this process."""
    found = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS", "VmHWM")):
                found[line.split(":")[0]] = int(line.split()[1]) / 1024
    return f"RSS {found['VmRSS']:.0f} MB (peak {found['VmHWM']:.0f} MB)"


def size(path: str) -> str:
    """``state <file> MB (+ WAL)``: the state file and its write-ahead log."""
    wal = f"{path}-wal"
    extra = os.path.getsize(wal) if os.path.exists(wal) else 0
    return f"state {os.path.getsize(path) / 1e6:.1f} MB (WAL {extra / 1e6:.1f} MB)"


async def scans(config: Config, text: str, count: int, trace: bool, label: str) -> None:
    async def collect(options: ScanOptions) -> CollectResult:
        return CollectResult(Inventory.from_json(json.loads(text)), CallStats(), (), 0.0)

    started, wall = time.process_time(), time.perf_counter()
    store = StateStore.connect(config.state.path)
    store.load()
    loaded = time.perf_counter() - wall
    dispatcher = AlertDispatcher(store, config.alerts)
    service = Service(
        config, Shard(), Metrics(), store=store, dispatcher=dispatcher, collect_fn=collect
    )
    if service.restore():
        gc.collect()
        print(
            f"{label}: state read in {loaded:.1f} s, restored in"
            f" {time.perf_counter() - wall:.1f} s ({time.process_time() - started:.1f} CPU-s),"
            f" {rss()}, {size(config.state.path)}"
        )
    for number in range(1, count + 1):
        started = time.process_time()
        outcome = await service.scan_once()
        gc.collect()
        line = (
            f"{label} scan {number}: {outcome.record.outcome}, {len(outcome.record.findings)}"
            f" findings, {time.process_time() - started:.1f} CPU-s, {rss()},"
            f" {size(config.state.path)}"
        )
        if trace:
            held, peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            line += f", traced {held / 2**20:.1f} MiB held, {peak / 2**20:.1f} MiB peak"
        print(line, flush=True)
    await service.close()
    await dispatcher.aclose()
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--inventory", required=True, type=Path)
    parser.add_argument("--scans", type=int, default=4)
    parser.add_argument("--trace", action="store_true", help="tracemalloc (slow, inflates RSS)")
    args = parser.parse_args()
    tune_heap()  # as the daemon does before its threads start
    text = args.inventory.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as directory:
        state = os.path.join(directory, "state.db")
        config = from_mapping(
            {"state": {"path": state}, "schedule": {"interval": "1h", "jitter": "0s"}}, {}
        )
        print(f"start: {rss()}")
        if args.trace:
            tracemalloc.start(1)
        asyncio.run(scans(config, text, args.scans, args.trace, "daemon"))
        asyncio.run(scans(config, text, 1, args.trace, "restarted"))
        if args.trace:
            for stat in tracemalloc.take_snapshot().statistics("lineno")[:15]:
                print(stat)


if __name__ == "__main__":
    main()
