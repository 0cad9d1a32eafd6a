"""CPU spent pacing: many tasks waiting on one ``(account, region, service)``'s pace.

Usage::

    python bench/pacing.py [--rate 40] [--requests 200] [--waiters 1 32 200]

Why: a scan's tasks wait on paces all the time (the organization's listing on Organizations'
next slot for minutes; a page of 20 members on the management account's STS pace), so what a
waiting task costs is paid for the whole wait. Prints, per number of waiting tasks, the wall
time to let ``--requests`` requests through and the CPU it took.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from scanner.aws.pacing import Pace


async def through(rate: float, waiters: int, requests: int) -> tuple[float, float]:
    pace = Pace(rate)

    async def worker(count: int) -> None:
        for _ in range(count):
            await pace.acquire()

    cpu, wall = time.process_time(), time.monotonic()
    await asyncio.gather(*(worker(requests // waiters) for _ in range(waiters)))
    return time.monotonic() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=40.0)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--waiters", type=int, nargs="+", default=[1, 32, 200])
    args = parser.parse_args()
    print("| waiting tasks | requests | wall s | CPU ms | CPU ms per request |")
    print("|---:|---:|---:|---:|---:|")
    for waiters in args.waiters:
        wall, cpu = asyncio.run(through(args.rate, waiters, args.requests))
        per = cpu * 1000 / args.requests
        print(f"| {waiters} | {args.requests} | {wall:.2f} | {cpu * 1000:.0f} | {per:.3f} |")


if __name__ == "__main__":
    main()
