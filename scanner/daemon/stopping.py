"""Waiting that the daemon's stop cuts short.

Every loop of the daemon (the scheduler, the listing's refresh, the event consumer) sleeps,
long-polls or waits on an event through :func:`until`, so that a SIGTERM never waits for an
interval, a debounce or a 20-second long poll to run out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def until(stop: asyncio.Event, work: Awaitable[T]) -> T | None:
    """``await work``, unless ``stop`` is set first: then the work is cancelled and the answer
    is ``None`` (a work whose own result may be ``None`` is asked whether it finished through
    ``stop.is_set()``)."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None
    return task.result()


__all__ = ["until"]
