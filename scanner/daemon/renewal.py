"""When the daemon renews the member keys it keeps: ahead of its scans, between them.

The daemon's first scan assumes every member's role within minutes (10,000 members at 40
AssumeRole/s: ~250 s) and every key lives an hour, so the keys come due together. Left to the
scans, one scan in every ~45 minutes would find them all old and assume every role again itself
(~250 s of AssumeRole in a scan that takes ~50 s warm). Instead a background task
(:meth:`~scanner.daemon.scheduler.Service.renew_keys`) wakes every :data:`RENEWAL_TICK_SECONDS`
and renews the keys that would otherwise come due in a scan before its next round: keys are
renewed one round ahead of need, as they come due, so the renewals keep the spread of the
first scan's AssumeRole calls instead of landing in one scan.

The rule (:func:`renewal_horizon`), for a key with ``left`` seconds to live:

* renew it now when ``left < horizon = ADVISORY + scan + tick + lead``: a scan may start at any
  moment and uses the key up to ``scan`` seconds later (the last scan's duration); the next
  round comes ``tick`` later; ``lead`` (:data:`RENEWAL_LEAD_SECONDS`) covers rounds that run
  long (one minute of keys at 40/s takes a minute to renew). Never earlier than half-way
  through a key's useful life, though: a horizon past it would renew every key at every round
  (scans that long renew keys themselves anyway);
* but renew none while the next scan is so far off that keys renewed now would come under the
  horizon again before it ends (an interval longer than keys live): that would cost AssumeRole
  for nothing. The rounds start again once the next scan is near enough, and the keys they
  renew then last through it. So each key is renewed at most once per ``ROLE_SESSION -
  horizon`` seconds, and at most once per scan interval when intervals are longer.

A scan that comes early (an event asked for one) may still find a key old: it renews it as it
always did (:class:`~scanner.aws.credentials.RoleCredentials`), which is never wrong, only
slower. The event path between scans does the same.
"""

from __future__ import annotations

from scanner.aws.credentials import ADVISORY_REFRESH_SECONDS, ROLE_SESSION_SECONDS

RENEWAL_TICK_SECONDS = 60.0  # between rounds of background renewal
RENEWAL_LEAD_SECONDS = 5 * 60.0  # renew this much earlier than strictly needed


def renewal_horizon(
    *, until_next_scan: float, scan_seconds: float, tick: float = RENEWAL_TICK_SECONDS
) -> float | None:
    """Renew now the kept keys with fewer seconds left than this; ``None``: renew none now.

    ``until_next_scan``: seconds until the next scheduled scan starts (0 or less: one runs or
    is due); ``scan_seconds``: how long a scan lasts (the last one's duration).
    """
    useful = ROLE_SESSION_SECONDS - ADVISORY_REFRESH_SECONDS  # a fresh key's life before due
    horizon = ADVISORY_REFRESH_SECONDS + min(scan_seconds + tick + RENEWAL_LEAD_SECONDS, useful / 2)
    if max(0.0, until_next_scan) + scan_seconds > ROLE_SESSION_SECONDS - horizon:
        return None
    return horizon


__all__ = ["RENEWAL_LEAD_SECONDS", "RENEWAL_TICK_SECONDS", "renewal_horizon"]
