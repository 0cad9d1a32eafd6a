"""Parse CloudWatch Logs filter patterns into the trees of :mod:`scanner.patterns.ast`.

The parser is hand-written so that every error says where it happened and what was expected
there: people paste these patterns from PDFs and shell transcripts, and "invalid pattern" helps
nobody. Grammar of JSON patterns (``&&`` binds tighter than ``||``, as in CloudWatch)::

    pattern    := "{" or "}"
    or         := and ("||" and)*
    and        := primary ("&&" primary)*
    primary    := "(" or ")" | selector test
    test       := op value | "IS" ("NULL" | "TRUE" | "FALSE") | "NOT" "EXISTS"
    selector   := "$" ("." key | "[" digits "]")+
    value      := "quoted \\"string\\"" | %regex% | number | unquoted-token

A pattern that does not start with ``{`` is a space-delimited pattern when it starts with ``[``
and a term pattern otherwise. Nested ``&&``/``||`` groups are flattened (``a && (b && c)`` is
``a && b && c``), which keeps meaning and makes ``parse(render(p)) == p`` hold.

Limits. Every pattern is read in bounded time and space, whatever its text, because patterns
come from accounts we do not control. ``parse(text, origin=...)`` says who wrote the text:

* ``origin="aws"`` (the default: what ``DescribeMetricFilters`` returned, the catalog's
  references): a pattern longer than CloudWatch Logs' limit of :data:`MAX_PATTERN_LENGTH`
  characters is read, with a note saying so (AWS stored it, so we judge it), up to a hard
  ceiling of :data:`MAX_READ_LENGTH` characters, past which it is refused.
* ``origin="user"`` (typed on the command line, a remediation being drafted): a pattern that
  CloudWatch Logs would refuse is refused: longer than :data:`MAX_PATTERN_LENGTH` characters,
  or more than :data:`MAX_REGEXES` regular expressions in a JSON or space-delimited pattern.

Whatever the origin: parentheses nest at most :data:`MAX_NESTING` deep, array indexes are at
most :data:`MAX_ARRAY_INDEX` (AWS documents no limit; no CloudTrail array is near it, and
coverage builds example events with arrays that long), numbers have a decimal exponent within
±:data:`MAX_EXPONENT`, and ``%regex%`` values must be in CloudWatch's regex dialect
(:mod:`scanner.patterns.regex`). Each is a :class:`PatternSyntaxError` naming the limit.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from scanner.errors import PatternSyntaxError
from scanner.patterns.ast import (
    And,
    Comparison,
    DelimitedField,
    Expr,
    FieldCondition,
    FieldTest,
    FieldTestKind,
    JsonPattern,
    NumberValue,
    Op,
    Or,
    Pattern,
    RegexValue,
    Selector,
    SpaceDelimitedPattern,
    StringValue,
    Term,
    TermPattern,
    Value,
)
from scanner.patterns.regex import RegexError, compile_regex

Origin = Literal["aws", "user"]

MAX_PATTERN_LENGTH = 1_024
MAX_READ_LENGTH = 8 * MAX_PATTERN_LENGTH
MAX_NESTING = 64
MAX_ARRAY_INDEX = 9_999
MAX_EXPONENT = 1_000
MAX_REGEXES = 2

_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?\Z")
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")
# Characters that end an unquoted value or a selector key.
_VALUE_STOP = set(" \t\r\n(){}&|\"'")
_KEY_STOP = set(" \t\r\n(){}&|\"'.[]=!<>%,")


def _describe(text: str, pos: int) -> str:
    if pos >= len(text):
        return "the end of the pattern"
    snippet = text[pos : pos + 12].split("\n", maxsplit=1)[0]
    return repr(snippet)


class _Reader:
    """A cursor over the text with the small helpers every family's parser needs."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, token: str) -> bool:
        self.skip_space()
        return self.text.startswith(token, self.pos)

    def at_end(self) -> bool:
        self.skip_space()
        return self.pos >= len(self.text)

    def fail(self, expected: str, pos: int | None = None) -> PatternSyntaxError:
        at = self.pos if pos is None else pos
        return PatternSyntaxError(
            f"expected {expected}, found {_describe(self.text, at)}", at, expected
        )

    def expect(self, token: str, expected: str | None = None) -> None:
        if not self.peek(token):
            raise self.fail(expected or repr(token))
        self.pos += len(token)

    def quoted(self) -> str:
        """Read a double-quoted string; ``\\"`` and ``\\\\`` are escapes."""
        start = self.pos
        assert self.text[self.pos] == '"'
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if ch == '"':
                self.pos += 1
                return "".join(out)
            out.append(ch)
            self.pos += 1
        raise PatternSyntaxError(
            "expected a closing '\"' for the string that starts here", start, "'\"'"
        )

    def regex(self) -> str:
        start = self.pos
        end = self.text.find("%", self.pos + 1)
        if end < 0:
            raise PatternSyntaxError(
                "expected a closing '%' for the regular expression that starts here", start, "'%'"
            )
        source = self.text[self.pos + 1 : end]
        try:
            compile_regex(source)
        except RegexError as err:
            shown = source if len(source) <= 40 else source[:37] + "..."
            raise PatternSyntaxError(
                f"invalid regular expression {shown!r}: {err}",
                start + 1 + err.offset,
                "a regular expression",
            ) from None
        self.pos = end + 1
        return source

    def word(self, stop: set[str]) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in stop:
            self.pos += 1
        return self.text[start : self.pos]


# ---------------------------------------------------------------------------------- JSON


def _value(reader: _Reader, op: Op, stop: set[str] = _VALUE_STOP) -> Value:
    reader.skip_space()
    start = reader.pos
    text = reader.text
    if start >= len(text):
        raise reader.fail(f"a value after '{op.value}'")
    ch = text[start]
    if ch == "'":
        raise PatternSyntaxError(
            "single quotes do not delimit strings in filter patterns; use double quotes",
            start,
            "a value",
        )
    if ch == '"':
        value: Value = StringValue(reader.quoted())
    elif ch == "%":
        value = RegexValue(reader.regex())
    else:
        word = reader.word(stop)
        if not word:
            raise reader.fail(f"a value after '{op.value}'")
        number = _NUMBER.match(word)
        value = NumberValue(_number(word, number, start)) if number else StringValue(word)
    if op not in (Op.EQ, Op.NE) and not isinstance(value, NumberValue):
        raise PatternSyntaxError(
            f"'{op.value}' compares numbers; the value here is not a number", start, "a number"
        )
    return value


def _number(word: str, number: re.Match[str], start: int) -> Decimal:
    exponent = number.group(1) or "0"
    value = None if len(exponent.lstrip("+-")) > 6 else Decimal(word)
    if value is None or (value and abs(value.adjusted()) > MAX_EXPONENT):
        raise PatternSyntaxError(
            f"number {word[:20]}{'...' if len(word) > 20 else ''} is out of range: numbers are "
            f"limited to magnitudes between 1e-{MAX_EXPONENT} and 1e{MAX_EXPONENT}",
            start,
            "a number within range",
        )
    return value


def _selector(reader: _Reader) -> Selector:
    reader.skip_space()
    start = reader.pos
    text = reader.text
    if not text.startswith("$", start):
        raise reader.fail("a selector such as $.eventName, or '('")
    reader.pos += 1
    parts: list[str | int] = []
    while reader.pos < len(text) and text[reader.pos] in ".[":
        if text[reader.pos] == ".":
            reader.pos += 1
            key = reader.word(_KEY_STOP)
            if not key:
                raise reader.fail("a field name after '.'")
            parts.append(key)
        else:
            reader.pos += 1
            start_digits = reader.pos
            while reader.pos < len(text) and text[reader.pos] in "0123456789":
                reader.pos += 1
            digits = text[start_digits : reader.pos]
            if not digits:
                raise reader.fail("an array index (digits) after '['")
            if len(digits) > len(str(MAX_ARRAY_INDEX)) or int(digits) > MAX_ARRAY_INDEX:
                shown = digits if len(digits) <= 20 else digits[:20] + "..."
                raise PatternSyntaxError(
                    f"array index {shown} is beyond the limit of {MAX_ARRAY_INDEX}",
                    start_digits,
                    f"an array index from 0 to {MAX_ARRAY_INDEX}",
                )
            reader.expect("]", "']' after the array index")
            parts.append(int(digits))
    if not parts:
        raise reader.fail("'.' and a field name after '$'")
    return Selector(tuple(parts))


def _test(reader: _Reader, selector: Selector) -> Expr:
    reader.skip_space()
    for symbol in _OPERATORS:
        if reader.text.startswith(symbol, reader.pos):
            reader.pos += len(symbol)
            op = Op(symbol)
            return Comparison(selector, op, _value(reader, op))
    start = reader.pos
    first = reader.word(_VALUE_STOP)
    reader.skip_space()
    second_start = reader.pos
    second = reader.word(_VALUE_STOP)
    words = f"{first} {second}"
    for kind in FieldTestKind:
        if words == kind.value:
            return FieldTest(selector, kind)
    expected = "an operator (=, !=, <, >, <=, >=) or IS NULL, IS TRUE, IS FALSE, NOT EXISTS"
    if first in ("IS", "NOT"):
        raise reader.fail(expected, second_start)
    raise reader.fail(expected, start)


class _JsonParser:
    def __init__(self, text: str) -> None:
        self.reader = _Reader(text)
        self.notes: list[str] = []
        self.depth = 0

    def parse(self) -> JsonPattern:
        r = self.reader
        r.expect("{", "'{'")
        if r.peek("}"):
            raise r.fail('a condition such as $.eventName = "ConsoleLogin"')
        expr = self.or_()
        r.expect("}", "'&&', '||' or '}'")
        if not r.at_end():
            raise r.fail("the end of the pattern after '}'")
        return JsonPattern(expr, tuple(self.notes))

    def or_(self) -> Expr:
        start = self.reader.pos
        groups = [self.and_()]
        while self.reader.peek("||"):
            self.reader.pos += 2
            groups.append(self.and_())
        if len(groups) == 1:
            return groups[0][0]
        if any(bare for _, bare in groups):
            from scanner.patterns.render import render_expr

            shown = " || ".join(
                f"({render_expr(expr, top=True)})" if bare else render_expr(expr)
                for expr, bare in groups
            )
            self.notes.append(
                f"'&&' binds tighter than '||': the conditions from position {start} read as "
                f"{shown}; add parentheses if another grouping was meant"
            )
        return _flatten(Or, [expr for expr, _ in groups])

    def and_(self) -> tuple[Expr, bool]:
        """One ``&&`` chain, and whether it has two or more items without its own parentheses."""
        items = [self.primary()]
        while self.reader.peek("&&"):
            self.reader.pos += 2
            items.append(self.primary())
        if len(items) == 1:
            return items[0], False
        return _flatten(And, items), True

    def primary(self) -> Expr:
        r = self.reader
        if r.peek("("):
            if self.depth >= MAX_NESTING:
                raise PatternSyntaxError(
                    f"parentheses nest deeper than {MAX_NESTING} levels",
                    r.pos,
                    f"at most {MAX_NESTING} levels of '('",
                )
            r.pos += 1
            self.depth += 1
            inner = self.or_()
            self.depth -= 1
            r.expect(")", "'&&', '||' or ')'")
            return inner
        return _test(r, _selector(r))


def _flatten(kind: type[And] | type[Or], items: list[Expr]) -> Expr:
    flat: list[Expr] = []
    for item in items:
        if isinstance(item, kind):
            flat.extend(item.items)
        else:
            flat.append(item)
    return kind(tuple(flat))


# ---------------------------------------------------------------------------------- terms


def _parse_terms(text: str) -> TermPattern:
    r = _Reader(text)
    terms: list[Term] = []
    while not r.at_end():
        mode = ""
        if r.text[r.pos] in "?-" and r.pos + 1 < len(r.text) and not r.text[r.pos + 1].isspace():
            mode = r.text[r.pos]
            r.pos += 1
        ch = r.text[r.pos]
        if ch == '"':
            terms.append(Term(r.quoted(), mode))
        elif ch == "%":
            terms.append(Term(r.regex(), mode, regex=True))
        else:
            start = r.pos
            word = r.word(set(' \t\r\n"'))
            if not word:  # pragma: no cover - a lone quote is handled above
                raise r.fail("a term", start)
            terms.append(Term(word, mode))
    return TermPattern(tuple(terms))


# ------------------------------------------------------------------------ space-delimited


def _parse_delimited(text: str) -> SpaceDelimitedPattern:
    r = _Reader(text)
    r.expect("[", "'['")
    fields: list[DelimitedField] = []
    names: set[str] = set()
    while True:
        r.skip_space()
        if r.peek("..."):
            r.pos += 3
            fields.append(DelimitedField("..."))
        else:
            start = r.pos
            name = r.word(_KEY_STOP | set("]"))
            if not name:
                raise r.fail("a field name or '...'")
            if name in names:
                raise PatternSyntaxError(f"field name {name!r} is used twice", start, "a new name")
            names.add(name)
            fields.append(DelimitedField(name, _field_conditions(r, name)))
        r.skip_space()
        if r.peek(","):
            r.pos += 1
            continue
        r.expect("]", "',' or ']'")
        break
    if not r.at_end():
        raise r.fail("the end of the pattern after ']'")
    return SpaceDelimitedPattern(tuple(fields))


def _field_conditions(r: _Reader, name: str) -> tuple[tuple[FieldCondition, ...], ...]:
    """Conditions on one field: ``status = 404 || status = 410``, ``bytes > 1 && bytes < 9``."""
    groups: list[tuple[FieldCondition, ...]] = []
    current: list[FieldCondition] = []
    first = True
    while True:
        r.skip_space()
        if not first:
            start = r.pos
            again = r.word(_KEY_STOP | set("]"))
            if again != name:
                raise PatternSyntaxError(
                    f"a condition after '&&' or '||' must name the same field {name!r}",
                    start,
                    repr(name),
                )
            r.skip_space()
        op = next((Op(s) for s in _OPERATORS if r.text.startswith(s, r.pos)), None)
        if op is None:
            if first:
                return ()
            raise r.fail("an operator (=, !=, <, >, <=, >=)")
        r.pos += len(op.value)
        current.append(FieldCondition(op, _delimited_value(r, op)))
        first = False
        if r.peek("&&"):
            r.pos += 2
        elif r.peek("||"):
            r.pos += 2
            groups.append(tuple(current))
            current = []
        else:
            groups.append(tuple(current))
            return tuple(groups)


def _delimited_value(r: _Reader, op: Op) -> Value:
    return _value(r, op, _VALUE_STOP | set(",]"))


# ---------------------------------------------------------------------------------- entry


def parse_selector(text: str) -> Selector:
    """A selector as written in patterns (``$.a.b[0]``) or in prose (``a.b[0]``)."""
    reader = _Reader(text if text.lstrip().startswith("$") else "$." + text.lstrip())
    selector = _selector(reader)
    if not reader.at_end():
        raise reader.fail("the end of the selector")
    return selector


@lru_cache(maxsize=4096)
def parse(text: str, *, origin: Origin = "aws") -> Pattern:
    """Parse any filter pattern; raise :class:`PatternSyntaxError` with position and expectation.

    ``origin`` says who wrote ``text`` ("aws": returned by AWS, the default; "user": typed by a
    person), which decides whether CloudWatch's own limits refuse it (see the module docstring).
    """
    length = len(text)
    ceiling = MAX_PATTERN_LENGTH if origin == "user" else MAX_READ_LENGTH
    if length > ceiling:
        raise PatternSyntaxError(
            f"the pattern is {length:,} characters long; CloudWatch Logs accepts at most "
            f"{MAX_PATTERN_LENGTH:,}"
            + ("" if origin == "user" else f" and patterns over {MAX_READ_LENGTH:,} are not read"),
            ceiling,
            f"at most {MAX_PATTERN_LENGTH:,} characters",
        )
    stripped = text.lstrip()
    pattern: Pattern
    if stripped.startswith("{"):
        pattern = _JsonParser(text).parse()
    elif stripped.startswith("["):
        pattern = _parse_delimited(text)
    else:
        pattern = _parse_terms(text)
    if origin == "user" and not isinstance(pattern, TermPattern):
        _check_regex_count(pattern, text)
    if length > MAX_PATTERN_LENGTH:
        note = (
            f"the pattern is {length:,} characters long, over CloudWatch Logs' limit of "
            f"{MAX_PATTERN_LENGTH:,}; it was read as AWS returned it"
        )
        pattern = dataclasses.replace(pattern, notes=(*pattern.notes, note))
    return pattern


def _check_regex_count(pattern: JsonPattern | SpaceDelimitedPattern, text: str) -> None:
    if isinstance(pattern, JsonPattern):
        from scanner.patterns.match import atoms

        values: list[Value] = [a.value for a in atoms(pattern.expr) if isinstance(a, Comparison)]
    else:
        values = [c.value for f in pattern.fields for group in f.conditions for c in group]
    count = sum(isinstance(v, RegexValue) for v in values)
    if count > MAX_REGEXES:
        raise PatternSyntaxError(
            f"the pattern has {count} regular expressions; CloudWatch Logs allows at most "
            f"{MAX_REGEXES} in a JSON or space-delimited pattern",
            text.find("%"),
            f"at most {MAX_REGEXES} regular expressions",
        )
