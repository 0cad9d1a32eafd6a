"""Running the collector's coroutines from the command line.

Why not ``asyncio.run(work)`` itself: when it ends, asyncio restores Ctrl-C's handler, and
Python's signal module then formats the handler it replaces, a partial naming the main task,
whose repr holds the task's result. For a scan that result is the whole inventory: its repr was
11 MB of text at 10,000 accounts, built and dropped on the way out. Here the main task returns
nothing and the result is handed over beside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


def run(work: Awaitable[T]) -> T:
    """``asyncio.run(work)``'s result, without the main task holding it."""
    results: list[T] = []

    async def main() -> None:
        results.append(await work)

    asyncio.run(main())
    return results[0]
