"""The findings API's JSON texts: the verdicts, chains and fixes of one scan encoded once, each
finding's own few fields at page time (:mod:`scanner.report.compact`).

Each :class:`~scanner.daemon.metrics.Picture` (one scan's findings) owns one :class:`Encoded`,
filled by the HTTP render thread only, as pages ask: the next scan's picture starts afresh, so
nothing is served stale. What it keeps grows with the distinct verdicts, chains and fixes, not
with the findings: a text per finding was ~25 MB per 1,000 accounts once a client had walked
the API, gigabytes at 10,000. A finding's own fields (account, rule, status, its verdict's id,
suppression) are a few dozen bytes, encoded when a page asks for it (a page holds at most 1,000);
its verdict is found again by :class:`~scanner.report.compact.Tables` (dictionary look-ups).
``?detail=full`` splices the same texts: the finding's own fields, its verdict's other fields
(kept per verdict), its chain's and its fix's, in :meth:`Finding.to_json`'s order.

One small ``json.dumps`` per finding, verdict, chain or fix: the C encoder holds the GIL for a
whole call, and one call for a page of megabytes would stall the event loop's thread for as long.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from scanner.model import Finding
from scanner.report.compact import FIELDS, OWN, Tables

_SELECTIONS = 8  # distinct filters whose selections a picture keeps (1.4 MB each at 10,000)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _segments() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The full shape's fields in order, grouped: ("own", (name,)), ("chain", ...),
    ("remediation", ...), or ("verdict", names) for a run of the verdict's other fields."""
    segments: list[tuple[str, list[str]]] = []
    for name in FIELDS:
        kind = "own" if name in OWN else name if name in ("chain", "remediation") else "verdict"
        if kind == "verdict" and segments and segments[-1][0] == "verdict":
            segments[-1][1].append(name)
        else:
            segments.append((kind, [name]))
    return tuple((kind, tuple(names)) for kind, names in segments)


_SEGMENTS: Final = _segments()
_KEYS: Final = {name: _dumps(name) + ":" for name in FIELDS}


@dataclass(frozen=True, slots=True)
class CompactText:
    """A finding's compact JSON (its own fields) and the id of the verdict it names."""

    text: str
    verdict: str


@dataclass
class Encoded:
    verdicts: dict[str, str] = field(default_factory=dict)  # id -> the verdict's JSON
    chains: dict[str, str] = field(default_factory=dict)  # id -> the links' JSON
    fixes: dict[str, str] = field(default_factory=dict)  # id -> the fix's JSON
    # verdict id -> its runs of fields between a finding's own ones, chain and fix (detail=full)
    runs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tables: Tables = field(default_factory=Tables)
    # A query's filters -> the findings they select, in (account_id, rule) order: a walk of the
    # API pages through one list by bisection instead of testing every finding after the
    # cursor for each page (a walk of 180,000 findings cost ~58 CPU-s, quadratic in them).
    selections: dict[Hashable, list[Finding]] = field(default_factory=dict)

    def selection(self, filters: Hashable, select: Callable[[], list[Finding]]) -> list[Finding]:
        """The findings ``filters`` select, computed by ``select`` the first time (a few kept)."""
        found = self.selections.get(filters)
        if found is None:
            if len(self.selections) >= _SELECTIONS:
                del self.selections[next(iter(self.selections))]
            found = self.selections[filters] = select()
        return found

    def _named(self, finding: Finding) -> dict[str, Any]:
        """The finding's own fields and its verdict's id; the verdict, chain and fix texts are
        encoded the first time one is named."""
        data = self.tables.compact(finding).finding
        ident: str = data["verdict"]
        if ident not in self.verdicts:
            entry = self.tables.verdicts[ident]
            self.verdicts[ident] = _dumps(entry)
            chain, fix = entry["chain"], entry["remediation"]
            if chain is not None and chain not in self.chains:
                self.chains[chain] = _dumps(self.tables.chains[chain])
            if fix is not None and fix not in self.fixes:
                self.fixes[fix] = _dumps(self.tables.fixes[fix])
        return data

    def compact_text(self, finding: Finding) -> CompactText:
        """The finding naming its verdict by id."""
        data = self._named(finding)
        return CompactText(_dumps(data), data["verdict"])

    def tables_text(self, verdicts: Iterable[str]) -> str:
        """``"verdicts":{...},"chains":{...},"fixes":{...}``: the given verdicts (each once, in
        the order given) and the chains and fixes they name."""
        named = dict.fromkeys(verdicts)
        entries = [self.tables.verdicts[ident] for ident in named]
        chains = dict.fromkeys(e["chain"] for e in entries if e["chain"] is not None)
        fixes = dict.fromkeys(e["remediation"] for e in entries if e["remediation"] is not None)
        return ",".join(
            f'"{name}":{{' + ",".join(f'"{i}":{texts[i]}' for i in ids) + "}"
            for name, ids, texts in (
                ("verdicts", named, self.verdicts),
                ("chains", chains, self.chains),
                ("fixes", fixes, self.fixes),
            )
        )

    def full_text(self, finding: Finding) -> str:
        """The finding with everything inline (``?detail=full``): :meth:`Finding.to_json`."""
        own = self._named(finding)
        ident = own["verdict"]
        entry = self.tables.verdicts[ident]
        runs = self.runs.get(ident)
        if runs is None:
            runs = self.runs[ident] = tuple(
                _dumps({name: entry[name] for name in names})[1:-1]
                for kind, names in _SEGMENTS
                if kind == "verdict"
            )
        parts: list[str] = []
        run = iter(runs)
        for kind, names in _SEGMENTS:
            if kind == "verdict":
                parts.append(next(run))
            elif kind == "own":
                parts.append(_KEYS[names[0]] + _dumps(own[names[0]]))
            elif kind == "chain":
                chain = entry["chain"]
                parts.append(_KEYS[kind] + (self.chains[chain] if chain is not None else "[]"))
            else:
                fix = entry["remediation"]
                parts.append(_KEYS[kind] + (self.fixes[fix] if fix is not None else "{}"))
        return "{" + ",".join(parts) + "}"


__all__ = ["CompactText", "Encoded"]
