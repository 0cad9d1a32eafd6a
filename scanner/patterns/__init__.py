"""The CloudWatch Logs filter-pattern language: parse, print, match an event, decide coverage.

Pure: no I/O. ``parse`` and ``covers`` are memoised, because an organization's accounts mostly
carry the same patterns (deployed by one StackSet) and the evaluator asks the same questions
thousands of times.
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
from scanner.patterns.coverage import Coverage, Gap, covers, overlaps
from scanner.patterns.match import atoms, matches
from scanner.patterns.parser import parse
from scanner.patterns.render import render

__all__ = [
    "Comparison",
    "Coverage",
    "Gap",
    "JsonPattern",
    "Op",
    "Pattern",
    "PatternSyntaxError",
    "atoms",
    "covers",
    "matches",
    "overlaps",
    "parse",
    "pin",
    "render",
    "selector_paths",
]
