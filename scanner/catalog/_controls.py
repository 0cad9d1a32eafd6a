"""Which rule a name means: a rule id, a control id, or a control id qualified by its standard.

One resolver for every place a person names a rule (``--rules``, ``scanner rules show`` and
``check-pattern``, the suppressions file, the findings API's ``?rule=``), so a name means the same
everywhere. The rules, in order:

1. A rule id (``iam-policy-changes``) is that rule, whatever the profile.
2. A qualified id, ``<standard>:<number>`` (``cis-1.2:3.4``, ``securityhub:CloudWatch.4``), is
   the rule with that number in that standard, whatever the profile.
3. A bare control id (``4.4``, ``CloudWatch.4``, ``D9.AWS.MON.04``; any case) is read where the
   chosen profile says, because a CIS number means different things in different versions (the
   monitoring section is 3.x in v1.2, 4.x in v1.4-v5.0, 5.x in v6.0-v7.0):

   * a profile one standard defines (its ``membership``: ``cis-5.0``, ``securityhub``) reads it
     in that standard, and then in the unversioned ones (Security Hub, CloudGuard ids mean one
     rule everywhere): ``3.1`` under ``cis-5.0`` is refused, CIS v5.0 has no control 3.1, and
     ``CloudWatch.4`` is accepted;
   * a profile no standard defines (``recommended``) reads it in the standards it lists first
     (the latest CIS version, Security Hub, CloudGuard), and if it names nothing there, in every
     standard, like no profile;
   * no profile: every standard. There it must name one rule: ``4.4`` is accepted because every
     version that has a 4.4 means IAM policy changes by it; a number that different versions give
     to different rules is refused with the candidates as qualified ids.

Every refusal is an :class:`UnknownNameError`, one line saying what would have worked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from scanner.errors import UnknownNameError

if TYPE_CHECKING:
    from scanner.catalog._types import Catalog, Profile, Rule

Numbered = list[tuple[str, "Rule"]]  # (standard, rule) pairs, catalog order


def standards(catalog: Catalog) -> tuple[str, ...]:
    """Every identifier family a rule can be numbered in, in profile order."""
    return tuple(p.membership for p in catalog.profiles if p.membership is not None)


def controls_in(catalog: Catalog, profile: Profile) -> tuple[str, ...]:
    """The control ids the profile's own standard gives its rules (``4.1``, ..., ``4.15``);
    empty for a profile no standard defines."""
    if profile.membership is None:
        return ()
    ids = (rule.identifier(profile.membership) for rule in catalog.rules_in(profile))
    return tuple(number for number in ids if number is not None)


def _numbered(catalog: Catalog, number: str, families: Iterable[str]) -> Numbered:
    wanted = number.casefold()
    keys = tuple(families)
    return [
        (key, rule)
        for rule in catalog.rules
        for key in keys
        if (value := rule.identifier(key)) is not None and value.casefold() == wanted
    ]


def _one(name: str, found: Numbered) -> Rule | None:
    """The rule ``found`` names, ``None`` if none; refused if it names several."""
    rules = list(dict.fromkeys(rule for _, rule in found))
    if len(rules) > 1:
        candidates = (f"{key}:{name} ({rule.id})" for key, rule in found)
        raise UnknownNameError(
            f"control id {name!r} names {len(rules)} rules", name, candidates, "qualify it"
        )
    return rules[0] if rules else None


def _qualified(catalog: Catalog, name: str, family: str, number: str) -> Rule:
    known = standards(catalog)
    key = next((k for k in known if k.casefold() == family.casefold()), None)
    if key is None:
        raise UnknownNameError(f"unknown standard {family!r} in {name!r}", family, known, "known")
    rule = _one(number, _numbered(catalog, number, (key,)))
    if rule is None:
        valid = (value for r in catalog.rules if (value := r.identifier(key)) is not None)
        raise UnknownNameError(f"{number!r} is not a control of {key}", name, valid, "its controls")
    return rule


def _in_standard(catalog: Catalog, name: str, profile: Profile) -> Rule:
    assert profile.membership is not None
    rule = _one(name, _numbered(catalog, name, (profile.membership,)))
    if rule is not None:
        return rule
    # Product ids (Security Hub's CloudWatch.4, CloudGuard's D9.AWS.MON.04) have one meaning in
    # every version: they are read under any profile.
    unversioned = [key for key in standards(catalog) if not key.startswith("cis-")]
    rule = _one(name, _numbered(catalog, name, unversioned))
    if rule is not None:
        return rule
    elsewhere = list(dict.fromkeys(r.id for _, r in _numbered(catalog, name, standards(catalog))))
    hint = f" (in other standards it names {', '.join(elsewhere)})" if elsewhere else ""
    raise UnknownNameError(
        f"{name!r} is not a control of {profile.name}{hint}",
        name,
        controls_in(catalog, profile),
        "its controls",
    )


def resolve(catalog: Catalog, name: str, profile: str | Profile | None = None) -> Rule:
    """The rule ``name`` means under ``profile`` (``None``: no profile chosen); see above."""
    named = next((rule for rule in catalog.rules if rule.id == name), None)
    if named is not None:
        return named
    chosen = None if profile is None else catalog.profile(_name_of(profile))
    family, colon, number = name.rpartition(":")
    if colon:
        return _qualified(catalog, name, family, number)
    if chosen is not None and chosen.membership is not None:
        return _in_standard(catalog, name, chosen)
    if chosen is not None:
        own = _one(name, _numbered(catalog, name, chosen.identifiers))
        if own is not None:
            return own
    found = _one(name, _numbered(catalog, name, standards(catalog)))
    if found is None:
        rules = catalog.rules if chosen is None else catalog.rules_in(chosen)
        raise UnknownNameError(f"unknown rule or control id {name!r}", name, (r.id for r in rules))
    return found


def resolve_all(
    catalog: Catalog, names: Iterable[str], profile: str | Profile | None = None
) -> tuple[Rule, ...]:
    """The rules ``names`` mean (in their order, once each), all of them in the profile that
    runs (the default one when ``profile`` is ``None``): a name for a rule the profile does not
    hold selects nothing, so it is refused rather than answered with no findings."""
    found = tuple(dict.fromkeys(resolve(catalog, name, profile) for name in names))
    running = catalog.profile(None if profile is None else _name_of(profile))
    outside = [rule.id for rule in found if running.name not in rule.accepted]
    if outside:
        raise UnknownNameError(
            f"not in profile {running.name}: {', '.join(outside)}",
            outside[0],
            (rule.id for rule in catalog.rules_in(running)),
            "its rules",
        )
    return found


def _name_of(profile: str | Profile) -> str:
    return profile if isinstance(profile, str) else profile.name
