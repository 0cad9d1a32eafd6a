"""Which trails record an account's events, and whether a trail records every management event.

Pure; the first links of the chain (trail, logging, selectors).

DescribeTrails shows a multi-region trail, and an organization trail, in every region of every
account it covers, each time as a copy that may hold more or less of what the other calls
(GetTrailStatus, GetEventSelectors) returned. A trail is therefore one ARN: its copies are merged,
the owner's copy in the trail's home region first, the first known value of each field winning.
A member sees the organization trails of the management account even where its own listing
failed, since they live in the management account's inventory.

Selectors are judged per rule: a trail breaks a rule only when some management event the rule
can watch is not recorded. What a rule watches (:class:`Watched`) comes from the catalog: the
event sources of its events (``None`` for rules such as root usage or unauthorized calls, whose
events can come from any service) and whether all of them are write events. The union of the
selectors is checked source by source and kind by kind: a basic selector records its
``ReadWriteType`` from every source but its ``ExcludeManagementEventSources``; an advanced one
(``eventCategory = Management``) the kinds its ``readOnly`` field allows from the sources its
``eventSource`` field accepts. An advanced selector narrowed by any other field records nothing
we can vouch for. For a rule of any source, every source the selectors name is checked, and one
they do not name stands for all the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

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


def _listed(account: Account) -> bool:
    """Whether some trail listing of the account succeeded."""
    return any(region.trails is not None for region in account.regions.values())


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
    listed = _listed(account)
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


def organization_trails_unknown(inventory: Inventory, account: Account) -> bool:
    """Whether the organization trails that may cover a member are unknown: the management
    account was not read, could not be entered, or none of its trail listings succeeded.

    Then the member's findings must carry an unknown chain for those trails: judged on its own
    trails alone, a rule the organization trail passes would FAIL (issue: faults only ever turn
    a verdict into ERROR). This holds even when the member's own listing shows the organization
    trail: the collector read nothing the management account's trails lead to (its log groups
    were never looked at), so the copy's chain breaks at a filter that was never listed.
    """
    management = inventory.management_account_id
    if not management or management == account.id:
        return False
    owner = inventory.account(management)
    return owner is None or owner.error is not None or not _listed(owner)


_FIELD_OPERATORS = (
    "equals",
    "starts_with",
    "ends_with",
    "not_equals",
    "not_starts_with",
    "not_ends_with",
)

# A source no selector names: stands for "any other service" when a rule's events can come from
# any source.
OTHER_SOURCE = "any-other-service.amazonaws.com"
KINDS = frozenset({"read", "write"})


@dataclass(frozen=True, slots=True)
class Watched:
    """Which management events a rule needs recorded: their sources (``None``: any) and kinds."""

    sources: frozenset[str] | None = None
    kinds: frozenset[str] = KINDS


@dataclass(frozen=True, slots=True)
class _Recorder:
    """What one selector records: kinds of management event, from the sources it accepts."""

    kinds: frozenset[str]
    accepts: Callable[[str], bool]
    why: str = ""  # how it narrows the sources, in words; "" when it does not


def _describe_field_selector(field: FieldSelector) -> str:
    """``eventSource not equals kms.amazonaws.com``: a field selector in words."""
    parts = [
        f"{field.field} {op.replace('_', ' ')} {', '.join(getattr(field, op))}"
        for op in _FIELD_OPERATORS
        if getattr(field, op)
    ]
    return " and ".join(parts) or field.field


def _source_test(field: FieldSelector) -> Callable[[str], bool]:
    """AWS's semantics: a value must match one of the positive conditions (if any) and none of
    the negative ones."""

    def accepts(source: str) -> bool:
        positive = (
            source in field.equals
            or any(source.startswith(p) for p in field.starts_with)
            or any(source.endswith(p) for p in field.ends_with)
        )
        if (field.equals or field.starts_with or field.ends_with) and not positive:
            return False
        return not (
            source in field.not_equals
            or any(source.startswith(p) for p in field.not_starts_with)
            or any(source.endswith(p) for p in field.not_ends_with)
        )

    return accepts


def _outside(excluded: frozenset[str]) -> Callable[[str], bool]:
    return lambda source: source not in excluded


def _all_of(tests: list[Callable[[str], bool]]) -> Callable[[str], bool]:
    return lambda source: all(test(source) for test in tests)


def _recorders(trail: Trail) -> tuple[list[_Recorder], list[str], set[str]]:
    """The trail's selectors as recorders; the advanced selectors narrowed by fields we cannot
    judge (they count for nothing); and every source the selectors name."""
    recorders: list[_Recorder] = []
    narrowed: list[str] = []
    named: set[str] = set()
    for basic in trail.event_selectors or ():
        if not basic.include_management_events:
            continue
        excluded = frozenset(basic.exclude_management_event_sources)
        named |= excluded
        why = f"excludes management events from {', '.join(sorted(excluded))}" if excluded else ""
        recorders.append(
            _Recorder(
                frozenset(_BASIC_KINDS.get(basic.read_write_type, set())),
                _outside(excluded),
                why,
            )
        )
    for advanced in trail.advanced_event_selectors or ():
        fields = advanced.field_selectors
        category = [f for f in fields if f.field == "eventCategory"]
        if not any("Management" in f.equals for f in category):
            continue
        allowed = set(_READ_ONLY_KINDS)
        narrowing = [
            f for f in fields if f.field not in ("eventCategory", "readOnly", "eventSource")
        ]
        sources = [f for f in fields if f.field == "eventSource"]
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
        for f in sources:
            named.update((*f.equals, *f.not_equals, *f.starts_with, *f.ends_with))
        tests = [_source_test(f) for f in sources]
        why = " and ".join(_describe_field_selector(f) for f in sources)
        recorders.append(
            _Recorder(
                frozenset(_READ_ONLY_KINDS[v] for v in allowed if v in _READ_ONLY_KINDS),
                _all_of(tests),
                f"records management events only where {why}" if why else "",
            )
        )
    return recorders, narrowed, named


def selectors_problem(trail: Trail, watched: Watched | None = None) -> str | None:
    """``None`` when the trail records every management event the rule can watch; else why not.

    ``watched`` says which events the rule needs (default: every management event, read and
    write, of any source). A selector narrowed by a field other than ``eventCategory``,
    ``readOnly`` and ``eventSource`` does not count. The selectors must be known.
    """
    watched = watched or Watched()
    recorders, narrowed, named = _recorders(trail)
    witnesses = (
        sorted(watched.sources) if watched.sources is not None else [*sorted(named), OTHER_SOURCE]
    )
    missing: dict[str, set[str]] = {}
    for source in witnesses:
        for kind in watched.kinds:
            if not any(kind in r.kinds and r.accepts(source) for r in recorders):
                missing.setdefault(source, set()).add(kind)
    if not missing:
        return None
    name = f'trail "{trail.name}"'
    recorded_kinds = frozenset().union(*(r.kinds for r in recorders))
    if not recorded_kinds:
        if narrowed:
            return f"{name} records management events only where {'; '.join(narrowed)}"
        return f"{name} records no management events"
    unrecorded = watched.kinds - recorded_kinds
    if unrecorded:
        only = "read-only" if recorded_kinds == {"read"} else "write"
        return f"{name} records only {only} management events"
    whys = "; ".join(dict.fromkeys(r.why for r in recorders if r.why))
    sources = [s for s in missing if s != OTHER_SOURCE]
    if not sources:
        return f"{name} {whys}, and events of this rule can come from any service"
    verb = "can come" if watched.sources is None else "come"
    return f"{name} {whys}, and events of this rule {verb} from {', '.join(sources)}"
