"""Decide, from meaning alone, whether one JSON filter pattern catches every event another does.

Theory of operation. ``covers(P, R)`` asks whether ``R ∧ ¬P`` is satisfiable, and if so, for
one concrete event per distinct way it is.

1. Every selector (``$.eventName``, ``$.userIdentity.type`` ...) is a variable. The conditions on
   one selector, gathered from both patterns, cut the space of JSON values into finitely many
   *classes*: values that make exactly the same conditions true. We find one witness per class:
   absent, null, true, false, ``{}``, ``[]``, numbers at and between every constant, and for
   strings every region of the wildcard globs, found by a breadth-first search of the product of
   the globs' automata (so ``AccessDenied*`` and ``*UnauthorizedOperation`` yield the four
   regions, among them ``AccessDeniedUnauthorizedOperation``). Truth vectors are computed by
   :func:`scanner.patterns.match.atom_holds`, the same code that matches real events, so the
   analysis and the matcher cannot disagree.
2. A Shannon expansion over those classes evaluates ``R ∧ ¬P`` in three-valued logic, choosing
   only selectors that still matter (the reference's first, so gaps read in its terms). Every
   branch where the formula is true is a *gap*: a set of events the reference matches and the
   candidate does not. Branches are disjoint, so gaps never repeat.
3. Selectors nested in each other (``$.a`` and ``$.a.b``) constrain each other: a present
   ``$.a.b`` needs ``$.a`` to be an object. Classes of a selector that prefixes another carry
   their shape, and inconsistent branches are pruned. Selectors that only share a prefix
   constrain each other too, though no pattern names it: ``$.a[0]`` and ``$.a.b`` cannot both
   be present (``$.a`` would be an array and an object), and ``$[0]`` is never present (an
   event is an object), so ``{ $.a[0] = "x" && $.a.b = "y" }`` matches no event at all.
4. Each gap becomes an example event, which is checked against both patterns with the matcher.

What is not decided (and said so): regular-expression values, and term or space-delimited
patterns compared with JSON ones (other than the empty pattern, which matches everything).

Bounded work. The expansion is exponential in the worst case (a CNF reference against a DNF
candidate over 28 fields has 2^28 branches), so the glob automaton, the expansion and the number
of fields each have a budget (:data:`MAX_GLOB_WORK`, :data:`MAX_EXPANSION_STEPS`,
:data:`MAX_SELECTORS`), sized so any two patterns within CloudWatch's 1,024 characters are
answered within a fraction of a second. Past a budget the answer is "undecided" with the reason,
unless gaps were already found: those are real, so the verdict "not covered" stands (its count
reads "at least"). Before expanding, a shape check (:func:`_implies`) settles the common case of a
candidate that repeats the reference's conditions, which the expansion would enumerate in full.

Several candidates together (:func:`covers_any`) are their disjunction, decided the same way.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from scanner.patterns.ast import (
    And,
    Atom,
    Comparison,
    Expr,
    FieldTest,
    FieldTestKind,
    JsonPattern,
    NumberValue,
    Op,
    Or,
    Pattern,
    RegexValue,
    Selector,
    StringValue,
    TermPattern,
)
from scanner.patterns.match import ABSENT, as_decimal, atom_holds, atoms, glob_match, matches
from scanner.patterns.parser import parse
from scanner.patterns.render import number_text, quote, render_value

MAX_GAPS_SHOWN = 20
MAX_GAPS_COUNTED = 500
MAX_GLOB_STATES = 50_000
# Work budgets: past them the answer is "undecided" with the reason, never a hang. Sized so any
# pattern pair within CloudWatch's 1,024 characters is decided or given up well within a second.
MAX_GLOB_WORK = 200_000
MAX_EXPANSION_STEPS = 100_000
MAX_SELECTORS = 200
MAX_IMPLICATION_PAIRS = 20_000
FRIENDLY_STRINGS = ("AnyOtherValue", "example", "other")
# The reason given when an example event built for a gap does not check against the patterns.
UNCHECKED_GAP = "the example event built for a gap does not check against the patterns"


@dataclass(frozen=True)
class Gap:
    """One distinct kind of event that the reference matches and the candidate does not."""

    description: str
    example: dict[str, Any]


@dataclass(frozen=True)
class Coverage:
    covered: bool
    decided: bool
    gaps: tuple[Gap, ...] = ()
    truncated: int = 0
    reason: str = ""
    notes: tuple[str, ...] = ()

    @property
    def missed(self) -> list[dict[str, Any]]:
        """The example events, as copies: results are memoised and shared between callers."""
        return [copy.deepcopy(gap.example) for gap in self.gaps]

    @property
    def gap_count(self) -> int:
        return len(self.gaps) + self.truncated


class Undecidable(Exception):
    """Raised inside the analysis when coverage cannot be decided; the message says why."""


# ----------------------------------------------------------------------- value classes

_SHAPE_ABSENT, _SHAPE_OBJECT, _SHAPE_ARRAY, _SHAPE_SCALAR = "absent", "object", "array", "scalar"


def _shape(value: Any) -> str:
    if value is ABSENT:
        return _SHAPE_ABSENT
    if isinstance(value, dict):
        return _SHAPE_OBJECT
    if isinstance(value, list):
        return _SHAPE_ARRAY
    return _SHAPE_SCALAR


@dataclass
class _Class:
    truth: tuple[bool, ...]
    values: list[Any] = field(default_factory=list)

    @property
    def shapes(self) -> set[str]:
        return {_shape(v) for v in self.values}

    def value_with(self, allowed: set[str]) -> Any:
        for value in self.values:
            if _shape(value) in allowed:
                return value
        # The branch's constraints, checked pairwise, can still leave no value: no event.
        raise Undecidable(f"{UNCHECKED_GAP}: no value of the shape {sorted(allowed)}")


class _GlobAutomaton:
    """A glob's automaton as bits: bit ``i`` is "the first ``i`` characters of the glob are
    matched". A ``*`` at ``i`` both stays (any character) and may be skipped; skipping runs of
    stars is one addition (the carry walks each run), so a step costs a few integer operations
    whatever the glob's length."""

    def __init__(self, glob: str) -> None:
        self.stars = sum(1 << i for i, ch in enumerate(glob) if ch == "*")
        self.final = 1 << len(glob)
        self.advance: dict[str, int] = {}
        for i, ch in enumerate(glob):
            if ch != "*":
                self.advance[ch] = self.advance.get(ch, 0) | (1 << i)
        self.start = self.closure(1)

    def closure(self, state: int) -> int:
        runs = self.stars
        return state | ((runs + (state & runs)) ^ runs)

    def step(self, state: int, ch: str) -> int:
        moved = (state & self.advance.get(ch, 0)) << 1
        return self.closure(moved | (state & self.stars))


@lru_cache(maxsize=1024)
def string_regions(globs: tuple[str, ...]) -> tuple[str, ...]:
    """One string for every combination of the globs that some string matches exactly.

    Exact: characters outside the globs' literals behave alike, so one fresh character stands
    for all of them, and the product automaton is explored to every reachable state. Globs
    without ``*`` (most of them: event names) share one trie of prefixes instead of an automaton
    each, which keeps the product as small as the wildcards allow.
    """
    literals = [g for g in globs if "*" not in g]
    wildcards = [g for g in globs if "*" in g]
    if not wildcards:  # each literal alone, and one string that is none of them
        other = next(f for f in (*FRIENDLY_STRINGS, "".join(literals) + "x") if f not in literals)
        return (*literals, other)
    prefixes = {lit[:k] for lit in literals for k in range(len(lit) + 1)}
    automata = [_GlobAutomaton(g) for g in wildcards]
    alphabet = sorted({ch for g in globs for ch in g if ch != "*"})
    fresh = next(c for c in "xyzq_0123456789#~" if c not in alphabet)
    alphabet.append(fresh)
    State = tuple[str | None, tuple[int, ...]]
    start: State = ("", tuple(a.start for a in automata))

    def signature(state: State) -> tuple[bool, ...]:
        prefix, sets = state
        wild = {g: bool(s & a.final) for g, a, s in zip(wildcards, automata, sets, strict=True)}
        return tuple(wild.get(g, prefix == g) for g in globs)

    found: dict[tuple[bool, ...], str] = {signature(start): ""}
    seen = {start}
    queue: deque[tuple[State, str]] = deque([(start, "")])
    work = 0
    while queue:
        (prefix, sets), text = queue.popleft()
        work += len(alphabet) * (1 + len(sets))
        if work > MAX_GLOB_WORK:
            raise Undecidable(
                "the wildcard values are too intricate to compare exactly "
                f"(over {MAX_GLOB_WORK:,} automaton steps)"
            )
        for ch in alphabet:
            grown = None if prefix is None else prefix + ch
            nxt: State = (
                grown if grown in prefixes else None,
                tuple(a.step(st, ch) for a, st in zip(automata, sets, strict=True)),
            )
            if nxt in seen:
                continue
            seen.add(nxt)
            if len(seen) > MAX_GLOB_STATES:
                raise Undecidable(
                    "the wildcard values are too intricate to compare exactly "
                    f"(over {MAX_GLOB_STATES} automaton states)"
                )
            found.setdefault(signature(nxt), text + ch)
            queue.append((nxt, text + ch))
    # Prefer readable witnesses where they land in the same region as the shortest one.
    for friendly in FRIENDLY_STRINGS:
        sig = tuple(glob_match(g, friendly) for g in globs)
        if found.get(sig) == "":
            found[sig] = friendly
    return tuple(found.values())


def _number_candidates(constants: list[Decimal]) -> list[int | float]:
    """A JSON number (int or float, as ``json.loads`` gives) in every region the constants cut
    the number line into, where one exists: below, at, between and above them.

    Exact, with no decimal-context rounding: a region between two 32-digit constants holds no
    float, and an int only if they are far enough apart; such an empty region gets no witness,
    because no event can have a value there.
    """
    if not constants:
        return [0]
    points = sorted({Fraction(c) for c in constants})
    out: list[int | float] = [math.floor(points[0]) - 1, math.floor(points[-1]) + 1]
    for point in points:
        if point.denominator == 1:
            out.append(int(point))
        else:
            f = _float(point)
            if f is not None and Fraction(as_decimal(f)) == point:
                out.append(f)
    for low, high in itertools.pairwise(points):
        witness = _between(low, high)
        if witness is not None:
            out.append(witness)
    return out


def _float(value: Fraction) -> float | None:
    try:
        return float(value)
    except OverflowError:
        return None


def _between(low: Fraction, high: Fraction) -> int | float | None:
    """A readable JSON number strictly between two constants, or ``None`` if there is none."""
    mid = (low + high) / 2
    candidates: list[int | float] = []
    if mid.denominator == 1:
        candidates.append(int(mid))
    f = _float(mid)
    if f is not None and math.isfinite(f):
        candidates.append(f)
    candidates.append(math.floor(low) + 1)
    f = _float(low)
    if f is not None and math.isfinite(f):  # the smallest float above ``low``
        while Fraction(as_decimal(f)) <= low:
            f = math.nextafter(f, math.inf)
        while math.isfinite(f) and Fraction(as_decimal(math.nextafter(f, -math.inf))) > low:
            f = math.nextafter(f, -math.inf)
        if math.isfinite(f):
            candidates.append(f)
    return next((c for c in candidates if low < Fraction(as_decimal(c)) < high), None)


def _classes(selector_atoms: list[Atom], is_prefix: bool) -> list[_Class]:
    """Partition the values of one selector by the truth of its conditions."""
    # Globs in the order the patterns name them, so gaps are listed in the reference's order.
    globs = list(
        dict.fromkeys(
            a.value.text
            for a in selector_atoms
            if isinstance(a, Comparison) and isinstance(a.value, StringValue)
        )
    )
    numbers = [
        a.value.value
        for a in selector_atoms
        if isinstance(a, Comparison) and isinstance(a.value, NumberValue)
    ]
    candidates: list[Any] = [ABSENT]
    if selector_atoms and isinstance(selector_atoms[0].selector.parts[0], int):
        candidates = []  # ``$[0]...``: an event is an object, so this is always absent
    elif globs:
        regions = string_regions(tuple(sorted(globs)))
        first_glob = {
            text: next((i for i, g in enumerate(globs) if glob_match(g, text)), len(globs))
            for text in regions
        }
        candidates += sorted(regions, key=first_glob.__getitem__)
    else:
        candidates.append("AnyValue")
    if candidates:
        candidates += [None, True, False, *_number_candidates(numbers), {}, []]
    else:
        candidates = [ABSENT]
    by_key: dict[tuple[Any, ...], _Class] = {}
    for value in candidates:
        truth = tuple(atom_holds(a, value) for a in selector_atoms)
        key: tuple[Any, ...] = (truth, _shape(value)) if is_prefix else (truth,)
        by_key.setdefault(key, _Class(truth)).values.append(value)
    return list(by_key.values())


# ----------------------------------------------------------------------- the expansion


@dataclass
class _Problem:
    reference: Expr
    candidate: Expr
    order: list[Selector]
    atom_index: dict[Atom, int]
    atoms_of: dict[Selector, list[Atom]]
    classes: dict[Selector, list[_Class]]
    steps: int = 0


def _eval3(
    expr: Expr, assign: Mapping[Selector, _Class], problem: _Problem, unknown: list[Selector]
) -> bool | None:
    """Kleene evaluation; appends to ``unknown`` the selectors that could still decide it."""
    problem.steps += 1
    if problem.steps > MAX_EXPANSION_STEPS:
        raise Undecidable(
            "the patterns combine too many conditions to compare exactly "
            f"(over {MAX_EXPANSION_STEPS:,} evaluation steps)"
        )
    if isinstance(expr, Comparison | FieldTest):
        cls = assign.get(expr.selector)
        if cls is None:
            unknown.append(expr.selector)
            return None
        return cls.truth[problem.atom_index[expr]]
    is_and = isinstance(expr, And)
    pending: list[Selector] = []
    undecided = False
    for item in expr.items:
        local: list[Selector] = []
        value = _eval3(item, assign, problem, local)
        if value is None:
            undecided = True
            pending.extend(local)
        elif value is not is_and:  # False in an And, True in an Or decides it
            return value
    if undecided:
        unknown.extend(pending)
        return None
    return is_and


def _is_ancestor(a: Selector, b: Selector) -> bool:
    return len(a.parts) < len(b.parts) and b.parts[: len(a.parts)] == a.parts


def _container_for(parent: Selector, child: Selector) -> str:
    return _SHAPE_ARRAY if isinstance(child.parts[len(parent.parts)], int) else _SHAPE_OBJECT


def _clash(a: Selector, b: Selector) -> bool:
    """Whether ``a`` and ``b`` cannot both be present: where their paths part, one goes on into
    an array and the other into an object (``$.a[0]`` and ``$.a.b``), so the value they share
    would have to be both."""
    for x, y in zip(a.parts, b.parts, strict=False):
        if x != y:
            return isinstance(x, int) != isinstance(y, int)
    return False  # one is the other's ancestor (or they are equal): :func:`_consistent` judges


def _needs(a: Selector, b: Selector) -> bool:
    """Whether a present ``a`` makes ``b`` present: ``b`` is an earlier item of an array ``a``
    goes through (``$.a[0]`` for ``$.a[2]`` or ``$.a[2].b``), since arrays have no holes."""
    k = len(b.parts) - 1
    if k < 0 or len(a.parts) <= k or a.parts[:k] != b.parts[:k]:
        return False
    x, y = a.parts[k], b.parts[k]
    return isinstance(x, int) and isinstance(y, int) and x > y


def _present(cls: _Class) -> bool:
    return _SHAPE_ABSENT not in cls.shapes


def _absent(cls: _Class) -> bool:
    return cls.shapes == {_SHAPE_ABSENT}


def _consistent(assign: Mapping[Selector, _Class], sel: Selector, cls: _Class) -> bool:
    for other, other_cls in assign.items():
        if _is_ancestor(other, sel):
            parent, parent_cls, child_cls, child = other, other_cls, cls, sel
        elif _is_ancestor(sel, other):
            parent, parent_cls, child_cls, child = sel, cls, other_cls, other
        else:
            if _present(cls) and _present(other_cls) and _clash(sel, other):
                return False
            if _present(cls) and _absent(other_cls) and _needs(sel, other):
                return False
            if _present(other_cls) and _absent(cls) and _needs(other, sel):
                return False
            continue
        if _container_for(parent, child) not in parent_cls.shapes and (
            _SHAPE_ABSENT not in child_cls.shapes
        ):
            return False
    return True


def _expand(
    problem: _Problem, assign: dict[Selector, _Class], want: bool = False
) -> Iterator[dict[Selector, _Class]]:
    """Branches where the reference holds and the candidate evaluates to ``want``."""
    unknown_r: list[Selector] = []
    ref = _eval3(problem.reference, assign, problem, unknown_r)
    if ref is False:
        return
    unknown_c: list[Selector] = []
    cand = _eval3(problem.candidate, assign, problem, unknown_c)
    if cand is (not want):
        return
    if ref is True and cand is want:
        yield dict(assign)
        return
    relevant = set(unknown_r) | set(unknown_c)
    sel = next(s for s in problem.order if s in relevant)
    for cls in problem.classes[sel]:
        if _consistent(assign, sel, cls):
            assign[sel] = cls
            yield from _expand(problem, assign, want)
            del assign[sel]


def _build_event(assign: Mapping[Selector, _Class]) -> dict[str, Any]:
    chosen: dict[Selector, Any] = {}
    for sel in sorted(assign, key=lambda s: len(s.parts)):
        allowed = {_SHAPE_ABSENT, _SHAPE_OBJECT, _SHAPE_ARRAY, _SHAPE_SCALAR}
        for parent, value in chosen.items():
            if _is_ancestor(parent, sel) and _shape(value) != _container_for(parent, sel):
                allowed = {_SHAPE_ABSENT}
        for child, child_cls in assign.items():
            if _is_ancestor(sel, child) and _SHAPE_ABSENT not in child_cls.shapes:
                allowed &= {_container_for(sel, child)}
        # A selector that parts from another into the other kind of container stays absent
        # when that one is present; an earlier item of an array is present when a later one
        # is, and a later one absent when an earlier one is (arrays have no holes).
        for other, other_cls in assign.items():
            present = _present(other_cls) or chosen.get(other, ABSENT) is not ABSENT
            absent = _absent(other_cls) or (other in chosen and chosen[other] is ABSENT)
            if present and _clash(sel, other):
                allowed = {_SHAPE_ABSENT}
            if present and _needs(other, sel):
                allowed -= {_SHAPE_ABSENT}
            if absent and _needs(sel, other):
                allowed &= {_SHAPE_ABSENT}
        chosen[sel] = assign[sel].value_with(allowed)
    event: dict[str, Any] = {}
    for sel in sorted(chosen, key=lambda s: len(s.parts)):
        value = chosen[sel]
        if value is ABSENT:
            continue
        _place(event, sel, value)
    return event


def _place(event: dict[str, Any], sel: Selector, value: Any) -> None:
    current: Any = event
    parts = sel.parts
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt_container: Any = None if last else ([] if isinstance(parts[i + 1], int) else {})
        if isinstance(part, int):
            while len(current) <= part:
                current.append(None)
            if last:
                current[part] = _copy(value)
            else:
                if not isinstance(current[part], list | dict):
                    current[part] = nxt_container
                current = current[part]
        elif last:
            existing = current.get(part)
            if not (isinstance(existing, dict | list) and existing == value):
                current[part] = _copy(value)
        else:
            if not isinstance(current.get(part), list | dict):
                current[part] = nxt_container
            current = current[part]


def _copy(value: Any) -> Any:
    return {} if isinstance(value, dict) else [] if isinstance(value, list) else value


# ----------------------------------------------------------------------- descriptions


_TEST_WORDS = {
    FieldTestKind.NOT_EXISTS: ("is absent", "is present"),
    FieldTestKind.IS_NULL: ("is null", ""),
    FieldTestKind.IS_TRUE: ("is true", ""),
    FieldTestKind.IS_FALSE: ("is false", ""),
}
_SHAPE_WORDS = {_SHAPE_OBJECT: "is an object", _SHAPE_ARRAY: "is an array"}


def _describe_class(sel: Selector, cls: _Class, sel_atoms: list[Atom]) -> str:
    """Plain words for one selector's class: what its value is, or is not."""
    name = sel.dotted()
    if cls.shapes == {_SHAPE_ABSENT}:
        return f"{name} is absent"
    facts: list[str] = []
    excluded: list[str] = []
    for atom, truth in zip(sel_atoms, cls.truth, strict=True):
        if isinstance(atom, FieldTest):
            word = _TEST_WORDS[atom.kind][0 if truth else 1]
            if word and word not in facts:
                facts.append(word)
            continue
        shown = render_value(atom.value)
        equal = truth if atom.op is Op.EQ else not truth if atom.op is Op.NE else None
        if equal is None:
            if truth:
                facts.append(f"{atom.op.value} {shown}")
        elif equal:
            exact = not (isinstance(atom.value, StringValue) and atom.value.has_wildcard)
            fact = (
                f"is {shown}"
                if exact and not isinstance(atom.value, RegexValue)
                else (f"matches {shown}")
            )
            if exact:
                return f"{name} {fact}"
            if fact not in facts:
                facts.append(fact)
        elif shown not in excluded:
            excluded.append(shown)
    if excluded:
        listed = " or ".join(excluded) if len(excluded) <= 3 else f"any of {len(excluded)} values"
        absent = " (or absent)" if _SHAPE_ABSENT in cls.shapes and "is present" not in facts else ""
        facts.append(f"is not {listed}{absent}")
    if not facts and len(cls.shapes) == 1 and next(iter(cls.shapes)) in _SHAPE_WORDS:
        facts.append(_SHAPE_WORDS[next(iter(cls.shapes))])
    return f"{name} " + " and ".join(facts) if facts else f"{name} is any value"


# ----------------------------------------------------------------------- entry points


def _unsupported(pattern: JsonPattern, role: str) -> str | None:
    for atom in atoms(pattern.expr):
        if isinstance(atom, Comparison) and isinstance(atom.value, RegexValue):
            return (
                f"the {role} compares {atom.selector.text()} with the regular expression "
                f"%{atom.value.source}%; coverage involving regular expressions is not decided"
            )
    return None


def _problem(candidate: JsonPattern, reference: JsonPattern) -> _Problem:
    """The variables (selectors, reference's first) and their value classes; may raise
    :class:`Undecidable`."""
    order: list[Selector] = []
    atoms_of: dict[Selector, list[Atom]] = {}
    for atom in [*atoms(reference.expr), *atoms(candidate.expr)]:
        if atom.selector not in atoms_of:
            order.append(atom.selector)
            atoms_of[atom.selector] = []
        if atom not in atoms_of[atom.selector]:
            atoms_of[atom.selector].append(atom)
    if len(order) > MAX_SELECTORS:
        raise Undecidable(
            f"the patterns look at {len(order)} different fields; coverage is decided for at "
            f"most {MAX_SELECTORS}"
        )
    atom_index = {a: i for sel_atoms in atoms_of.values() for i, a in enumerate(sel_atoms)}
    classes = {
        sel: _classes(sel_atoms, any(_is_ancestor(sel, o) for o in order))
        for sel, sel_atoms in atoms_of.items()
    }
    return _Problem(reference.expr, candidate.expr, order, atom_index, atoms_of, classes)


@lru_cache(maxsize=8192)
def overlaps(candidate: Pattern, reference: Pattern) -> bool | None:
    """Whether some event matches both patterns; ``None`` when that cannot be decided.

    The evaluator uses it to tell a filter that watches something else entirely (it shares no
    event with the rule) from one that falls short.
    """
    if isinstance(candidate, TermPattern) and not candidate.terms:
        return True
    if not isinstance(candidate, JsonPattern) or not isinstance(reference, JsonPattern):
        return None
    if _unsupported(candidate, "candidate") or _unsupported(reference, "reference"):
        return None
    try:
        problem = _problem(candidate, reference)
        return next(_expand(problem, {}, want=True), None) is not None
    except Undecidable:
        return None


def _implies(reference: Expr, candidate: Expr) -> bool:
    """Whether ``reference`` implies ``candidate`` by their shape alone (sound, not complete).

    A shortcut before the expansion, whose cost is exponential in the worst case: the same
    conditions conjoined in both patterns (a filter that repeats the reference and adds a
    clause) are common and would otherwise enumerate every way of satisfying them.
    """
    memo: dict[tuple[int, int], bool] = {}
    budget = [MAX_IMPLICATION_PAIRS]

    def implies(r: Expr, p: Expr) -> bool:
        key = (id(r), id(p))
        if key in memo:
            return memo[key]
        budget[0] -= 1
        if budget[0] < 0:
            return False
        if (
            r == p
            or (isinstance(p, And) and all(implies(r, q) for q in p.items))
            or (isinstance(p, Or) and any(implies(r, q) for q in p.items))
        ):
            result = True
        elif isinstance(r, Or):
            result = all(implies(s, p) for s in r.items)
        elif isinstance(r, And):
            result = any(implies(s, p) for s in r.items)
        else:
            result = False
        memo[key] = result
        return result

    try:
        return implies(reference, candidate)
    finally:
        memo.clear()  # ``implies`` refers to itself (a cycle the collector frees, late)


@lru_cache(maxsize=8192)
def _json_coverage(candidate: JsonPattern, reference: JsonPattern) -> Coverage:
    for pattern, role in ((candidate, "candidate"), (reference, "reference")):
        why = _unsupported(pattern, role)
        if why:
            return Coverage(covered=False, decided=False, reason=why)
    if _implies(reference.expr, candidate.expr):
        return Coverage(
            covered=True, decided=True, reason="matches every event the reference matches"
        )
    gaps: list[Gap] = []
    total = 0
    capped = False
    try:
        problem = _problem(candidate, reference)
        order, atoms_of = problem.order, problem.atoms_of
        for cube in _expand(problem, {}):
            total += 1
            if len(gaps) < MAX_GAPS_SHOWN:
                event = _build_event(cube)
                if not matches(reference, event) or matches(candidate, event):
                    # A gap must be a real event; one that is not means the analysis went
                    # wrong, and a wrong "not covered" is the worst answer: say so instead.
                    raise Undecidable(f"{UNCHECKED_GAP}: {json.dumps(event)[:200]}")
                words = ", ".join(
                    _describe_class(sel, cube[sel], atoms_of[sel]) for sel in order if sel in cube
                )
                gaps.append(Gap(words, event))
            if total >= MAX_GAPS_COUNTED:
                capped = True
                break
    except Undecidable as why:
        if not gaps:
            return Coverage(covered=False, decided=False, reason=str(why))
        capped = True  # the gaps found are real: not covered, though not all were counted
    if not gaps:
        return Coverage(
            covered=True, decided=True, reason="matches every event the reference matches"
        )
    return Coverage(
        covered=False,
        decided=True,
        gaps=tuple(gaps),
        truncated=total - len(gaps),
        reason=_summary(gaps, total, capped),
    )


def _summary(gaps: list[Gap], total: int, capped: bool) -> str:
    count = f"at least {total}" if capped else str(total)
    kinds = "kind" if total == 1 else "kinds"
    shown = "; ".join(g.description for g in gaps[:3])
    more = f"; and {total - 3} more" if total > 3 else ""
    return f"misses {count} {kinds} of event the reference matches: {shown}{more}"


def _family(pattern: Pattern) -> str:
    return {JsonPattern: "JSON", TermPattern: "term"}.get(type(pattern), "space-delimited")


def _with_notes(result: Coverage, notes: tuple[str, ...]) -> Coverage:
    if not notes:
        return result
    return Coverage(
        result.covered, result.decided, result.gaps, result.truncated, result.reason, notes
    )


def covers(candidate: Pattern | str, reference: Pattern | str) -> Coverage:
    """Whether ``candidate`` matches every event ``reference`` matches, with the gaps if not."""
    cand = parse(candidate) if isinstance(candidate, str) else candidate
    ref = parse(reference) if isinstance(reference, str) else reference
    notes = tuple(
        f"{role}: {note}"
        for role, pattern in (("candidate", cand), ("reference", ref))
        for note in pattern.notes
    )
    if isinstance(cand, TermPattern) and not cand.terms:
        result = Coverage(
            covered=True, decided=True, reason="the empty pattern matches every event"
        )
    elif isinstance(cand, JsonPattern) and isinstance(ref, JsonPattern):
        result = _json_coverage(cand, ref)
    else:
        result = Coverage(
            covered=False,
            decided=False,
            reason=(
                f"the candidate is a {_family(cand)} pattern and the reference a "
                f"{_family(ref)} pattern; coverage between different pattern families is not "
                "decided"
            ),
        )
    return _with_notes(result, notes)


def covers_any(candidates: Sequence[Pattern | str], reference: Pattern | str) -> Coverage:
    """Whether every event ``reference`` matches is matched by at least one candidate.

    That is ``covers(P1 || P2 || ..., reference)``, decided exactly as :func:`covers` decides
    one pattern, with the gaps of the union: events no candidate matches. People split a long
    pattern over two metric filters because of CloudWatch's 1,024-character limit, and the two
    filters together do the job. With one candidate this is :func:`covers`. Term and
    space-delimited candidates are decided only as far as :func:`covers` decides them: the empty
    pattern covers everything; otherwise, when the JSON candidates alone leave gaps, the result
    is undecided (another family might fill them). Memoised like :func:`covers`.
    """
    parsed = tuple(parse(c) if isinstance(c, str) else c for c in candidates)
    ref = parse(reference) if isinstance(reference, str) else reference
    unique = tuple(dict.fromkeys(parsed))
    if len(unique) == 1:
        return covers(unique[0], ref)
    notes = tuple(
        f"candidate {i}: {note}"
        for i, pattern in enumerate(parsed, start=1)
        for note in pattern.notes
    ) + tuple(f"reference: {note}" for note in ref.notes)
    return _with_notes(_union_coverage(unique, ref), notes)


@lru_cache(maxsize=4096)
def _union_coverage(candidates: tuple[Pattern, ...], reference: Pattern) -> Coverage:
    if any(isinstance(c, TermPattern) and not c.terms for c in candidates):
        return Coverage(covered=True, decided=True, reason="the empty pattern matches every event")
    if not isinstance(reference, JsonPattern):
        return Coverage(
            covered=False,
            decided=False,
            reason=(
                f"the reference is a {_family(reference)} pattern; coverage by a union of "
                "patterns is decided for JSON references only"
            ),
        )
    json_parts = [c.expr for c in candidates if isinstance(c, JsonPattern)]
    others = [c for c in candidates if not isinstance(c, JsonPattern)]
    union = (
        JsonPattern(Or(tuple(json_parts))) if len(json_parts) != 1 else JsonPattern(json_parts[0])
    )
    result = _json_coverage(union, reference)
    if result.covered or not others or not result.decided:
        return result
    kinds = sorted({_family(c) for c in others})
    return Coverage(
        covered=False,
        decided=False,
        reason=(
            f"the JSON candidates together {result.reason}; whether the "
            f"{' and '.join(kinds)} candidates match those events is not decided"
        ),
    )


__all__ = ["Coverage", "Gap", "covers", "covers_any", "number_text", "overlaps", "quote"]
