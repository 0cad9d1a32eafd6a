"""The monitoring rules as data: what each rule watches, which patterns satisfy it, per profile.

Everything about a rule lives in one data file, ``rules.toml``, shipped in this package; the
loader validates it and derives the rest (the intended readings that pin a service's
``eventSource``, and which references each profile accepts, preferred first). ``judge`` answers
the one question the CLI and the evaluator both ask: does this filter pattern satisfy this rule
under this profile, and if not, how close does it come?

Pure: the only I/O is reading the data file, once per process.
"""

from __future__ import annotations

from scanner.catalog._load import build_catalog, load_catalog
from scanner.catalog._types import (
    SEVERITIES,
    Catalog,
    Profile,
    Reference,
    RemediationNames,
    RoutineEvent,
    Rule,
    Severity,
    identifier_label,
)
from scanner.catalog.judge import Verdict, judge, routine_match
from scanner.errors import CatalogError, UnknownNameError

__all__ = [
    "SEVERITIES",
    "Catalog",
    "CatalogError",
    "Profile",
    "Reference",
    "RemediationNames",
    "RoutineEvent",
    "Rule",
    "Severity",
    "UnknownNameError",
    "Verdict",
    "build_catalog",
    "identifier_label",
    "judge",
    "load_catalog",
    "routine_match",
]
