"""How fast one ``(account, region, service)`` is called: its rate, in windows that keep one
token of AWS's bucket in hand, a step back when AWS answers that the quota is busy, and waiters
that sleep until their turn.

Why windows one short of a second's requests. AWS's quotas are token buckets holding about a
second of refill (Organizations: 2 at 2/s). Where our rate is the quota itself (Organizations),
sending a whole second's requests back to back just as the last ones' tokens come back turns
any jitter on the way into a throttle. At most ``burst`` requests leave in any window of
``burst / rate`` seconds, ``burst`` being one less than a second's requests (one request every
0.5 s at 2/s, four every 0.8 s at 5/s): the bucket keeps a token in hand, the average rate is
the same, and the data plane's short sequences (three CloudTrail reads of a trail) still leave
at once.

Why a step back. Our calls share each account's quotas with its own workload, and the
Organizations quota with every tool of the organization. A throttled answer says someone else
needs the quota now: the pace drops to three quarters (never under a quarter of the configured
rate) and comes back by a fiftieth of the configured rate per answered call. So a scan that
runs at the quota when it is alone yields to the customer's tools as soon as they compete,
instead of throttling them at a fixed share it guessed.

Why not asyncio-throttle (which this replaces). Its waiters poll every 10 ms: 21 ms of CPU per
second per waiting task, measured, and a listing of 10,000 accounts has a task waiting for
Organizations' next slot for four minutes (~5 CPU-seconds). Here each request reserves its
departure when it asks, and sleeps once until then: the same windows, first come first
served, ~0.02 ms per request (bench/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque

SLOW_DOWN = 0.75  # the pace after a throttled answer, as a share of the pace before
LOWEST = 0.25  # the slowest pace, as a share of the configured rate
RECOVERY = 0.02  # the pace regained per answered call, as a share of the configured rate


class Pace:
    """The pacing of one ``(account, region, service)``: ``await pace.acquire()`` before each
    attempt, then :meth:`answered` or :meth:`throttled` with what AWS said."""

    __slots__ = ("_departures", "burst", "current", "rate")

    def __init__(self, rate: float) -> None:
        self.rate = rate  # the configured rate, requests per second
        self.current = rate  # the pace now, lowered by throttled answers
        self.burst = max(1, math.ceil(rate) - 1)  # requests per window
        # The departures reserved, in order, while they can still hold a request back (a
        # departure more than a window ago cannot): the ``burst`` last ones judge the window.
        self._departures: deque[float] = deque()

    @property
    def window(self) -> float:
        """Seconds in which at most :attr:`burst` requests leave, at the pace now."""
        return self.burst / self.current

    async def acquire(self) -> None:
        """Wait for this request's turn: never before one that asked earlier, and ``burst``
        requests after the one that left a window ago at most. A waiter cancelled before its
        turn gives the turn back (a scan stopped at its deadline leaves no queue behind)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        departures = self._departures
        window = self.window
        while departures and departures[0] + window <= now:
            departures.popleft()
        leaves = now
        if departures:
            leaves = max(now, departures[-1])
            if len(departures) >= self.burst:
                leaves = max(leaves, departures[-self.burst] + window)
        departures.append(leaves)
        if leaves <= now:
            return
        # Woken at that instant, not after a delay from a later "now": requests leave in the
        # order they asked.
        turn = loop.create_future()
        timer = loop.call_at(leaves, _release, turn)
        try:
            await turn
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):  # gone already (more than a window ago)
                departures.remove(leaves)
            raise
        finally:
            timer.cancel()

    def throttled(self) -> None:
        self.current = max(self.rate * LOWEST, self.current * SLOW_DOWN)

    def answered(self) -> None:
        if self.current < self.rate:
            self.current = min(self.rate, self.current + self.rate * RECOVERY)


def _release(turn: asyncio.Future[None]) -> None:
    if not turn.done():
        turn.set_result(None)
