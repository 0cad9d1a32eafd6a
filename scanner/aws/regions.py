"""Which regions of an account are read: one to list the trails, then only where references lead.

Nothing sweeps regions any more. DescribeTrails with ``includeShadowTrails`` lists, in any one
region, every multi-region trail of the account and every organization trail that covers it
(the shadow copies of those homed elsewhere), and a single-region trail can never satisfy a rule.
So trails are listed once per account, in :func:`listing_region` (the scan's home region), and
every other region is read only because a trail's home, a log group, an alarm or a topic is
there. No per-account DescribeRegions is needed: a region a resource lives in is in use, and a
disabled one shows up as a failed call (an ERROR), never as a silent skip.

A single-region trail homed in another region is not seen; it could not count anyway. One homed
in the listing region is seen, and the finding says it records only that region.

``--regions`` / ``--exclude-regions`` (:class:`RegionScope`) bound where the scan may read: a
reference into a region outside them is not followed, and the evaluator says that region was not
collected (ERROR, never FAIL).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from scanner.aws.clients import ClientPool


def narrow(
    enabled: Collection[str], only: Collection[str] = (), exclude: Collection[str] = ()
) -> tuple[str, ...]:
    """The regions the options keep, sorted."""
    keep = set(enabled)
    if only:
        keep &= set(only)
    return tuple(sorted(keep - set(exclude)))


@dataclass(frozen=True, slots=True)
class RegionScope:
    """The regions the user lets the scan read (empty ``only``: every region)."""

    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def allows(self, region: str) -> bool:
        return (not self.only or region in self.only) and region not in self.exclude


async def listing_region(scope: RegionScope, home: str, pool: ClientPool, partition: str) -> str:
    """Where an account's trails are listed: the scan's home region unless the options exclude
    it, else the first region they allow (of those named, or else of the partition's)."""
    if scope.allows(home):
        return home
    named = narrow(scope.only, (), scope.exclude)
    if named:
        return named[0]
    known = await pool.base_session.get_available_regions("cloudtrail", partition)
    allowed = narrow(known, (), scope.exclude)
    return allowed[0] if allowed else home
