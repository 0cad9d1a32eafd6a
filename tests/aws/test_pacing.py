"""The pace of one (account, region, service): windows that keep a token of AWS's bucket in hand,
a step back at each throttled answer, and the way back with each answered call."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.aws.pacing import LOWEST, RECOVERY, SLOW_DOWN, Pace


def sent_at(pace: Pace, count: int) -> list[float]:
    """When each of ``count`` requests would leave, in seconds from the first."""

    async def run() -> list[float]:
        times = []
        for _ in range(count):
            await pace.acquire()
            times.append(time.monotonic())
        return [t - times[0] for t in times]

    return asyncio.run(run())


def test_requests_leave_at_the_rate_in_windows_one_short_of_a_seconds_requests() -> None:
    # 20/s: windows of 19 requests per 0.95 s, so five leave at once.
    assert sent_at(Pace(20.0), 5)[-1] < 0.2
    # 4/s: three per 0.75 s; the fourth and fifth wait for the second window.
    times = sent_at(Pace(4.0), 5)
    assert times[2] < 0.1
    assert times[3] >= 0.7


def test_organizations_pace_never_sends_two_requests_within_half_a_second() -> None:
    # AWS's Organizations bucket holds two requests at 2/s: one every 0.5 s keeps one in hand.
    times = sent_at(Pace(2.0), 4)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.49 for gap in gaps), gaps


@given(st.lists(st.booleans(), max_size=200), st.sampled_from([2.0, 5.0, 40.0]))
def test_the_pace_stays_between_a_quarter_of_the_rate_and_the_rate(
    answers: list[bool], rate: float
) -> None:
    pace = Pace(rate)
    for throttled in answers:
        before = pace.current
        if throttled:
            pace.throttled()
            assert pace.current == pytest.approx(max(rate * LOWEST, before * SLOW_DOWN))
        else:
            pace.answered()
            assert pace.current == pytest.approx(min(rate, before + rate * RECOVERY))
        assert rate * LOWEST - 1e-9 <= pace.current <= rate


def test_a_throttled_answer_spaces_the_next_requests_further_until_answers_bring_it_back() -> None:
    pace = Pace(2.0)
    pace.throttled()
    pace.throttled()  # 2/s -> 1.5/s -> 1.125/s: one request every 0.89 s
    times = sent_at(pace, 3)
    assert times[1] >= 0.85 and times[2] >= 1.7
    for _ in range(round((1 - SLOW_DOWN**2) / RECOVERY) + 1):
        pace.answered()
    assert pace.current == 2.0
    assert sent_at(pace, 3)[-1] < 1.1


def test_requests_leave_in_the_order_they_asked() -> None:
    async def run() -> list[int]:
        pace = Pace(4.0)
        order: list[int] = []

        async def one(i: int) -> None:
            await pace.acquire()
            order.append(i)

        await asyncio.gather(*(one(i) for i in range(6)))
        return order

    assert asyncio.run(run()) == list(range(6))


def test_a_cancelled_waiter_gives_its_turn_back_without_crowding_the_last_request() -> None:
    async def run() -> list[float]:
        pace = Pace(2.0)
        await pace.acquire()
        started = time.monotonic()
        waiting = [asyncio.create_task(pace.acquire()) for _ in range(5)]  # turns up to 2.5 s
        await asyncio.sleep(0.05)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        times = []
        for _ in range(2):
            await pace.acquire()
            times.append(time.monotonic() - started)
        return times

    times = asyncio.run(run())
    # Not queued behind the five abandoned turns, and still 0.5 s after the request that left.
    assert 0.45 <= times[0] < 0.6, times
    assert 0.95 <= times[1] < 1.1, times
