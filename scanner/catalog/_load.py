"""Turn ``rules.toml`` into a validated :class:`Catalog`, deriving what the data leaves implicit.

The data file holds facts (texts, sections, names); this module holds the two rules that turn
facts into accepted references, so nobody copies a derived pattern by hand:

1. Intended readings. A published text gets an intended reading when the data file writes one
   (``kind = "intended"``, ``reading_of``). Otherwise, if the rule watches one service and the
   text does not look at ``$.eventSource`` already, the intended reading is computed here: the
   text pinned to that service's ``eventSource``.
2. Accepted references of a rule under a profile: for each published text applicable to the
   profile, in data-file order, its intended reading and then the text itself unless it is
   broken; a pattern already accepted is not repeated. The first is the preferred one.

Validation happens here, once, and fails with a :class:`CatalogError` that names the rule (or
profile) and the field: unknown or missing keys, wrong types, unparsable patterns, duplicate
names, unknown profiles, sections without references (and the reverse), profiles whose rules
have nothing acceptable. After that every invariant stated in ``_types.py`` holds.

The only I/O in the catalog is reading the data file shipped inside the package.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, cast

from scanner.catalog._types import (
    CIS_PREFIX,
    CLOUDGUARD,
    SECURITYHUB,
    SEVERITIES,
    Catalog,
    Profile,
    Reference,
    RemediationNames,
    RoutineEvent,
    Rule,
)
from scanner.catalog.changes import ChangeCatalog
from scanner.errors import CatalogError
from scanner.patterns import (
    JsonPattern,
    PatternSyntaxError,
    matches,
    parse,
    pin,
    render,
    selector_paths,
)

DATA_FILE = "rules.toml"
EVENT_SOURCE = "eventSource"
_SERVICE = re.compile(r"[a-z0-9-]+\Z")

PINNED_EXPLANATION = (
    "{name} names the events by eventName alone, and the same names can occur in other "
    "services' events; the control is about the API of {event_source}, so a filter that also "
    'requires $.eventSource = "{event_source}" watches exactly what the control means.'
)


class _Table:
    """A TOML table read field by field; every error names where it is (``where``)."""

    def __init__(self, data: object, where: str, file: str = DATA_FILE) -> None:
        if not isinstance(data, Mapping):
            raise CatalogError(f"{file}: {where}: expected a table, got {type(data).__name__}")
        self.data = cast(Mapping[str, Any], data)
        self.where = where
        self.file = file
        self.seen: set[str] = set()

    def fail(self, key: str, problem: str) -> CatalogError:
        return CatalogError(f"{self.file}: {self.where}, field {key!r}: {problem}")

    def _get(self, key: str, kind: type, kind_name: str, required: bool) -> Any:
        self.seen.add(key)
        if key not in self.data:
            if required:
                raise self.fail(key, "missing")
            return None
        value = self.data[key]
        if not isinstance(value, kind):
            raise self.fail(key, f"expected {kind_name}, got {type(value).__name__}")
        return value

    def text(self, key: str) -> str:
        value: str = self._get(key, str, "a string", required=True)
        if not value.strip():
            raise self.fail(key, "must not be empty")
        return value

    def optional_text(self, key: str) -> str | None:
        if key in self.data:
            return self.text(key)
        self.seen.add(key)
        return None

    def texts(self, key: str, *, required: bool = True) -> tuple[str, ...]:
        value = self._get(key, list, "a list of strings", required)
        if value is None:
            return ()
        if not all(isinstance(item, str) for item in value):
            raise self.fail(key, "expected a list of strings")
        if len(set(value)) != len(value):
            raise self.fail(key, "lists a name twice")
        return tuple(value)

    def flag(self, key: str) -> bool:
        value = self._get(key, bool, "true or false", required=False)
        return bool(value)

    def text_map(self, key: str) -> dict[str, str]:
        value = self._get(key, Mapping, "a table", required=False)
        if value is None:
            return {}
        if not all(isinstance(v, str) for v in value.values()):
            raise self.fail(key, "expected a table of strings")
        return dict(value)

    def table(self, key: str, where: str) -> _Table:
        return _Table(self._get(key, Mapping, "a table", required=True), where, self.file)

    def tables(self, key: str) -> list[Mapping[str, Any]]:
        value = self._get(key, list, "an array of tables", required=True)
        if not value:
            raise self.fail(key, "must not be empty")
        return list(value)

    def done(self) -> None:
        """Reject keys nobody read: a typo in the data file must not pass silently."""
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise self.fail(unknown[0], "unknown field")


# ------------------------------------------------------------------------------ profiles


def _identifier_key_ok(key: str) -> bool:
    return key in (SECURITYHUB, CLOUDGUARD) or (
        key.startswith(CIS_PREFIX) and len(key) > len(CIS_PREFIX)
    )


def _profile(raw: object, index: int) -> Profile:
    table = _Table(raw, f"profile #{index + 1}")
    name = table.text("name")
    table.where = f"profile {name!r}"
    identifiers = table.texts("identifiers")
    membership = table.optional_text("membership")
    for key in (*identifiers, *([membership] if membership else [])):
        if not _identifier_key_ok(key):
            field = "membership" if key == membership else "identifiers"
            raise table.fail(field, f"{key!r} is not securityhub, cloudguard or cis-<version>")
    profile = Profile(
        name=name,
        title=table.text("title"),
        description=table.text("description"),
        identifiers=identifiers,
        membership=membership,
    )
    table.done()
    return profile


# ------------------------------------------------------------------------------ references


def _pattern(table: _Table, text: str) -> JsonPattern:
    try:
        pattern = parse(text)
    except PatternSyntaxError as err:
        raise table.fail("text", f"{err} in {text!r}") from None
    if not isinstance(pattern, JsonPattern):
        raise table.fail("text", "expected a JSON pattern { ... }: CloudTrail events are JSON")
    return pattern


def _reference(raw: object, rule_where: str, profiles: list[str]) -> Reference:
    """One reference as written; ``profiles`` are all profile names, in catalog order."""
    table = _Table(raw, rule_where)
    name = table.text("name")
    table.where = f"{rule_where}, reference {name!r}"
    kind = table.optional_text("kind") or "published"
    text = table.text("text")
    pattern = _pattern(table, text)
    if kind == "published":
        listed = table.texts("profiles")
        for profile in listed:
            if profile not in profiles:
                raise table.fail("profiles", f"unknown profile {profile!r}")
        tagged = tuple(p for p in profiles if p in listed)
        ref = Reference(
            name=name,
            source=table.text("source"),
            text=text,
            pattern=pattern,
            kind="published",
            broken=table.optional_text("broken"),
            profiles=tagged,
        )
    elif kind == "intended":
        reading_of = table.texts("reading_of")
        if not reading_of:
            raise table.fail("reading_of", "must name at least one published reference")
        ref = Reference(
            name=name,
            source="intended reading of " + ", ".join(reading_of),
            text=text,
            pattern=pattern,
            kind="intended",
            explanation=table.text("explanation"),
            reading_of=reading_of,
        )
    else:
        raise table.fail("kind", f"expected 'published' or 'intended', got {kind!r}")
    table.done()
    return ref


def _pinned(published: Reference, event_source: str) -> Reference:
    pattern = pin(published.pattern, EVENT_SOURCE, event_source)
    return Reference(
        name=f"intended:{published.name}",
        source=f"intended reading of {published.name}",
        text=render(pattern),
        pattern=pattern,
        kind="intended",
        explanation=PINNED_EXPLANATION.format(name=published.name, event_source=event_source),
        reading_of=(published.name,),
        profiles=published.profiles,
    )


def _with_readings(
    rule_where: str, written: list[Reference], event_source: str | None, profile_order: list[str]
) -> tuple[Reference, ...]:
    """All references in display order: each published text followed by its intended readings.

    Written intended readings get the profiles of what they read; computed ones are added.
    """
    published = {ref.name: ref for ref in written if ref.kind == "published"}
    readings: dict[str, list[Reference]] = {name: [] for name in published}
    placed: list[Reference] = []
    for ref in written:
        if ref.kind == "published":
            continue
        for target in ref.reading_of:
            if target not in published:
                raise CatalogError(
                    f"{DATA_FILE}: {rule_where}, reference {ref.name!r}, field 'reading_of': "
                    f"{target!r} is not a published reference of this rule"
                )
        tagged = {p for target in ref.reading_of for p in published[target].profiles}
        full = replace(ref, profiles=tuple(p for p in profile_order if p in tagged))
        for target in ref.reading_of:
            readings[target].append(full)
    for name, ref in published.items():
        if not readings[name] and event_source and EVENT_SOURCE not in selector_paths(ref.pattern):
            readings[name].append(_pinned(ref, event_source))
    for ref in published.values():
        placed.append(ref)
        for reading in readings[ref.name]:
            if reading not in placed:
                placed.append(reading)
    return tuple(placed)


def _accepted(references: tuple[Reference, ...], profile: str) -> tuple[Reference, ...]:
    out: list[Reference] = []
    for ref in references:
        if ref.kind != "published" or profile not in ref.profiles:
            continue
        readings = [r for r in references if r.kind == "intended" and ref.name in r.reading_of]
        for candidate in (*readings, *(() if ref.broken else (ref,))):
            if all(candidate.pattern != other.pattern for other in out):
                out.append(candidate)
    return tuple(out)


# ------------------------------------------------------------------------------ rules


def _remediation(table: _Table, namespace: str) -> RemediationNames:
    names = table.table("remediation", f"{table.where}, remediation")
    result = RemediationNames(
        metric_name=names.text("metric_name"),
        metric_namespace=names.optional_text("metric_namespace") or namespace,
        filter_name=names.text("filter_name"),
        alarm_name=names.text("alarm_name"),
        alarm_description=names.text("alarm_description"),
    )
    names.done()
    return result


def _rule(raw: object, index: int, profiles: list[Profile], namespace: str) -> Rule:
    table = _Table(raw, f"rule #{index + 1}")
    rule_id = table.text("id")
    table.where = where = f"rule {rule_id!r}"
    severity = table.text("severity")
    if severity not in SEVERITIES:
        raise table.fail("severity", f"expected one of {', '.join(SEVERITIES)}, got {severity!r}")
    service = table.optional_text("service")
    if service is not None and not _SERVICE.match(service):
        raise table.fail("service", f"expected a service prefix such as 'iam', got {service!r}")
    sections = table.text_map("cis_sections")
    cis_keys = {p.membership for p in profiles if p.membership}
    for key in sections:
        if key not in cis_keys or not key.startswith(CIS_PREFIX):
            raise table.fail("cis_sections", f"{key!r} is not the membership of any cis profile")
    profile_names = [p.name for p in profiles]
    written = [_reference(r, where, profile_names) for r in table.tables("reference")]
    names = [ref.name for ref in written]
    for name in names:
        if names.count(name) > 1:
            raise table.fail("reference", f"two references are named {name!r}")
    event_source = f"{service}.amazonaws.com" if service else None
    references = _with_readings(where, written, event_source, profile_names)
    if len({ref.name for ref in references}) != len(references):
        raise table.fail("reference", "a reference name clashes with a computed intended reading")
    accepted = {p: a for p in profile_names if (a := _accepted(references, p))}
    rule = Rule(
        id=rule_id,
        title=table.text("title"),
        rationale=table.text("rationale"),
        severity=severity,
        cis_sections=MappingProxyType(sections),
        securityhub_control=table.optional_text("securityhub_control"),
        cloudguard_rule=table.optional_text("cloudguard_rule"),
        service=service,
        remediation=_remediation(table, namespace),
        references=references,
        accepted=MappingProxyType(accepted),
        notes=table.texts("notes", required=False),
        written_event_sources=table.texts("event_sources", required=False),
        write_events_only=table.flag("write_events_only"),
    )
    if rule.written_event_sources and service is not None:
        raise table.fail("event_sources", "a rule with a service has that service's source")
    table.done()
    for ref in written:
        if ref.kind == "published":
            for profile in ref.profiles:
                if profile not in accepted:
                    raise CatalogError(
                        f"{DATA_FILE}: {where}, profile {profile!r}: every applicable reference "
                        "is broken and has no intended reading; nothing would be accepted"
                    )
    return rule


def _check_membership(rule: Rule, profiles: list[Profile]) -> None:
    for profile in profiles:
        if profile.membership is None:
            continue
        carries = rule.identifier(profile.membership) is not None
        member = profile.name in rule.accepted
        if carries and not member:
            raise CatalogError(
                f"{DATA_FILE}: rule {rule.id!r}: it has a {profile.membership} identifier but no "
                f"reference for profile {profile.name!r}"
            )
        if member and not carries:
            raise CatalogError(
                f"{DATA_FILE}: rule {rule.id!r}: it has references for profile {profile.name!r} "
                f"but no {profile.membership} identifier"
            )


def build_catalog(data: Mapping[str, Any], changes: ChangeCatalog | None = None) -> Catalog:
    """Validate parsed TOML data and build the catalog; raise :class:`CatalogError` if wrong.

    ``changes``: the change events (``changes.toml``); ``None``: the ones shipped.
    """
    top = _Table(data, "top level")
    profiles = [_profile(raw, i) for i, raw in enumerate(top.tables("profile"))]
    names = [p.name for p in profiles]
    for name in names:
        if names.count(name) > 1:
            raise top.fail("profile", f"two profiles are named {name!r}")
    default = top.text("default_profile")
    if default not in names:
        raise top.fail("default_profile", f"unknown profile {default!r}")
    namespace = top.text("metric_namespace")
    rules = [_rule(raw, i, profiles, namespace) for i, raw in enumerate(top.tables("rule"))]
    routine = _routine_events(top.table("routine", "routine"))
    top.done()
    ids = [rule.id for rule in rules]
    for rule in rules:
        if ids.count(rule.id) > 1:
            raise CatalogError(f"{DATA_FILE}: rule {rule.id!r}, field 'id': used twice")
        _check_membership(rule, profiles)
        _check_not_routine(rule, routine)
    catalog = Catalog(
        rules=tuple(rules),
        profiles=tuple(profiles),
        default_profile=default,
        routine_events=routine,
    )
    return catalog if changes is None else replace(catalog, changes=changes)


def _routine_events(table: _Table) -> tuple[RoutineEvent, ...]:
    """The template with each event's own fields on top."""
    template = table.table("template", "routine, template").data
    events: list[RoutineEvent] = []
    for i, raw in enumerate(table.tables("events")):
        own = _Table(raw, f"routine, event #{i + 1}")
        name = own.text("eventName")
        own.text("eventSource")
        own.done()
        event = {**template, **own.data}
        events.append(RoutineEvent(name=name, event=MappingProxyType(event)))
    table.done()
    return tuple(events)


def _check_not_routine(rule: Rule, routine: tuple[RoutineEvent, ...]) -> None:
    """No reference may match a routine event, or every filter written from it would be
    over-broad. Broken texts are exempt: matching nearly everything is why they are broken."""
    for ref in rule.references:
        if ref.broken:
            continue
        for event in routine:
            if matches(ref.pattern, dict(event.event)):
                raise CatalogError(
                    f"{DATA_FILE}: rule {rule.id!r}, reference {ref.name!r} matches the routine "
                    f"event {event.name}: a routine event must be one no reference watches"
                )


@cache
def load_catalog() -> Catalog:
    """The catalog shipped with the package (read and validated once per process)."""
    raw = resources.files("scanner.catalog").joinpath(DATA_FILE).read_bytes()
    return build_catalog(tomllib.loads(raw.decode("utf-8")))
