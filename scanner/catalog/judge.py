"""Does a filter pattern satisfy a rule under a profile? One answer for the CLI and the evaluator.

A pattern satisfies a rule when it covers ANY of the references the profile accepts (it matches
every event that reference matches). The verdict names the reference that decided it:

* covered: the first accepted reference, in preferred order, that the pattern covers;
* otherwise the *closest* one: the decided coverage with the fewest gaps, ties broken by
  preferred order; a coverage that cannot be decided counts as farther than any decided one. If
  none can be decided the verdict is "not covered" and its reason says why it is undecidable.

Coverage is not enough to satisfy a rule: a pattern that also matches a routine event of the
catalog (a successful read-only call such as DescribeInstances, which every live account makes
all day) is *over-broad*. Its metric gets a datapoint in nearly every period, so its alarm sits
in ALARM, and CloudWatch notifies only on a change of state: it never notifies a new event. The
empty pattern and the broken CIS v1.3.0-v1.5.0 text are such patterns. ``covered`` keeps its
meaning (coverage alone); ``satisfies`` is the verdict: covered and not over-broad.

Verdicts are memoised per (rule, profile, pattern): an organization repeats the same few
patterns in every account.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from scanner.catalog._load import load_catalog
from scanner.catalog._types import Profile, Reference, RoutineEvent, Rule
from scanner.patterns import Coverage, Gap, Origin, Pattern, covers, matches, parse


@dataclass(frozen=True)
class Verdict:
    rule: Rule
    profile: str
    covered: bool
    reference: Reference
    coverage: Coverage
    notes: tuple[str, ...]
    routine: RoutineEvent | None = None  # the first routine event the pattern matches

    @property
    def over_broad(self) -> bool:
        return self.routine is not None

    @property
    def satisfies(self) -> bool:
        return self.covered and not self.over_broad

    @property
    def over_broad_reason(self) -> str:
        name = self.routine.name if self.routine is not None else ""
        return f"over-broad: matches routine events such as {name}; its alarm stays in ALARM"

    @property
    def decided(self) -> bool:
        return self.coverage.decided

    @property
    def gaps(self) -> tuple[Gap, ...]:
        return self.coverage.gaps

    @property
    def missed(self) -> list[dict[str, Any]]:
        """Example events the reference matches and the pattern does not."""
        return self.coverage.missed

    @property
    def reason(self) -> str:
        ref = self.reference.name
        if self.over_broad:
            covering = f"covers the accepted reference {ref}" if self.covered else "covers none"
            return f"does not satisfy the rule: {covering} but is {self.over_broad_reason}"
        if self.covered:
            return f"covers the accepted reference {ref}"
        if not self.decided:
            return f"coverage of {ref} cannot be decided: {self.coverage.reason}"
        return f"covers no accepted reference; closest is {ref}, which it {self.coverage.reason}"

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule.id,
            "profile": self.profile,
            "covered": self.covered,
            "satisfies": self.satisfies,
            "over_broad": self.over_broad,
            "routine_example": dict(self.routine.event) if self.routine is not None else None,
            "decided": self.decided,
            "reference": self.reference.name,
            # Each kind of event missed once: what it is, and an example event of it.
            "missed": [{"description": g.description, "event": g.example} for g in self.gaps],
            "missed_count": self.coverage.gap_count,
            "reason": self.reason,
            "notes": list(self.notes),
        }


def _notes(reference: Reference, coverage: Coverage) -> tuple[str, ...]:
    notes = list(coverage.notes)
    if reference.kind == "intended":
        notes.append(f"{reference.name} is the {reference.source}: {reference.explanation}")
    if coverage.truncated:
        notes.append(f"{coverage.truncated} further kinds of missed event are not listed")
    return tuple(notes)


def routine_match(pattern: Pattern) -> RoutineEvent | None:
    """The first routine event of the catalog that ``pattern`` matches, if any."""
    for routine in load_catalog().routine_events:
        if matches(pattern, dict(routine.event)):
            return routine
    return None


@lru_cache(maxsize=8192)
def _judge(rule: Rule, profile: str, pattern: Pattern) -> Verdict:
    accepted = rule.accepted_in(profile)
    routine = routine_match(pattern)
    results = [(ref, covers(pattern, ref.pattern)) for ref in accepted]
    for ref, coverage in results:
        if coverage.covered:
            return Verdict(rule, profile, True, ref, coverage, _notes(ref, coverage), routine)
    rank = {id(ref): i for i, ref in enumerate(accepted)}
    ref, coverage = min(
        results, key=lambda rc: (not rc[1].decided, rc[1].gap_count, rank[id(rc[0])])
    )
    return Verdict(rule, profile, False, ref, coverage, _notes(ref, coverage), routine)


def judge(
    rule: Rule, profile: str | Profile, pattern: str | Pattern, *, origin: Origin = "aws"
) -> Verdict:
    """Judge ``pattern`` against the references ``rule`` accepts under ``profile``.

    ``origin`` is where a pattern text comes from (see :func:`scanner.patterns.parse`): ``"user"``
    for text a person typed, which CloudWatch would refuse over 1,024 characters, ``"aws"`` for a
    filter AWS returned. Raises :class:`scanner.patterns.PatternSyntaxError` for an invalid
    pattern text and :class:`UnknownNameError` when the rule is not part of the profile.
    """
    parsed = parse(pattern, origin=origin) if isinstance(pattern, str) else pattern
    name = profile if isinstance(profile, str) else profile.name
    return _judge(rule, name, parsed)
