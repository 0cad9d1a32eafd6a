"""The findings API's JSON texts: a page's verdicts, chains and fixes encoded for that page,
each finding's own few fields too (:mod:`scanner.report.compact`).

Each :class:`~scanner.daemon.metrics.Picture` (one scan's findings) owns one :class:`Encoded`,
used by the HTTP render thread only: the next scan's picture starts afresh, so nothing is served
stale. What it keeps is the ids of the distinct verdicts, chains and fixes (their hashes are
what is costly to make: :class:`~scanner.report.compact.Tables`, which keeps no entries here)
and, for each id, the finding, links or fix it was made from, which the picture holds anyway.
A page's texts are made for that page (:class:`PageTexts`): a page of 1,000 findings names a
few dozen to a few hundred entries. The last few hundred texts made are kept (:data:`RECENT`),
which serves the entries every page names (an organization trail's verdicts, chains and fixes)
without keeping the rest: a walk of the API makes each distinct text once (14,906 at 10,000
accounts: ~0.7 CPU-s of a walk's ~4.5). Keeping every text after a walk instead held ~81 MiB
at 10,000 accounts (31 MiB of fix texts, copies of what the findings carry, and 20 MiB of
entries as JSON data), which outlived the walk until the next scan and, in the daemon, raised
its size scan after scan by more than the walk itself (``bench/soak.py``, bench/README.md).
``?detail=full`` splices the same texts: the finding's own fields, its verdict's other fields,
its chain's and its fix's, in :meth:`Finding.to_json`'s order.

One small ``json.dumps`` per finding, verdict, chain or fix: the C encoder holds the GIL for a
whole call, and one call for a page of megabytes would stall the event loop's thread for as long.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from scanner.model import Finding, LinkResult, encode
from scanner.report.compact import FIELDS, OWN, Tables, verdict_entry

_SELECTIONS = 8  # distinct filters whose selections a picture keeps (1.4 MB each at 10,000)
RECENT = 256  # texts kept across pages, the least recently used dropped first (<1 MB)


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


@dataclass(frozen=True, slots=True)
class Source:
    """What a verdict's text is made from: the first finding naming it, its chain's and fix's
    ids."""

    finding: Finding
    chain: str | None
    fix: str | None


@dataclass
class Encoded:
    tables: Tables = field(default_factory=lambda: Tables(keep=False))
    verdicts: dict[str, Source] = field(default_factory=dict)  # id -> what it is made from
    chains: dict[str, tuple[LinkResult, ...]] = field(default_factory=dict)  # id -> the links
    fixes: dict[str, Mapping[str, str]] = field(default_factory=dict)  # id -> format -> text
    # A query's filters -> the findings they select, in (account_id, rule) order: a walk of the
    # API pages through one list by bisection instead of testing every finding after the
    # cursor for each page (a walk of 180,000 findings cost ~58 CPU-s, quadratic in them).
    selections: dict[Hashable, list[Finding]] = field(default_factory=dict)
    # (table, id) -> its JSON: the texts made last, for the pages that follow (:data:`RECENT`).
    recent: OrderedDict[tuple[str, str], str] = field(default_factory=OrderedDict)

    def selection(self, filters: Hashable, select: Callable[[], list[Finding]]) -> list[Finding]:
        """The findings ``filters`` select, computed by ``select`` the first time (a few kept)."""
        found = self.selections.get(filters)
        if found is None:
            if len(self.selections) >= _SELECTIONS:
                del self.selections[next(iter(self.selections))]
            found = self.selections[filters] = select()
        return found

    def named(self, finding: Finding) -> dict[str, Any]:
        """The finding's own fields and its verdict's id; what a verdict, chain or fix named for
        the first time is made from is noted."""
        compacted = self.tables.compact(finding)
        if compacted.new_chain is not None:
            self.chains[compacted.new_chain] = finding.chain
        if compacted.new_fix is not None:
            self.fixes[compacted.new_fix] = finding.remediation
        if compacted.new_verdict is not None:
            self.verdicts[compacted.new_verdict] = Source(finding, compacted.chain, compacted.fix)
        return compacted.finding

    def remembered(self, key: tuple[str, str], make: Callable[[], str]) -> str:
        """The text of ``key`` (table, id), made by ``make`` unless it was made lately."""
        text = self.recent.get(key)
        if text is not None:
            self.recent.move_to_end(key)
            return text
        text = self.recent[key] = make()
        if len(self.recent) > RECENT:
            self.recent.popitem(last=False)
        return text

    def page(self) -> PageTexts:
        """The texts of one page, each made once for it."""
        return PageTexts(self)


class PageTexts:
    """One page's texts: each verdict, chain and fix its findings name, encoded once."""

    def __init__(self, encoded: Encoded) -> None:
        self._encoded = encoded
        self._verdicts: dict[str, dict[str, Any]] = {}
        self._texts: dict[tuple[str, str], str] = {}  # (table, id) -> JSON
        # verdict id -> its runs of fields between a finding's own ones, chain and fix
        self._runs: dict[str, tuple[str, ...]] = {}

    def _entry(self, ident: str) -> dict[str, Any]:
        entry = self._verdicts.get(ident)
        if entry is None:
            source = self._encoded.verdicts[ident]
            entry = self._verdicts[ident] = verdict_entry(source.finding, source.chain, source.fix)
        return entry

    def _text(self, table: str, ident: str) -> str:
        key = (table, ident)
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = self._encoded.remembered(key, lambda: self._make(*key))
        return text

    def _make(self, table: str, ident: str) -> str:
        encoded = self._encoded
        if table == "verdicts":
            return _dumps(self._entry(ident))
        if table == "chains":
            return _dumps(encode(encoded.chains[ident]))
        return _dumps(dict(encoded.fixes[ident]))

    def compact_text(self, finding: Finding) -> CompactText:
        """The finding naming its verdict by id."""
        data = self._encoded.named(finding)
        return CompactText(_dumps(data), data["verdict"])

    def tables_text(self, verdicts: Iterable[str]) -> str:
        """``"verdicts":{...},"chains":{...},"fixes":{...}``: the given verdicts (each once, in
        the order given) and the chains and fixes they name."""
        named = dict.fromkeys(verdicts)
        sources = [self._encoded.verdicts[ident] for ident in named]
        chains = dict.fromkeys(s.chain for s in sources if s.chain is not None)
        fixes = dict.fromkeys(s.fix for s in sources if s.fix is not None)
        return ",".join(
            f'"{table}":{{' + ",".join(f'"{i}":{self._text(table, i)}' for i in ids) + "}"
            for table, ids in (("verdicts", named), ("chains", chains), ("fixes", fixes))
        )

    def full_text(self, finding: Finding) -> str:
        """The finding with everything inline (``?detail=full``): :meth:`Finding.to_json`."""
        own = self._encoded.named(finding)
        ident = own["verdict"]
        source = self._encoded.verdicts[ident]
        runs = self._runs.get(ident)
        if runs is None:
            entry = self._entry(ident)
            runs = self._runs[ident] = tuple(
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
                chain = source.chain
                parts.append(
                    _KEYS[kind] + (self._text("chains", chain) if chain is not None else "[]")
                )
            else:
                fix = source.fix
                parts.append(_KEYS[kind] + (self._text("fixes", fix) if fix is not None else "{}"))
        return "{" + ",".join(parts) + "}"


__all__ = ["RECENT", "CompactText", "Encoded", "PageTexts", "Source"]
