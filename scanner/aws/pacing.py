"""How fast one ``(account, region, service)`` is called: its rate, in windows that leave half
of AWS's bucket in hand, and a step back when AWS answers that the quota is busy.

Why windows of half the rate. asyncio-throttle admits ``rate_limit`` requests in any ``period``;
AWS's quotas are token buckets holding about a second of refill (Organizations: 2 at 2/s). A
window of a whole second's requests sends them back to back just as the last window's tokens
come back, so any jitter on the way is a throttle. Windows of at most half the rate (one request
every 0.5 s at 2/s, two every 0.4 s at 5/s) never take more than half the bucket at once, and
the average rate is the same.

Why a step back. Our calls share each account's quotas with its own workload, and the
Organizations quota with every tool of the organization. A throttled answer says someone else
needs the quota now: the pace drops to three quarters (never under a quarter of the configured
rate) and comes back by a fiftieth of the configured rate per answered call. So a scan that
runs at the quota when it is alone yields to the customer's tools as soon as they compete,
instead of throttling them at a fixed share it guessed.
"""

from __future__ import annotations

import math

from asyncio_throttle.throttler import Throttler

SLOW_DOWN = 0.75  # the pace after a throttled answer, as a share of the pace before
LOWEST = 0.25  # the slowest pace, as a share of the configured rate
RECOVERY = 0.02  # the pace regained per answered call, as a share of the configured rate


class Pace:
    """The pacing of one ``(account, region, service)``: ``await pace.acquire()`` before each
    attempt, then :meth:`answered` or :meth:`throttled` with what AWS said."""

    __slots__ = ("_throttler", "current", "rate")

    def __init__(self, rate: float) -> None:
        self.rate = rate  # the configured rate, requests per second
        self.current = rate  # the pace now, lowered by throttled answers
        burst = max(1, math.floor(rate / 2))
        self._throttler = Throttler(rate_limit=burst, period=burst / rate)

    async def acquire(self) -> None:
        await self._throttler.acquire()  # type: ignore[no-untyped-call]  # untyped library

    def throttled(self) -> None:
        self._set(max(self.rate * LOWEST, self.current * SLOW_DOWN))

    def answered(self) -> None:
        if self.current < self.rate:
            self._set(min(self.rate, self.current + self.rate * RECOVERY))

    def _set(self, rate: float) -> None:
        self.current = rate
        self._throttler.period = self._throttler.rate_limit / rate
