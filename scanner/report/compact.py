"""Compact reports: each distinct chain and fix written once, the findings naming them by id.

Why: thousands of findings share one chain (every member's finding of a rule the organization
trail decides points at the management account's trail, log group, filter, alarm and topic) and
one fix (a change in the management account repairs a rule for every member). The full shape
embeds both in every finding: 3-9 KB a finding, ~850 MB of JSON at 10,000 accounts. The compact
shape (``--detail compact``, the default of ``--format json`` and ``jsonl`` and of the findings
API) writes each distinct chain and fix once, in a table keyed by a stable id; a finding's
``chain`` and ``remediation`` hold that id, or ``null`` when it has none (an account that could
not be entered has no chain, a PASS no fix). Everything else a finding says (status, reason,
broken link, missed events, gaps, notes, patterns, control ids, suppression) stays in it.

The shapes:

* ``--format json``: ``{"findings": [...], "chains": {id: [link, ...]}, "fixes": {id: {format:
  text}}, "summary": {...}}``, the tables holding exactly the entries the findings name.
* ``--format jsonl``: three kinds of line, told apart by ``type``: ``{"type": "chain", "id",
  "links"}``, ``{"type": "fix", "id", "remediation"}`` and ``{"type": "finding", ...}``. A chain
  or fix line comes before the first finding that names it: a reader going line by line has it.
* the findings API: each page's ``chains`` and ``fixes`` hold those its findings name.

Ids: the first 16 hex digits of the SHA-256 of the canonical JSON (sorted keys, no spaces, ASCII)
of the links or of the fix, so the same chain has the same id in every report, run and machine,
and two reports can be compared by id. 64 bits make a collision negligible at any organization's
size (a million distinct chains: about one chance in 36 million).

:func:`expand` turns a compact document (the JSON report, an API page) into the full shape, which
``--detail full`` writes; :func:`expand_lines` does it for JSONL, a line at a time. A full
document or line goes through unchanged, so a reader can call them on either.

Invariants: the compact finding keeps the full one's keys in the same order (``expand`` then gives
back the very document ``--detail full`` writes); :class:`Tables` holds the distinct entries only,
never a finding.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from scanner.errors import InventoryError
from scanner.model import Finding, LinkResult, encode

COMPACT: Final = "compact"
FULL: Final = "full"
DETAILS: Final = (COMPACT, FULL)

ID_DIGITS = 16
_SAME_CHAINS = 1024  # chain objects recognised by identity (Tables.chain_id)
_FIELDS = tuple(f.name for f in dataclasses.fields(Finding))


def content_id(value: object) -> str:
    """The stable id of a chain's links or a fix (JSON data): a hash of its canonical JSON."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:ID_DIGITS]


@dataclass(frozen=True, slots=True)
class Compacted:
    """One finding in the compact shape, and the ids of the entries it is the first to name."""

    finding: dict[str, Any]
    new_chain: str | None = None
    new_fix: str | None = None


class Tables:
    """The distinct chains and fixes named so far, by id, in the order first named.

    Each finding's chain and fix are hashed once per distinct value (a dictionary keyed by the
    model's own values finds a repeat before any JSON is written). The findings of the members
    an organization trail covers share the very tuple of links (the evaluator computes a
    trail's chains once): that object is recognised by identity first, without hashing its
    thirteen links again for each finding.
    """

    def __init__(self) -> None:
        self.chains: dict[str, list[Any]] = {}
        self.fixes: dict[str, dict[str, str]] = {}
        self._chain_ids: dict[tuple[LinkResult, ...], str] = {}
        self._fix_ids: dict[tuple[tuple[str, str], ...], str] = {}
        # id(links) -> (links, its id): the tuple is kept, so its id() is not reused meanwhile;
        # bounded (a chain built for one finding alone would otherwise stay for the report).
        self._same_chain: dict[int, tuple[tuple[LinkResult, ...], str]] = {}

    def chain_id(self, chain: tuple[LinkResult, ...]) -> tuple[str | None, bool]:
        """The chain's id (None for no chain) and whether it is named for the first time."""
        if not chain:
            return None, False
        same = self._same_chain.get(id(chain))
        if same is not None and same[0] is chain:
            return same[1], False
        if len(self._same_chain) >= _SAME_CHAINS:
            self._same_chain.clear()
        known = self._chain_ids.get(chain)
        if known is not None:
            self._same_chain[id(chain)] = (chain, known)
            return known, False
        links = encode(chain)
        ident = self._chain_ids[chain] = content_id(links)
        self._same_chain[id(chain)] = (chain, ident)
        new = ident not in self.chains
        self.chains.setdefault(ident, links)
        return ident, new

    def fix_id(self, remediation: Mapping[str, str]) -> tuple[str | None, bool]:
        """The fix's id (None for no fix) and whether it is named for the first time."""
        if not remediation:
            return None, False
        key = tuple(remediation.items())
        known = self._fix_ids.get(key)
        if known is not None:
            return known, False
        fix = dict(remediation)
        ident = self._fix_ids[key] = content_id(fix)
        new = ident not in self.fixes
        self.fixes.setdefault(ident, fix)
        return ident, new

    def compact(self, finding: Finding) -> Compacted:
        """The finding's JSON with its chain and fix replaced by their ids (same keys, same
        order as :meth:`Finding.to_json`)."""
        chain, new_chain = self.chain_id(finding.chain)
        fix, new_fix = self.fix_id(finding.remediation)
        data: dict[str, Any] = {}
        for name in _FIELDS:
            if name == "chain":
                data[name] = chain
            elif name == "remediation":
                data[name] = fix
            else:
                data[name] = encode(getattr(finding, name))
        return Compacted(data, chain if new_chain else None, fix if new_fix else None)


def chain_line(ident: str, links: list[Any]) -> dict[str, Any]:
    """The JSONL line that defines a chain."""
    return {"type": "chain", "id": ident, "links": links}


def fix_line(ident: str, fix: Mapping[str, str]) -> dict[str, Any]:
    """The JSONL line that defines a fix."""
    return {"type": "fix", "id": ident, "remediation": dict(fix)}


def _resolve(
    value: object, table: Mapping[str, Any], empty: object, what: str, where: str
) -> object:
    if value is None:
        return empty
    if not isinstance(value, str):
        return value  # already inline: a full finding
    if value not in table:
        raise InventoryError(f"{where}: no {what} {value!r} in the report")
    return table[value]


def expand_finding(
    finding: Mapping[str, Any],
    chains: Mapping[str, Any],
    fixes: Mapping[str, Any],
    where: str = "finding",
) -> dict[str, Any]:
    """One finding in the full shape: its chain and fix references replaced by what they name
    (``null``: none). A full finding comes back equal. ``where`` names it in an error."""
    data = dict(finding)
    if "chain" in data:
        data["chain"] = _resolve(data["chain"], chains, [], "chain", f"{where}.chain")
    if "remediation" in data:
        data["remediation"] = _resolve(
            data["remediation"], fixes, {}, "fix", f"{where}.remediation"
        )
    return data


def expand(document: Mapping[str, Any]) -> dict[str, Any]:
    """A compact JSON report (or findings API page) in the full shape ``--detail full`` writes:
    the findings with their chains and fixes inline, the ``chains`` and ``fixes`` tables gone,
    every other key as it was. A full document comes back equal. A reference to an entry the
    document lacks raises :class:`~scanner.errors.InventoryError` naming the finding."""
    chains = document.get("chains") or {}
    fixes = document.get("fixes") or {}
    full: dict[str, Any] = {}
    for key, value in document.items():
        if key == "findings":
            full[key] = [
                expand_finding(f, chains, fixes, f"findings[{i}]") for i, f in enumerate(value)
            ]
        elif key not in ("chains", "fixes"):
            full[key] = value
    return full


def expand_lines(records: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """JSONL records (each line's ``json.loads``) -> the findings in the full shape, as
    ``--detail full`` writes them, one at a time; the chain and fix lines are read, not yielded.
    A finding naming an entry no earlier line defined raises
    :class:`~scanner.errors.InventoryError` naming its line."""
    chains: dict[str, Any] = {}
    fixes: dict[str, Any] = {}
    for number, record in enumerate(records, start=1):
        kind = record.get("type")
        if kind == "chain":
            chains[record["id"]] = record["links"]
        elif kind == "fix":
            fixes[record["id"]] = record["remediation"]
        else:
            finding = {k: v for k, v in record.items() if k != "type"}
            yield expand_finding(finding, chains, fixes, f"line {number}")


__all__ = [
    "COMPACT",
    "DETAILS",
    "FULL",
    "Compacted",
    "Tables",
    "chain_line",
    "content_id",
    "expand",
    "expand_finding",
    "expand_lines",
    "fix_line",
]
