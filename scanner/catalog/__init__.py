"""The monitoring rules as data: what each rule watches, which patterns satisfy it, per profile.

Everything about a rule lives in one data file, ``rules.toml``, shipped in this package; the
loader validates it and derives the rest (the intended readings that pin a service's
``eventSource``, and which references each profile accepts, preferred first). ``changes.toml``
lists the CloudTrail events that can change a link of the chain (``changes``), and with them
the EventBridge pattern that forwards those events to the daemon. ``judge`` answers
the one question the CLI and the evaluator both ask: does this filter pattern satisfy this rule
under this profile, and if not, how close does it come?

Pure: the only I/O is reading the data file, once per process.
"""

from __future__ import annotations

from scanner.catalog._changes_load import build_changes, load_changes
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
from scanner.catalog.changes import (
    API_CALL,
    SERVICE_EVENT,
    ChangeCatalog,
    ChangeEvent,
    Read,
    Scope,
    event_pattern,
)
from scanner.catalog.judge import Verdict, judge, routine_match
from scanner.errors import CatalogError, UnknownNameError

__all__ = [
    "API_CALL",
    "SERVICE_EVENT",
    "SEVERITIES",
    "Catalog",
    "CatalogError",
    "ChangeCatalog",
    "ChangeEvent",
    "Profile",
    "Read",
    "Reference",
    "RemediationNames",
    "RoutineEvent",
    "Rule",
    "Scope",
    "Severity",
    "UnknownNameError",
    "Verdict",
    "build_catalog",
    "build_changes",
    "event_pattern",
    "identifier_label",
    "judge",
    "load_catalog",
    "load_changes",
    "routine_match",
]
