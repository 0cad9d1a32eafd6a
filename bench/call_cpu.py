"""CPU per AWS call: a member's two calls (AssumeRole, DescribeTrails) through the scanner's own
clients and gateway, against ``../shared/fakeaws``, with nothing else in the process.

Usage::

    python bench/call_cpu.py [--members 2000] [--runs 5] [--scanner-root /work/main]

Why: a scan's CPU seconds move ±15% between runs on a shared machine, more than a change to
the request pipeline saves (bench/README.md, "The request pipeline"). Here the calls are the
whole of the measured work, so the lowest of a few runs resolves tenths of a millisecond. The
fake runs in its own process with quotas scaled out of the way (``--tps-scale 1000``: no call
is throttled, every call is one request), 17 regions and 5 ms of latency; 50 members are
entered at once.
``--scanner-root`` measures another checkout's ``scanner`` package in the same way.

Prints, per run, CPU milliseconds per call (``time.process_time``: this process alone), then
the lowest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fakeaws_env import FAKEAWS, REPO, SCANNER_ENV  # a sibling: run as bench/<name>.py
from scale import fake_endpoint

IN_FLIGHT = 50


async def one_run(endpoint: str, members: int) -> tuple[int, float]:
    """Calls made and CPU seconds spent entering ``members`` members and describing their
    trails (the clients, the models and the base identity are made before the clock starts)."""
    from scanner.aws.clients import ClientOptions, ClientPool
    from scanner.aws.credentials import Credentials
    from scanner.aws.gateway import Caller, RateLimits

    pool = ClientPool(ClientOptions(endpoint_url=endpoint))
    caller = Caller(RateLimits(rates={"sts": 10_000.0, "cloudtrail": 10_000.0}))
    credentials = Credentials(pool, caller, home_region="us-east-1")
    ids = [f"1{n:011d}" for n in range(1, members + 2)]
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def member(account_id: str) -> None:
        async with gate:
            identity = await credentials.for_account(account_id)
            client = await pool.client(identity, "us-east-1", "cloudtrail")
            await caller.call(client, "DescribeTrails", includeShadowTrails=True)

    try:
        await member(ids[0])  # warm: every client, model and connection made once
        started = time.process_time()
        await asyncio.gather(*(member(a) for a in ids[1:]))
        return 2 * members, time.process_time() - started
    finally:
        await pool.close()


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=2000, help="members entered per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fake", type=Path, default=FAKEAWS, help="fakeaws.py to start")
    parser.add_argument(
        "--scanner-root", type=Path, default=REPO, help="checkout whose scanner package runs"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if not args.fake.is_file():
        sys.stderr.write(f"skipped: {args.fake} is absent (pass --fake PATH to fakeaws.py)\n")
        return 0
    sys.path.insert(0, str(args.scanner_root.resolve()))
    os.environ.update(SCANNER_ENV)
    fake: Any = SimpleNamespace(
        endpoint=None,
        accounts=args.members + 2,
        regions=17,
        latency_ms=5.0,
        fake=args.fake,
        fake_python=sys.executable,
        fake_arg=["--tps-scale", "1000"],
    )
    per_call: list[float] = []
    with fake_endpoint(fake) as endpoint:
        for run in range(1, args.runs + 1):
            calls, cpu = asyncio.run(one_run(endpoint, args.members))
            per_call.append(1000 * cpu / calls)
            sys.stdout.write(
                f"run {run}: {calls} calls, {cpu:.2f} CPU-s, {per_call[-1]:.3f} ms/call\n"
            )
    sys.stdout.write(f"lowest: {min(per_call):.3f} ms CPU per call ({args.scanner_root})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
