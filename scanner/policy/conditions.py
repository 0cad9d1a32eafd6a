"""A statement's ``Condition`` block against what the scanner knows of a request, in three values.

The scanner never sees the request AWS evaluates: it builds one from the inventory. Some keys it
knows (the alarm's ARN is ``aws:SourceArn``), some it knows to be absent (AWS documents that the
key is not in that kind of request), and the rest it does not know. A condition on a key of the
third kind is *unknown* and names the key; so is an operator this module does not implement. An
unknown is never resolved by guessing: the caller turns it into an UNDECIDED decision.

Semantics, from the IAM User Guide's "IAM JSON policy elements: Condition operators" and "Set
operators for multivalued context keys" (docs.aws.amazon.com/IAM/latest/UserGuide/
reference_policies_elements_condition_operators.html, ..._condition-single-vs-multi-valued-
context-keys.html):

* key names are case-insensitive (``AWS:SourceOwner`` is ``aws:sourceowner``); values are not,
  except under the ``...IgnoreCase`` operators and ``Bool``;
* several values for one key are OR-ed (for a negated operator: the key matches none of them);
  several keys, and several operators, are AND-ed;
* a key absent from the request: a positive operator is false, a negated one (``StringNotEquals``,
  ``ArnNotLike``...) is true, ``...IfExists`` is true, ``Null`` tests exactly this, and
  ``ForAllValues:`` is true while ``ForAnyValue:`` is false (an empty multivalued key likewise);
* ``ArnEquals`` and ``ArnLike`` compare each of the six colon-separated parts, each of which may
  hold ``*`` and ``?`` wildcards;
* ``${aws:SourceAccount}`` in a value is the request's value of that key; ``${*}``, ``${?}`` and
  ``${$}`` are the literal characters; ``${key, 'default'}`` falls back to the default when the key
  is absent. A variable whose key is unknown leaves the comparison unknown.

The three values are ``True``, ``False`` and an :class:`Unknown`. ``False`` wins a conjunction
even beside unknowns: a statement with one condition known to be false does not apply, whatever
the others are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# Values a context key may be given: one string, or several for a multivalued key.
ContextValue = str | Sequence[str]


@dataclass(frozen=True)
class Unknown:
    """A question this module could not answer: ``name`` is the key, variable or operator that
    made it so (as the policy spells it), ``why`` a sentence a finding can quote."""

    name: str
    why: str


Truth = bool | Unknown


def all_of(truths: Iterable[Truth]) -> Truth:
    """Conjunction: false if any is false, else the first unknown, else true."""
    first: Unknown | None = None
    for truth in truths:
        if truth is False:
            return False
        if isinstance(truth, Unknown) and first is None:
            first = truth
    return True if first is None else first


def any_of(truths: Iterable[Truth]) -> Truth:
    """Disjunction: true if any is true, else the first unknown, else false."""
    first: Unknown | None = None
    for truth in truths:
        if truth is True:
            return True
        if isinstance(truth, Unknown) and first is None:
            first = truth
    return False if first is None else first


def negation(truth: Truth) -> Truth:
    return truth if isinstance(truth, Unknown) else not truth


@dataclass(frozen=True)
class Context:
    """What the scanner knows of a request's condition keys.

    ``known`` maps a key (any case) to its value or values; ``absent`` names keys AWS does not put
    in this request. An entry of ``absent`` that ends in ``/`` covers every key it prefixes
    (``aws:PrincipalTag/``). A key in neither is unknown. Use :meth:`of` to build one.
    """

    # Not hashed (a dict is not hashable); equal contexts still hash alike, by ``absent``.
    known: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    absent: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, known: Mapping[str, ContextValue] | None = None, absent: Iterable[str] = ()
    ) -> Context:
        values: dict[str, tuple[str, ...]] = {}
        for key, value in (known or {}).items():
            values[key.lower()] = (value,) if isinstance(value, str) else tuple(value)
        return cls(values, frozenset(key.lower() for key in absent))

    def lookup(self, key: str) -> tuple[str, ...] | Unknown | None:
        """The key's values, ``None`` when it is absent (or known and empty), or an unknown."""
        name = key.lower()
        if name in self.known:
            return self.known[name] or None
        if name in self.absent or any(
            prefix.endswith("/") and name.startswith(prefix) for prefix in self.absent
        ):
            return None
        return Unknown(key, f"the request's {key} is not known to the scanner")


# A policy value after variable substitution: pieces of policy text (whose * and ? are wildcards
# under the Like operators) and substituted text (always literal), in order.
Piece = tuple[str, bool]  # (text, is_literal)

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


def substitute(value: str, context: Context) -> list[Piece] | Unknown:
    """``value`` with its policy variables replaced, or the unknown that stops it."""
    pieces: list[Piece] = []
    position = 0
    for variable in _VARIABLE.finditer(value):
        if variable.start() > position:
            pieces.append((value[position : variable.start()], False))
        position = variable.end()
        inside = variable.group(1).strip()
        if inside in _SPECIAL:
            pieces.append((_SPECIAL[inside], True))
            continue
        key, _, default = inside.partition(",")
        key = key.strip()
        found = context.lookup(key)
        if isinstance(found, Unknown):
            return Unknown(key, f"the policy variable ${{{key}}} is not known to the scanner")
        if found is None:
            fallback = default.strip()
            if len(fallback) >= 2 and fallback[0] == fallback[-1] == "'":
                pieces.append((fallback[1:-1], True))
                continue
            return Unknown(key, f"the policy variable ${{{key}}} has no value in this request")
        if len(found) != 1:
            return Unknown(key, f"the policy variable ${{{key}}} has several values")
        pieces.append((found[0], True))
    if position < len(value):
        pieces.append((value[position:], False))
    return pieces


def _plain(pieces: Sequence[Piece]) -> str:
    return "".join(text for text, _ in pieces)


def like(pieces: Sequence[Piece], text: str, *, ignore_case: bool = False) -> bool:
    """Whether ``text`` matches the pattern: ``*`` any run of characters, ``?`` any one, in the
    policy's own text only (substituted values match literally)."""
    parts = []
    for chunk, literal in pieces:
        if literal:
            parts.append(re.escape(chunk))
        else:
            parts.append("".join(_GLOB.get(char, re.escape(char)) for char in chunk))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch("".join(parts), text, flags) is not None


_GLOB = {"*": ".*", "?": "."}


def glob(pattern: str, text: str, *, ignore_case: bool = False) -> bool:
    """``like`` for a pattern without variables (actions, the ARN of a plain ``Resource``)."""
    return like([(pattern, False)], text, ignore_case=ignore_case)


def _split_pieces(pieces: Sequence[Piece], separator: str, limit: int) -> list[list[Piece]]:
    """Split a pattern on ``separator`` (at most ``limit`` times), across its pieces."""
    parts: list[list[Piece]] = [[]]
    for text, literal in pieces:
        chunks = text.split(separator)
        for index, chunk in enumerate(chunks):
            if index and len(parts) <= limit:
                parts.append([])
            elif index:
                parts[-1].append((separator, literal))
            if chunk:
                parts[-1].append((chunk, literal))
    return parts


# Matchers: (request value, policy value after substitution) -> does it match.
Matcher = Callable[[str, Sequence[Piece]], bool]


def _equals(actual: str, pieces: Sequence[Piece]) -> bool:
    return actual == _plain(pieces)


def _equals_ignore_case(actual: str, pieces: Sequence[Piece]) -> bool:
    return actual.casefold() == _plain(pieces).casefold()


def _like(actual: str, pieces: Sequence[Piece]) -> bool:
    return like(pieces, actual)


def _arn_like(actual: str, pieces: Sequence[Piece]) -> bool:
    wanted = _split_pieces(pieces, ":", 5)
    parts = actual.split(":", 5)
    if len(wanted) != 6 or len(parts) != 6:
        return False
    return all(like(want, part) for want, part in zip(wanted, parts, strict=True))


def _bool(actual: str, pieces: Sequence[Piece]) -> bool:
    return actual.lower() == _plain(pieces).lower()


@dataclass(frozen=True)
class Operator:
    """A parsed condition operator: ``ForAnyValue:StringNotLikeIfExists`` is ``StringLike``,
    negated, qualifier ``any``, if-exists."""

    name: str
    matcher: Matcher | None  # None for Null
    negated: bool = False
    qualifier: str | None = None  # "any", "all" or None
    if_exists: bool = False


_BASES: Mapping[str, tuple[Matcher | None, bool]] = {
    "stringequals": (_equals, False),
    "stringnotequals": (_equals, True),
    "stringequalsignorecase": (_equals_ignore_case, False),
    "stringnotequalsignorecase": (_equals_ignore_case, True),
    "stringlike": (_like, False),
    "stringnotlike": (_like, True),
    "arnequals": (_arn_like, False),
    "arnlike": (_arn_like, False),
    "arnnotequals": (_arn_like, True),
    "arnnotlike": (_arn_like, True),
    "bool": (_bool, False),
    "null": (None, False),
}
_QUALIFIERS = {"foranyvalue:": "any", "forallvalues:": "all"}


def parse_operator(name: str) -> Operator | None:
    """The operator ``name`` spells, or ``None`` when this module does not evaluate it."""
    rest, qualifier = name, None
    for prefix, kind in _QUALIFIERS.items():
        if rest.lower().startswith(prefix):
            rest, qualifier = rest[len(prefix) :], kind
    if_exists = rest.lower().endswith("ifexists")
    base = rest[: -len("ifexists")] if if_exists else rest
    entry = _BASES.get(base.lower())
    if entry is None:
        return None
    matcher, negated = entry
    if matcher is None and (if_exists or qualifier):
        return None  # Null takes neither a set operator nor IfExists
    return Operator(name, matcher, negated, qualifier, if_exists)


def _policy_values(raw: object) -> list[str] | None:
    """A condition's values as strings (JSON booleans and numbers as IAM reads them)."""
    items = raw if isinstance(raw, list) else [raw]
    values = []
    for item in items:
        if isinstance(item, bool):
            values.append("true" if item else "false")
        elif isinstance(item, str):
            values.append(item)
        elif isinstance(item, int | float):
            values.append(str(item))
        else:
            return None
    return values or None


def _null(operator: Operator, key: str, values: Sequence[str], present: bool) -> Truth:
    results: list[Truth] = []
    for value in values:
        if value.lower() == "true":
            results.append(not present)
        elif value.lower() == "false":
            results.append(present)
        else:
            results.append(Unknown(operator.name, f"{operator.name} on {key} takes true or false"))
    return any_of(results)


def _matches_one(matcher: Matcher, actual: str, values: Sequence[str], context: Context) -> Truth:
    """Whether one request value matches any of the policy's values (before negation)."""
    results: list[Truth] = []
    for value in values:
        pieces = substitute(value, context)
        results.append(pieces if isinstance(pieces, Unknown) else matcher(actual, pieces))
    return any_of(results)


def evaluate_condition(operator: Operator, key: str, raw: object, context: Context) -> Truth:
    """One operator applied to one key with the policy's values."""
    values = _policy_values(raw)
    if values is None:
        return Unknown(operator.name, f"the values of {operator.name} on {key} cannot be read")
    found = context.lookup(key)
    if isinstance(found, Unknown):
        return found
    matcher = operator.matcher
    if matcher is None:
        return _null(operator, key, values, found is not None)
    if found is None:
        if operator.if_exists or operator.qualifier == "all":
            return True
        if operator.qualifier == "any":
            return False
        return operator.negated
    each = [_matches_one(matcher, actual, values, context) for actual in found]
    if operator.qualifier is None:
        hit = any_of(each)
        return negation(hit) if operator.negated else hit
    satisfied = [negation(truth) if operator.negated else truth for truth in each]
    return all_of(satisfied) if operator.qualifier == "all" else any_of(satisfied)


def evaluate_conditions(block: object, context: Context) -> Truth:
    """A whole ``Condition`` element (``None`` when the statement has none)."""
    if block is None:
        return True
    if not isinstance(block, dict):
        return Unknown("Condition", "the Condition element is not a JSON object")
    results: list[Truth] = []
    for name, entries in block.items():
        if not isinstance(entries, dict):
            results.append(Unknown(str(name), f"the condition {name} is not a JSON object"))
            continue
        operator = parse_operator(str(name))
        for key, raw in entries.items():
            if operator is None:
                why = f"the condition {name} on {key} is not one the scanner evaluates"
                results.append(Unknown(f"{name} {key}", why))
            else:
                results.append(evaluate_condition(operator, str(key), raw, context))
    return all_of(results)
