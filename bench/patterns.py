"""Worst-case time of every pattern entry point on hostile inputs of up to 1,024 characters.

The target (issue 12): parse, render, matches, covers, overlaps and judge each finish within one
second for any input CloudWatch would accept. The tests guard against hangs with a wide margin;
this prints the real figures, one row per entry point, the slowest input named.

    python bench/patterns.py
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable

from scanner.catalog import Rule, judge, load_catalog
from scanner.errors import PatternSyntaxError
from scanner.patterns import covers, covers_any, matches, overlaps, parse, render

LIMIT = 1024
IAM = '{ ($.eventName = "DeleteGroupPolicy") || ($.eventName = "PutUserPolicy") }'


def _fit(text: str) -> str:
    return text[:LIMIT]


def _alternatives(count: int, joiner: str) -> str:
    return "{ " + f" {joiner} ".join(f"($.k{i} = {i})" for i in range(count)) + " }"


def _cnf(n: int) -> str:
    return "{ " + " && ".join(f"($.a{i} = 1 || $.b{i} = 1)" for i in range(n)) + " }"


HOSTILE: dict[str, str] = {
    "64 nested parentheses": "{ " + "(" * 64 + "$.a = 1" + ")" * 64 + " }",
    "wildcards a*a*...": _fit('{ $.a = "' + "a*" * 500) + '" }',
    "star soup": _fit('{ $.a = "' + "*" * 1000) + '" }',
    "regex with repetition": "{ $.a = %(a|aa){0,100}b% }",
    "array index 9999": "{ $.a[9999] = 1 }",
    "32-digit number": "{ $.n = 12345678901234567890123456789012 }",
    "200 alternatives": _fit(_alternatives(200, "||")),
    "200 conjunctions": _fit(_alternatives(200, "&&")),
    "CNF of 28 clauses": _fit(_cnf(28)),
    "space-delimited ellipses": "[" + ", ".join(["..."] * 100) + ", x = zz]",
    "long term": _fit('"' + "ab" * 600),
}


def worst(call: Callable[[str], object]) -> tuple[float, str]:
    slowest = (0.0, "")
    for name, text in HOSTILE.items():
        started = time.perf_counter()
        with contextlib.suppress(PatternSyntaxError):
            call(text)
        slowest = max(slowest, (time.perf_counter() - started, name))
    return slowest


def _judge(rule: Rule, text: str) -> object:
    return judge(rule, "recommended", text)


def main() -> None:
    catalog = load_catalog()
    rules = catalog.rules_in("recommended")
    event = {"eventName": "a" * 1000, "a": "a" * 1000, "n": 1}

    def parsed(text: str) -> object:
        return parse(text, origin="user")

    entries: dict[str, Callable[[str], object]] = {
        "parse": parsed,
        "render": lambda t: render(parse(t)),
        "matches": lambda t: matches(parse(t), event),
        "covers (as candidate)": lambda t: covers(t, IAM),
        "covers (as reference)": lambda t: covers(IAM, t),
        "covers_any": lambda t: covers_any([parse(t), parse(IAM)], parse(IAM)),
        "overlaps": lambda t: overlaps(parse(t), parse(IAM)),
    }
    for rule in rules:
        entries[f"judge {rule.id}"] = functools.partial(_judge, rule)
    print(f"{'entry point':<24}{'worst (s)':>10}  slowest input ({len(HOSTILE)} inputs)")
    judged = (0.0, "", "")
    for name, call in entries.items():
        seconds, which = worst(call)
        if name.startswith("judge "):
            judged = max(judged, (seconds, which, name.removeprefix("judge ")))
            continue
        print(f"{name:<24}{seconds:>10.3f}  {which}")
    print(f"{'judge (worst rule)':<24}{judged[0]:>10.3f}  {judged[1]} ({judged[2]})")


if __name__ == "__main__":
    main()
