"""Which trails record an account's events, and whether a trail records every management event.

Pure; the first links of the chain (trail, logging, selectors).

DescribeTrails shows a multi-region trail, and an organization trail, in every region of every
account it covers, each time as a copy that may hold more or less of what the other calls
(GetTrailStatus, GetEventSelectors) returned. A trail is therefore one ARN: its copies are merged,
the owner's copy in the trail's home region first, the first known value of each field winning.
A member sees the organization trails of the management account even where its own listing
failed, since they live in the management account's inventory.

A trail records every management event when the union of its selectors records both read and
write management events with nothing left out: a basic selector with
``ExcludeManagementEventSources``, or an advanced selector narrowed by any field other than
``eventCategory`` and ``readOnly``, does not count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

from scanner.model import Account, FieldSelector, Inventory, Trail

# Values of the advanced selector field ``readOnly`` and the kind of event each one records.
_READ_ONLY_KINDS = {"true": "read", "false": "write"}
_BASIC_KINDS = {"All": {"read", "write"}, "ReadOnly": {"read"}, "WriteOnly": {"write"}}


def _merge(copies: Sequence[Trail]) -> Trail:
    """One trail from its copies seen in several regions and accounts: first known value wins."""
    merged = copies[0]
    for copy in copies[1:]:
        updates = {
            f.name: getattr(copy, f.name)
            for f in dataclasses.fields(Trail)
            if getattr(merged, f.name) is None and getattr(copy, f.name) is not None
        }
        if updates:
            merged = dataclasses.replace(merged, **updates)
    return merged


def _trails_of(account: Account) -> Iterator[tuple[str, Trail]]:
    for region_name, region in account.regions.items():
        for trail in region.trails or ():
            yield region_name, trail


def covering_trails(inventory: Inventory, account: Account) -> tuple[list[Trail], bool]:
    """The trails that can record the account's events, and whether any listing succeeded.

    Copies of one ARN are merged, the owner's copy in the trail's home region first.
    """
    copies: dict[str, list[tuple[int, Trail]]] = {}

    def add(owner: Account, region: str, trail: Trail) -> None:
        from_owner = trail.account_id in ("", owner.id)
        order = (0 if from_owner else 2) + (0 if region == trail.home_region else 1)
        copies.setdefault(trail.arn, []).append((order, trail))

    for region, trail in _trails_of(account):
        add(account, region, trail)
    listed = any(region.trails is not None for region in account.regions.values())
    management = inventory.management_account_id
    owner = inventory.account(management) if management and management != account.id else None
    if owner is not None:
        for region, trail in _trails_of(owner):
            organization_trail = trail.is_organization_trail and trail.account_id == owner.id
            if organization_trail or trail.arn in copies:
                add(owner, region, trail)
    trails = [
        _merge([t for _, t in sorted(found, key=lambda x: x[0])]) for found in copies.values()
    ]
    trails = [t for t in trails if t.account_id in ("", account.id) or t.is_organization_trail]
    return sorted(trails, key=lambda t: t.arn), listed


_FIELD_OPERATORS = (
    "equals",
    "starts_with",
    "ends_with",
    "not_equals",
    "not_starts_with",
    "not_ends_with",
)


def _describe_field_selector(field: FieldSelector) -> str:
    """``eventSource not equals kms.amazonaws.com``: a field selector in words."""
    parts = [
        f"{field.field} {op.replace('_', ' ')} {', '.join(getattr(field, op))}"
        for op in _FIELD_OPERATORS
        if getattr(field, op)
    ]
    return " and ".join(parts) or field.field


def selectors_problem(trail: Trail) -> str | None:
    """``None`` when the trail records every management event, read and write; else why not.

    A selector that excludes event sources (basic) or narrows by another field (advanced) does
    not count towards recording all management events. The selectors must be known.
    """
    kinds: set[str] = set()
    narrowed: list[str] = []
    excluded: set[str] = set()
    for basic in trail.event_selectors or ():
        if not basic.include_management_events:
            continue
        if basic.exclude_management_event_sources:
            excluded.update(basic.exclude_management_event_sources)
        else:
            kinds |= _BASIC_KINDS.get(basic.read_write_type, set())
    for advanced in trail.advanced_event_selectors or ():
        fields = advanced.field_selectors
        category = [f for f in fields if f.field == "eventCategory"]
        if not any("Management" in f.equals for f in category):
            continue
        allowed = set(_READ_ONLY_KINDS)
        narrowing = [f for f in fields if f.field not in ("eventCategory", "readOnly")]
        for f in fields:
            if f.field == "readOnly":
                if f.equals:
                    allowed &= set(f.equals)
                allowed -= set(f.not_equals)
                if f.starts_with or f.ends_with or f.not_starts_with or f.not_ends_with:
                    narrowing.append(f)
        if narrowing:
            narrowed.append(" and ".join(_describe_field_selector(f) for f in narrowing))
            continue
        kinds |= {_READ_ONLY_KINDS[v] for v in allowed if v in _READ_ONLY_KINDS}
    name = f'trail "{trail.name}"'
    if kinds >= {"read", "write"}:
        return None
    if excluded:
        return f"{name} excludes management events from {', '.join(sorted(excluded))}"
    if narrowed:
        return f"{name} records management events only where {'; '.join(narrowed)}"
    if kinds:
        only = "read-only" if kinds == {"read"} else "write"
        return f"{name} records only {only} management events"
    return f"{name} records no management events"
