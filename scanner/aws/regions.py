"""The regions to scan in one account: the enabled ones, narrowed by the user's options.

A region is enabled when EC2 DescribeRegions (``AllRegions``) says its opt-in status is
``opt-in-not-required`` or ``opted-in``; calling a disabled opt-in region would only fail. The
list is per account (opt-in is an account setting) and costs one call.

When DescribeRegions fails, the failure is recorded and the scan falls back to the regions the
user named, or else to every region botocore knows for CloudTrail in the identity's partition:
a region that turns out disabled then fails its calls visibly instead of being silently skipped.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from scanner.aws.clients import Client, ClientPool
from scanner.aws.gateway import Caller, CallFailed
from scanner.model import CollectionError

ENABLED = frozenset({"opt-in-not-required", "opted-in"})


@dataclass(frozen=True, slots=True)
class RegionChoice:
    regions: tuple[str, ...]
    error: CollectionError | None = None


def narrow(
    enabled: Collection[str], only: Collection[str] = (), exclude: Collection[str] = ()
) -> tuple[str, ...]:
    """The enabled regions the options keep, sorted."""
    keep = set(enabled)
    if only:
        keep &= set(only)
    return tuple(sorted(keep - set(exclude)))


async def enabled_regions(
    caller: Caller,
    pool: ClientPool,
    client: Client,
    only: Collection[str] = (),
    exclude: Collection[str] = (),
) -> RegionChoice:
    """The regions to scan in the client's account."""
    try:
        response = await caller.call(client, "DescribeRegions", AllRegions=True)
    except CallFailed as failed:
        known = only or await pool.base_session.get_available_regions(
            "cloudtrail", client.identity.partition
        )
        return RegionChoice(narrow(known, (), exclude), failed.error)
    enabled = [
        str(r["RegionName"])
        for r in response.get("Regions") or ()
        if r.get("OptInStatus", "opt-in-not-required") in ENABLED
    ]
    return RegionChoice(narrow(enabled, only, exclude))
