"""The catalog's values: rules, their references, profiles, and lookups by name.

Invariants, established once by the loader (``_load.py``) and relied upon everywhere else:

* Rule ids and profile names are unique; catalog order is the order of the data file.
* ``Rule.accepted`` maps every profile the rule belongs to onto a non-empty tuple of references,
  the preferred one first, no two with the same pattern tree. A rule belongs to a profile exactly
  when it has accepted references there: membership is not stored anywhere else.
* Every reference's pattern is a parsed JSON pattern; ``text`` is what was published (or, for an
  intended reading, what we wrote), ``pattern`` its meaning.
* Everything is immutable. Rules and catalogs compare by identity: there is one catalog per
  process (``load_catalog`` is cached), and their mappings are read-only views.

An unknown name is an error of the caller, not of the data: it raises :class:`UnknownNameError`
(a ``KeyError``) whose message lists the names that would have worked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from scanner.catalog import _controls
from scanner.catalog.changes import ChangeCatalog, ChangeEvent
from scanner.errors import UnknownNameError
from scanner.patterns import JsonPattern

Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")

ReferenceKind = Literal["published", "intended"]

SECURITYHUB = "securityhub"
CLOUDGUARD = "cloudguard"
CIS_PREFIX = "cis-"


def identifier_label(key: str) -> str:
    """How people name an identifier family: ``cis-1.2`` -> ``CIS 1.2``."""
    if key.startswith(CIS_PREFIX):
        return "CIS " + key.removeprefix(CIS_PREFIX)
    return {SECURITYHUB: "Security Hub", CLOUDGUARD: "CloudGuard"}.get(key, key)


def _version(key: str) -> tuple[int, ...]:
    """``cis-1.10`` -> (1, 10): versions compare as numbers, not text."""
    return tuple(int(part) for part in key.removeprefix(CIS_PREFIX).split(".") if part.isdigit())


@dataclass(frozen=True)
class Reference:
    """A pattern a rule accepts (or, if ``broken``, only shows).

    ``kind == "published"``: a text as a source publishes it; ``profiles`` are those it applies to.
    ``kind == "intended"``: what one or more published texts (``reading_of``) evidently mean,
    written with explicit parentheses; ``explanation`` says why it differs from their letter.
    ``broken`` (published only) says why the literal text is wrong; a broken text is never
    accepted itself, only through its intended reading.
    """

    name: str
    source: str
    text: str
    pattern: JsonPattern
    kind: ReferenceKind
    explanation: str | None = None
    broken: str | None = None
    reading_of: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()


@dataclass(frozen=True)
class RemediationNames:
    """What remediation calls the metric filter, metric and alarm it creates for a rule."""

    metric_name: str
    metric_namespace: str
    filter_name: str
    alarm_name: str
    alarm_description: str


@dataclass(frozen=True, eq=False)
class Rule:
    id: str
    title: str
    rationale: str
    severity: Severity
    cis_sections: Mapping[str, str]
    securityhub_control: str | None
    cloudguard_rule: str | None
    service: str | None
    remediation: RemediationNames
    references: tuple[Reference, ...]
    accepted: Mapping[str, tuple[Reference, ...]]
    notes: tuple[str, ...] = ()
    # Where the rule's events come from when it watches no single service's API (sign-ins).
    written_event_sources: tuple[str, ...] = ()
    # The catalog states (from AWS's definition of write events) that every event is a write.
    write_events_only: bool = False

    @property
    def event_source(self) -> str | None:
        """The CloudTrail ``eventSource`` of the service the rule watches, if it watches one."""
        return f"{self.service}.amazonaws.com" if self.service else None

    @property
    def event_sources(self) -> tuple[str, ...] | None:
        """The ``eventSource`` values the rule's events can have; ``None``: any service."""
        if self.written_event_sources:
            return self.written_event_sources
        return (self.event_source,) if self.event_source else None

    @property
    def profiles(self) -> tuple[str, ...]:
        """The profiles this rule belongs to, in catalog order."""
        return tuple(self.accepted)

    @property
    def controls(self) -> dict[str, str]:
        """Every number the standards give this rule: the CIS versions newest first, then
        Security Hub and CloudGuard (``{"cis-5.0": "4.4", ..., "securityhub": "CloudWatch.4"}``).
        A new dictionary each time (every finding carries one), ordered once per rule.
        """
        return dict(self._controls_in_order)

    @cached_property
    def _controls_in_order(self) -> tuple[tuple[str, str], ...]:
        newest_first = sorted(
            self.cis_sections.items(), key=lambda kv: _version(kv[0]), reverse=True
        )
        found = dict(newest_first)
        for key in (SECURITYHUB, CLOUDGUARD):
            number = self.identifier(key)
            if number is not None:
                found[key] = number
        return tuple(found.items())

    def identifier(self, key: str) -> str | None:
        """The rule's number in an identifier family (``cis-1.4``, ``securityhub``, ...)."""
        if key == SECURITYHUB:
            return self.securityhub_control
        if key == CLOUDGUARD:
            return self.cloudguard_rule
        return self.cis_sections.get(key)

    def reference(self, name: str) -> Reference:
        for ref in self.references:
            if ref.name == name:
                return ref
        raise UnknownNameError(
            f"rule {self.id!r} has no reference {name!r}", name, (r.name for r in self.references)
        )

    def accepted_in(self, profile: str) -> tuple[Reference, ...]:
        """The references a filter may cover to pass under ``profile``, preferred first."""
        try:
            return self.accepted[profile]
        except KeyError:
            raise UnknownNameError(
                f"rule {self.id!r} is not part of profile {profile!r}",
                profile,
                self.profiles,
                "its profiles",
            ) from None


@dataclass(frozen=True)
class Profile:
    """A named selection of rules and references; ``identifiers`` are what listings show.

    ``membership``: the identifier family that defines the profile (a rule belongs exactly when
    it carries that identifier), or ``None`` for a profile chosen by hand such as ``recommended``.
    """

    name: str
    title: str
    description: str
    identifiers: tuple[str, ...]
    membership: str | None = None


def _name_of(profile: str | Profile | None) -> str | None:
    return profile.name if isinstance(profile, Profile) else profile


@dataclass(frozen=True, eq=False)
class RoutineEvent:
    """A CloudTrail event every live account records all day: a filter matching it is
    over-broad (its alarm sits in ALARM and cannot notify a new event)."""

    name: str  # the eventName
    event: Mapping[str, Any]


def _shipped_changes() -> ChangeCatalog:
    """The change events shipped with the package: they do not depend on the rules."""
    from scanner.catalog._changes_load import load_changes  # _changes_load imports this module

    return load_changes()


@dataclass(frozen=True, eq=False)
class Catalog:
    rules: tuple[Rule, ...]
    profiles: tuple[Profile, ...]
    default_profile: str
    routine_events: tuple[RoutineEvent, ...] = ()
    # What CloudTrail events can change a link, for the event-driven re-evaluation.
    changes: ChangeCatalog = field(default_factory=_shipped_changes)

    @property
    def change_events(self) -> tuple[ChangeEvent, ...]:
        """Every CloudTrail event that can change what a link reads (``changes.toml``)."""
        return self.changes.events

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise UnknownNameError(f"unknown rule {rule_id!r}", rule_id, (r.id for r in self.rules))

    def find_rule(self, name: str, profile: str | Profile | None = None) -> Rule:
        """The rule ``name`` means under ``profile`` (``None``: no profile chosen): a rule id,
        a control id read in the profile's standard (``4.4``, ``CloudWatch.4``; any case), or one
        qualified by its standard (``cis-1.2:3.4``). The rules of reading are in ``_controls``.
        """
        return _controls.resolve(self, name, profile)

    def find_rules(
        self, names: Iterable[str], profile: str | Profile | None = None
    ) -> tuple[Rule, ...]:
        """The rules ``names`` mean under ``profile``, each of them in the profile that runs
        (the default one when ``profile`` is ``None``)."""
        return _controls.resolve_all(self, names, profile)

    def controls_in(self, profile: str | Profile) -> tuple[str, ...]:
        """The control ids the profile's own standard gives its rules (none for recommended)."""
        return _controls.controls_in(self, self.profile(_name_of(profile)))

    def profile(self, name: str | None = None) -> Profile:
        """The profile called ``name``; the default profile when ``name`` is ``None``."""
        wanted = self.default_profile if name is None else name
        for profile in self.profiles:
            if profile.name == wanted:
                return profile
        raise UnknownNameError(
            f"unknown profile {wanted!r}", wanted, (p.name for p in self.profiles)
        )

    def rules_in(self, profile: str | Profile) -> tuple[Rule, ...]:
        """The rules of a profile, in catalog order."""
        name = self.profile(profile if isinstance(profile, str) else profile.name).name
        return tuple(rule for rule in self.rules if name in rule.accepted)

    def accepted(self, rule_id: str, profile: str | Profile) -> tuple[Reference, ...]:
        """The references a filter may cover to pass ``rule_id`` under ``profile``."""
        name = self.profile(profile if isinstance(profile, str) else profile.name).name
        return self.rule(rule_id).accepted_in(name)
