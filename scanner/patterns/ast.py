"""The syntax tree of CloudWatch Logs filter patterns.

Every node is an immutable value, so two patterns that parse to equal trees mean the same
thing and trees can be put in sets and used as cache keys. The tree keeps what matters for
meaning only (no spacing, no redundant parentheses, no quoting style), which is what lets the
printer and the parser round-trip: ``parse(render(p)) == p``.

Three pattern families exist, as in CloudWatch Logs:

* JSON patterns ``{ $.a = "x" && ($.b != 1 || $.c NOT EXISTS) }``: a boolean expression over
  selectors into a JSON log event. CloudTrail events are JSON, so every rule uses these.
* term patterns ``ERROR ?WARN -DEBUG "exact phrase"``: words searched in the raw text.
* space-delimited patterns ``[ip, user, ..., status = 4*, bytes > 1000]``: fields of a
  whitespace-separated line.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal


class Op(enum.Enum):
    """A comparison operator; ``!=`` is exactly the negation of ``=`` for the same value."""

    EQ = "="
    NE = "!="
    LT = "<"
    GT = ">"
    LE = "<="
    GE = ">="


class FieldTestKind(enum.Enum):
    """A test on a field that takes no value."""

    IS_NULL = "IS NULL"
    NOT_EXISTS = "NOT EXISTS"
    IS_TRUE = "IS TRUE"
    IS_FALSE = "IS FALSE"


@dataclass(frozen=True, slots=True)
class Selector:
    """A path into a JSON event: keys (``str``) and array indexes (``int``)."""

    parts: tuple[str | int, ...]

    def text(self) -> str:
        out = "$"
        for part in self.parts:
            out += f"[{part}]" if isinstance(part, int) else f".{part}"
        return out

    def dotted(self) -> str:
        """The path as people write it in prose: ``additionalEventData.MFAUsed``."""
        text = self.text()
        return text[2:] if text.startswith("$.") else text  # ``$[0]`` has no prose form

    @classmethod
    def of(cls, dotted: str) -> Selector:
        """``Selector.of("userIdentity.type")``: a convenience for keys without indexes."""
        return cls(tuple(dotted.split(".")))


@dataclass(frozen=True, slots=True)
class StringValue:
    """A string operand; every ``*`` is a wildcard for any run of characters (possibly none)."""

    text: str

    @property
    def has_wildcard(self) -> bool:
        return "*" in self.text


@dataclass(frozen=True, slots=True)
class NumberValue:
    """A numeric operand, compared with numeric JSON values only."""

    value: Decimal


@dataclass(frozen=True, slots=True)
class RegexValue:
    """A ``%regex%`` operand; it matches when the regex finds a match in a string value."""

    source: str


Value = StringValue | NumberValue | RegexValue


@dataclass(frozen=True, slots=True)
class Comparison:
    selector: Selector
    op: Op
    value: Value


@dataclass(frozen=True, slots=True)
class FieldTest:
    selector: Selector
    kind: FieldTestKind


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]


Atom = Comparison | FieldTest
Expr = Comparison | FieldTest | And | Or


@dataclass(frozen=True, slots=True)
class JsonPattern:
    """``{ expr }``; ``notes`` carries what a reader should know (e.g. mixed ``&&``/``||``)."""

    expr: Expr
    notes: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonPattern) and other.expr == self.expr

    def __hash__(self) -> int:
        return hash(self.expr)


@dataclass(frozen=True, slots=True)
class Term:
    """One term: a word or a quoted phrase, or a regex; ``mode`` is ``""``, ``"?"`` or ``"-"``."""

    text: str
    mode: str = ""
    regex: bool = False


@dataclass(frozen=True, slots=True)
class TermPattern:
    """Terms searched in the raw text; the empty pattern matches every event.

    ``notes`` (not part of equality) carries what a reader should know, as for JSON patterns.
    """

    terms: tuple[Term, ...]
    notes: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class FieldCondition:
    op: Op
    value: Value


@dataclass(frozen=True, slots=True)
class DelimitedField:
    """One field of a space-delimited pattern; ``name == "..."`` is the ellipsis.

    ``conditions`` is in disjunctive normal form: any inner tuple whose conditions all hold.
    """

    name: str
    conditions: tuple[tuple[FieldCondition, ...], ...] = ()

    @property
    def is_ellipsis(self) -> bool:
        return self.name == "..."


@dataclass(frozen=True, slots=True)
class SpaceDelimitedPattern:
    fields: tuple[DelimitedField, ...]
    notes: tuple[str, ...] = field(default=(), compare=False)


Pattern = JsonPattern | TermPattern | SpaceDelimitedPattern
