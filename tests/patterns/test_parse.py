"""Parsing and printing filter patterns: what users paste must be read, or rejected precisely."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from scanner.patterns import PatternSyntaxError, parse, render
from scanner.patterns.ast import (
    And,
    Comparison,
    FieldTest,
    FieldTestKind,
    JsonPattern,
    NumberValue,
    Op,
    Or,
    RegexValue,
    Selector,
    SpaceDelimitedPattern,
    StringValue,
    TermPattern,
)

CONTROLS = Path(__file__).resolve().parents[1] / "catalog" / "reference" / "controls.json"


def published_texts() -> list[tuple[str, str]]:
    data = json.loads(CONTROLS.read_text())
    return [
        (f"{c['id']}:{key}", text) for c in data["controls"] for key, text in c["patterns"].items()
    ]


@pytest.mark.parametrize(("name", "text"), published_texts())
def test_every_published_variant_parses_and_round_trips(name: str, text: str) -> None:
    pattern = parse(text)
    assert isinstance(pattern, JsonPattern), name
    assert parse(render(pattern)) == pattern


def test_selectors_with_nesting_and_indexes() -> None:
    pattern = parse('{ $.a.b[1].c = "x" && $.arr[0] = 2 }')
    assert isinstance(pattern, JsonPattern)
    assert pattern.expr == And(
        (
            Comparison(Selector(("a", "b", 1, "c")), Op.EQ, StringValue("x")),
            Comparison(Selector(("arr", 0)), Op.EQ, NumberValue(Decimal(2))),
        )
    )


def test_values_quoted_unquoted_numbers_regex_and_tests() -> None:
    pattern = parse(
        '{ $.a = kms.amazonaws.com || $.b != "with \\"quote\\"" || $.c >= -1.5 '
        "|| $.d = %Acc.*ied% || $.e IS NULL || $.f NOT EXISTS || $.g IS TRUE || $.h IS FALSE }"
    )
    assert isinstance(pattern, JsonPattern)
    assert pattern.expr == Or(
        (
            Comparison(Selector(("a",)), Op.EQ, StringValue("kms.amazonaws.com")),
            Comparison(Selector(("b",)), Op.NE, StringValue('with "quote"')),
            Comparison(Selector(("c",)), Op.GE, NumberValue(Decimal("-1.5"))),
            Comparison(Selector(("d",)), Op.EQ, RegexValue("Acc.*ied")),
            FieldTest(Selector(("e",)), FieldTestKind.IS_NULL),
            FieldTest(Selector(("f",)), FieldTestKind.NOT_EXISTS),
            FieldTest(Selector(("g",)), FieldTestKind.IS_TRUE),
            FieldTest(Selector(("h",)), FieldTestKind.IS_FALSE),
        )
    )


def test_spacing_newlines_quoting_and_redundant_parentheses_do_not_change_the_tree() -> None:
    compact = parse("{($.eventName=CreateTrail)||($.eventName=DeleteTrail)}")
    spaced = parse('{\n  ((( $.eventName = "CreateTrail" )))\n  ||\n  $.eventName="DeleteTrail"\n}')
    assert compact == spaced


def test_and_binds_tighter_than_or_and_the_mix_is_noted() -> None:
    pattern = parse("{ $.a = 1 || $.b = 2 && $.c = 3 }")
    assert isinstance(pattern, JsonPattern)
    assert isinstance(pattern.expr, Or)
    assert isinstance(pattern.expr.items[1], And)
    assert len(pattern.notes) == 1
    assert "binds tighter" in pattern.notes[0]
    assert parse("{ $.a = 1 || ($.b = 2 && $.c = 3) }").notes == ()


def test_parentheses_at_any_depth() -> None:
    deep = parse("{ ((((($.a = 1) && (($.b = 2) || ($.c = 3)))))) }")
    assert render(deep) == "{ ($.a = 1) && (($.b = 2) || ($.c = 3)) }"


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("{ $.eventName = }", 16, "a value after '='"),
        ("{ $.eventName = A ", 18, "'&&', '||' or '}'"),
        ("{ ($.a = 1 }", 11, "'&&', '||' or ')'"),
        ("{ $.a ~ 1 }", 6, "an operator"),
        ("{ $.a IS MAYBE }", 9, "an operator"),
        ("{ eventName = A }", 2, "a selector"),
        ('{ $.a = "open }', 8, "'\"'"),
        ("{ $.a < abc }", 8, "a number"),
        ("{ $.a = 'x' }", 8, "a value"),
        ("{ $.a = 1 } trailing", 12, "the end of the pattern"),
        ("{ $.a[x] = 1 }", 6, "an array index"),
        ("{ }", 2, "a condition"),
        ("{ $.a = %[% }", 9, "a regular expression"),
    ],
)
def test_errors_say_where_and_what_was_expected(text: str, position: int, expected: str) -> None:
    with pytest.raises(PatternSyntaxError) as info:
        parse(text)
    assert info.value.position == position, str(info.value)
    assert expected in info.value.expected
    assert str(info.value).startswith(f"at position {position}: ")
    assert "\n" not in str(info.value)


def test_single_quotes_get_a_helpful_message() -> None:
    with pytest.raises(PatternSyntaxError, match="use double quotes"):
        parse("{ ($.errorCode = '*UnauthorizedOperation') }")


def test_term_patterns() -> None:
    pattern = parse('ERROR ?WARN -DEBUG "exact phrase" %time.?out%')
    assert isinstance(pattern, TermPattern)
    assert [(t.text, t.mode, t.regex) for t in pattern.terms] == [
        ("ERROR", "", False),
        ("WARN", "?", False),
        ("DEBUG", "-", False),
        ("exact phrase", "", False),
        ("time.?out", "", True),
    ]
    assert parse(render(pattern)) == pattern
    assert parse("") == TermPattern(())


def test_space_delimited_patterns() -> None:
    pattern = parse("[ip, user, ..., status = 404 || status = 410, bytes > 1000 && bytes < 5000]")
    assert isinstance(pattern, SpaceDelimitedPattern)
    assert [f.name for f in pattern.fields] == ["ip", "user", "...", "status", "bytes"]
    assert len(pattern.fields[3].conditions) == 2
    assert len(pattern.fields[4].conditions[0]) == 2
    assert parse(render(pattern)) == pattern
    with pytest.raises(PatternSyntaxError, match="same field"):
        parse("[a = 1 || b = 2]")
