"""The CloudWatch Logs filter-pattern language: parse, print, match an event, decide coverage.

Pure: no I/O. ``parse`` and ``covers`` are memoised, because an organization's accounts mostly
carry the same patterns (deployed by one StackSet) and the evaluator asks the same questions
thousands of times.

Bounded: every entry point finishes in bounded time and memory for any text. ``parse`` refuses
what cannot be read safely (see :mod:`scanner.patterns.parser` for the limits and its
``origin`` keyword: ``"aws"`` by default, ``"user"`` for typed text, which also enforces
CloudWatch's 1,024-character limit); matching is linear (no backtracking regexes); coverage
answers "undecided" with the reason when a comparison would exceed its work budget.
"""

from __future__ import annotations

from scanner.errors import PatternSyntaxError
from scanner.patterns.ast import (
    Comparison,
    JsonPattern,
    Op,
    Pattern,
)
from scanner.patterns.compose import pin, selector_paths
from scanner.patterns.coverage import Coverage, Gap, covers, covers_any, overlaps
from scanner.patterns.match import atoms, matches
from scanner.patterns.parser import MAX_PATTERN_LENGTH, Origin, parse, parse_selector
from scanner.patterns.render import render

__all__ = [
    "MAX_PATTERN_LENGTH",
    "Comparison",
    "Coverage",
    "Gap",
    "JsonPattern",
    "Op",
    "Origin",
    "Pattern",
    "PatternSyntaxError",
    "atoms",
    "covers",
    "covers_any",
    "matches",
    "overlaps",
    "parse",
    "parse_selector",
    "pin",
    "render",
    "selector_paths",
]
