"""The findings API's JSON texts, encoded once per scan: each finding in the shape a page asks
for, and the chains and fixes the compact shape names (:mod:`scanner.report.compact`).

Each :class:`~scanner.daemon.metrics.Picture` (one scan's findings) owns one :class:`Encoded`,
filled by the HTTP render thread only, as pages ask: a page is then a join of texts, not a
serialisation, and the next scan's picture starts afresh, so nothing is served stale. One small
``json.dumps`` per finding, chain or fix: the C encoder holds the GIL for a whole call, and one
call for a page of megabytes would stall the event loop's thread for as long.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from scanner.model import Finding
from scanner.report.compact import Tables

Key = tuple[str, str]  # (account_id, rule)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class CompactText:
    """A finding's compact JSON and the ids of the chain and fix it names (None: none)."""

    text: str
    chain: str | None
    fix: str | None


@dataclass
class Encoded:
    full: dict[Key, str] = field(default_factory=dict)
    compact: dict[Key, CompactText] = field(default_factory=dict)
    chains: dict[str, str] = field(default_factory=dict)  # id -> the links' JSON
    fixes: dict[str, str] = field(default_factory=dict)  # id -> the fix's JSON
    tables: Tables = field(default_factory=Tables)

    def full_text(self, key: Key, finding: Finding) -> str:
        """The finding with its chain and fix inline (``?detail=full``)."""
        text = self.full.get(key)
        if text is None:
            text = self.full[key] = _dumps(finding.to_json())
        return text

    def compact_text(self, key: Key, finding: Finding) -> CompactText:
        """The finding naming its chain and fix by id; their texts are kept in :attr:`chains`
        and :attr:`fixes` the first time one is named."""
        known = self.compact.get(key)
        if known is not None:
            return known
        compacted = self.tables.compact(finding)
        data = compacted.finding
        chain, fix = data["chain"], data["remediation"]
        if chain is not None and chain not in self.chains:
            self.chains[chain] = _dumps(self.tables.chains[chain])
        if fix is not None and fix not in self.fixes:
            self.fixes[fix] = _dumps(self.tables.fixes[fix])
        made = self.compact[key] = CompactText(_dumps(data), chain, fix)
        return made


__all__ = ["CompactText", "Encoded", "Key"]
