"""When the daemon renews its kept keys (:mod:`scanner.daemon.renewal`), replayed over hours.

The timeline is the daemon's: a first scan assumes every role, one a second (the sts pace);
each key lasts an hour; scans follow every interval; a background round runs every minute and
renews, at once, the keys its horizon names. A scan renews a key itself when it would use it
with fewer than ADVISORY_REFRESH_SECONDS left: the cost the background renewal exists to take
off the scans.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from scanner.aws.credentials import ADVISORY_REFRESH_SECONDS, ROLE_SESSION_SECONDS
from scanner.daemon.renewal import (
    RENEWAL_LEAD_SECONDS,
    RENEWAL_TICK_SECONDS,
    renewal_horizon,
)

KEYS = 250  # assumed by the first scan, one a second


@dataclass
class Replay:
    renewed_in_scans: list[int]  # keys each warm scan had to renew itself
    renewed_between: list[int]  # background renewals, per key
    warm_scans: int


def replay(interval: float, scan_seconds: float, hours: float, *, background: bool) -> Replay:
    expires = [i + float(ROLE_SESSION_SECONDS) for i in range(KEYS)]
    cold_end = float(KEYS)
    end = hours * 3600
    starts = [cold_end + interval]  # the warm scans, and the first one after the replay's end
    while starts[-1] < end:
        starts.append(starts[-1] + scan_seconds + interval)
    ticks = [k * RENEWAL_TICK_SECONDS for k in range(int(end / RENEWAL_TICK_SECONDS))]
    events = sorted([(t, 1) for t in ticks] + [(s, 0) for s in starts[:-1]])  # scans first on ties
    in_scans: list[int] = []
    between = [0] * KEYS
    for when, kind in events:
        if kind == 0:  # a warm scan: each key used by its end
            old = [
                i
                for i in range(KEYS)
                if expires[i] - (when + scan_seconds) < ADVISORY_REFRESH_SECONDS
            ]
            for i in old:
                expires[i] = when + ROLE_SESSION_SECONDS
            in_scans.append(len(old))
            continue
        if not background:
            continue
        running = when < cold_end or any(s <= when < s + scan_seconds for s in starts)
        until = 0.0 if running else min(s for s in starts if s > when) - when
        if when < cold_end:  # the daemon's first scan: no scan has ended yet
            last = 0.0
        elif when < starts[0] + scan_seconds:
            last = cold_end
        else:
            last = scan_seconds
        horizon = renewal_horizon(until_next_scan=until, scan_seconds=last)
        if horizon is None:
            continue
        for i in range(KEYS):
            if expires[i] - when < horizon:
                expires[i] = when + ROLE_SESSION_SECONDS
                between[i] += 1
    return Replay(in_scans, between, len(starts) - 1)


def test_without_background_renewal_one_scan_renews_every_key_itself() -> None:
    """The defect, for the record: left to the scans, keys come due all in the same scan."""
    seen = replay(interval=300, scan_seconds=50, hours=3, background=False)
    assert max(seen.renewed_in_scans) == KEYS


@pytest.mark.parametrize(
    ("interval", "scan_seconds"),
    [(300, 50), (1800, 50), (1800, 600), (2700, 50), (2 * 3600, 50), (6 * 3600, 300)],
)
def test_no_warm_scan_renews_a_key_and_no_renewal_is_wasted(
    interval: float, scan_seconds: float
) -> None:
    hours = max(8.0, 3 * (interval + scan_seconds) / 3600)
    seen = replay(interval, scan_seconds, hours, background=True)
    assert seen.warm_scans >= 2
    assert seen.renewed_in_scans == [0] * seen.warm_scans
    # A key is renewed no oftener than its life allows, and with intervals longer than keys
    # live, once per scan at most (renewed for the scan, not all the hours between).
    horizon = ADVISORY_REFRESH_SECONDS + scan_seconds + RENEWAL_TICK_SECONDS + RENEWAL_LEAD_SECONDS
    most = math.ceil(hours * 3600 / (ROLE_SESSION_SECONDS - horizon)) + 1
    assert max(seen.renewed_between) <= min(most, seen.warm_scans + 1)


def test_the_horizon_is_the_scan_and_a_round_ahead_of_the_advisory_threshold() -> None:
    assert renewal_horizon(until_next_scan=0.0, scan_seconds=50.0) == (
        ADVISORY_REFRESH_SECONDS + 50.0 + RENEWAL_TICK_SECONDS + RENEWAL_LEAD_SECONDS
    )
    # A scan running (the next one overdue) renews too.
    assert renewal_horizon(until_next_scan=-30.0, scan_seconds=50.0) is not None


def test_nothing_is_renewed_while_the_next_scan_is_too_far_for_the_keys_to_last() -> None:
    assert renewal_horizon(until_next_scan=2 * 3600, scan_seconds=50.0) is None
    assert renewal_horizon(until_next_scan=20 * 60, scan_seconds=50.0) is not None


def test_a_scan_longer_than_keys_live_does_not_make_every_round_renew_every_key() -> None:
    horizon = renewal_horizon(until_next_scan=0.0, scan_seconds=0.0, tick=3 * 3600)
    assert horizon is not None and horizon < ROLE_SESSION_SECONDS
    assert renewal_horizon(until_next_scan=0.0, scan_seconds=2 * 3600) is None
