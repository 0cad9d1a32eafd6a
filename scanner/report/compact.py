"""Compact reports: each distinct verdict, chain and fix written once, the findings naming them.

Why: thousands of findings share one chain (every member's finding of a rule the organization
trail decides points at the management account's trail, log group, filter, alarm and topic) and
one fix (a change in the management account repairs a rule for every member), and most of what
a finding says beyond its account follows from its rule and chain: the reason, the patterns
judged, the missed events, the notes, the control ids (18,000 findings of the benchmark's 1,000
accounts hold 331 distinct reasons, 16 distinct pattern lists, 7 distinct note lists). The full
shape repeats all of it in every finding: 3-9 KB a finding, ~1.3 GB of JSON at 10,000 accounts.
The compact shape (``--detail compact``, the default of ``--format json`` and ``jsonl`` and of
the findings API) writes each distinct verdict, chain and fix once, in a table keyed by a stable
id:

* a finding keeps what is its own, in this order: ``account_id``, ``account_name``, ``rule``,
  ``status``, ``verdict`` (an id), ``suppressed``, ``suppression``;
* a verdict holds every other field of :meth:`Finding.to_json` (title, severity, profile,
  reason, broken link, chain, reference, missed events, patterns, gaps, notes, remediation,
  controls), in that method's order, with ``chain`` and ``remediation`` the ids of a chain and
  a fix, or ``null`` when it has none (an account that could not be entered has no chain, a
  PASS no fix).

The shapes:

* ``--format json``: ``{"findings": [...], "verdicts": {id: {...}}, "chains": {id: [link,
  ...]}, "fixes": {id: {format: text}}, "summary": {...}}``, the tables holding exactly the
  entries the findings name; each finding and each entry on a line of its own.
* ``--format jsonl``: four kinds of line, told apart by ``type``: ``{"type": "chain", "id",
  "links"}``, ``{"type": "fix", "id", "remediation"}``, ``{"type": "verdict", "id",
  "verdict"}`` and ``{"type": "finding", ...}``. A chain or fix line comes before the first
  verdict that names it, a verdict line before the first finding that names it: a reader going
  line by line has each.
* the findings API: each page's ``verdicts``, ``chains`` and ``fixes`` hold those its findings
  name.

Ids: the first 16 hex digits of the SHA-256 of the canonical JSON (sorted keys, no spaces, ASCII)
of the links, the fix or the verdict (whose chain and fix are ids), so the same entry has the
same id in every report, run and machine, and two reports can be compared by id. 64 bits make a
collision negligible at any organization's size (a million distinct entries: about one chance in
36 million).

:func:`expand` turns a compact document (the JSON report, an API page) into the full shape, which
``--detail full`` writes; :func:`expand_lines` does it for JSONL, a line at a time. A full
document or line goes through unchanged, and so does the first compact shape (findings with
their chain and fix ids inline and no ``verdict``), so a reader can call them on any.

Invariants: ``expand`` gives back the very document ``--detail full`` writes (the full keys in
:meth:`Finding.to_json`'s order, then any the writer adds, such as JSONL's ``ou_path``);
:class:`Tables` holds the distinct entries only, never a finding.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import operator
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
_SAME_EVENTS = 4096  # missed events recognised by identity (Tables.compact)
FIELDS: Final = tuple(f.name for f in dataclasses.fields(Finding))
# What a compact finding keeps, in its order; every other field is its verdict's.
OWN: Final = (
    "account_id",
    "account_name",
    "rule",
    "status",
    "verdict",
    "suppressed",
    "suppression",
)
VERDICT_FIELDS: Final = tuple(name for name in FIELDS if name not in OWN)
# Read at once from every finding compacted: the own fields but the verdict (plain values but
# the status), and the verdict fields a verdict's key holds as they are.
_OWN_FIELDS: Final = operator.attrgetter(*(name for name in OWN if name != "verdict"))
_PLAIN_VERDICT_FIELDS: Final = operator.attrgetter(
    *(n for n in VERDICT_FIELDS if n not in ("chain", "remediation", "missed_events", "controls"))
)


def one_line(value: object) -> str:
    """JSON without a space after ``,`` and ``:`` (a compact report's lines and entries: 4% of
    a report, nothing a parser sees)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def content_id(value: object) -> str:
    """The stable id of a chain's links, a fix or a verdict (JSON data): a hash of its canonical
    JSON."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:ID_DIGITS]


@dataclass(frozen=True, slots=True)
class Compacted:
    """One finding in the compact shape, the ids of its verdict's chain and fix, and the ids of
    the entries it is the first to name (a new verdict's chain and fix, then the verdict: the
    order a line-by-line reader needs)."""

    finding: dict[str, Any]
    chain: str | None = None
    fix: str | None = None
    new_chain: str | None = None
    new_fix: str | None = None
    new_verdict: str | None = None


def verdict_entry(finding: Finding, chain: str | None, fix: str | None) -> dict[str, Any]:
    """The verdict ``finding`` names, its chain and fix by id: every field of
    :data:`VERDICT_FIELDS`, encoded, in their order."""
    entry: dict[str, Any] = {}
    for name in VERDICT_FIELDS:
        if name == "chain":
            entry[name] = chain
        elif name == "remediation":
            entry[name] = fix
        else:
            entry[name] = encode(getattr(finding, name))
    return entry


class Tables:
    """The distinct verdicts, chains and fixes named so far, by id, in the order first named.

    Each is hashed once per distinct value: a dictionary keyed by the model's own values finds a
    repeat before any JSON is written. The findings of the members an organization trail covers
    share the very tuple of links (the evaluator computes a trail's chains once): that object is
    recognised by identity first, without hashing its thirteen links again for each finding. A
    verdict's key is the tuple of the finding's verdict fields, its chain and fix by id; the two
    that hold dicts are made hashable on the way (the control ids as their items, each missed
    event as its JSON, encoded once per event object).

    ``keep=False`` keeps the ids only, not the entries (``verdicts``, ``chains`` and ``fixes``
    stay empty): for a reader that makes an entry's text from the findings it already holds
    when it needs it, such as the daemon's findings API (:mod:`scanner.daemon.encoded`), where
    the entries of 10,000 accounts held as JSON data were ~20 MiB.
    """

    def __init__(self, *, keep: bool = True) -> None:
        self.verdicts: dict[str, dict[str, Any]] = {}
        self.chains: dict[str, list[Any]] = {}
        self.fixes: dict[str, dict[str, str]] = {}
        self._keep = keep
        # The ids named so far, by kind (of the three tables, kept or not).
        self._named: dict[str, set[str]] = {"chain": set(), "fix": set(), "verdict": set()}
        self._verdict_ids: dict[tuple[object, ...], str] = {}
        self._chain_ids: dict[tuple[LinkResult, ...], str] = {}
        self._fix_ids: dict[tuple[tuple[str, str], ...], str] = {}
        # id(links) -> (links, its id): the tuple is kept, so its id() is not reused meanwhile;
        # bounded (a chain built for one finding alone would otherwise stay for the report).
        self._same_chain: dict[int, tuple[tuple[LinkResult, ...], str]] = {}
        # id(event) -> (event, its JSON): the evaluator shares a filter's missed events between
        # the findings that judged it; kept and bounded as above.
        self._same_event: dict[int, tuple[Mapping[str, Any], str]] = {}

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
        return ident, self._first("chain", self.chains, ident, links)

    def _first(self, kind: str, table: dict[str, Any], ident: str, entry: Any) -> bool:
        """Whether ``ident`` is named for the first time (its entry kept then, if kept)."""
        named = self._named[kind]
        if ident in named:
            return False
        named.add(ident)
        if self._keep:
            table[ident] = entry
        return True

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
        return ident, self._first("fix", self.fixes, ident, fix)

    def _event_text(self, event: Mapping[str, Any]) -> str:
        same = self._same_event.get(id(event))
        if same is not None and same[0] is event:
            return same[1]
        if len(self._same_event) >= _SAME_EVENTS:
            self._same_event.clear()
        text = json.dumps(event, separators=(",", ":"))
        self._same_event[id(event)] = (event, text)
        return text

    def _key(self, finding: Finding, chain: str | None, fix: str | None) -> tuple[object, ...]:
        """What tells the finding's verdict from another's: its chain and fix by id, its missed
        events as JSON, its control ids as items, the other verdict fields as they are (a few
        C-level reads: it is asked of every finding a report or an API page writes)."""
        return (
            chain,
            fix,
            tuple(map(self._event_text, finding.missed_events)),
            tuple(finding.controls.items()),
            _PLAIN_VERDICT_FIELDS(finding),
        )

    def compact(self, finding: Finding) -> Compacted:
        """The finding's own fields (:data:`OWN`, its verdict by id), and the ids of the entries
        it is the first to name."""
        chain, new_chain = self.chain_id(finding.chain)
        fix, new_fix = self.fix_id(finding.remediation)
        key = self._key(finding, chain, fix)
        ident = self._verdict_ids.get(key)
        new = None
        if ident is None:  # a verdict not seen yet; its chain and fix are named with it
            entry = verdict_entry(finding, chain, fix)
            ident = self._verdict_ids[key] = content_id(entry)
            if self._first("verdict", self.verdicts, ident, entry):
                new = ident
        account_id, account_name, rule, status, suppressed, suppression = _OWN_FIELDS(finding)
        data = {  # OWN, in its order
            "account_id": account_id,
            "account_name": account_name,
            "rule": rule,
            "status": encode(status),
            "verdict": ident,
            "suppressed": suppressed,
            "suppression": suppression,
        }
        return Compacted(
            data,
            chain,
            fix,
            new_chain=chain if new_chain else None,
            new_fix=fix if new_fix else None,
            new_verdict=new,
        )

    def lines(self, compacted: Compacted) -> Iterator[dict[str, Any]]:
        """The JSONL lines defining what ``compacted`` is the first to name, in reading order
        (tables that keep their entries)."""
        if compacted.new_chain is not None:
            yield chain_line(compacted.new_chain, self.chains[compacted.new_chain])
        if compacted.new_fix is not None:
            yield fix_line(compacted.new_fix, self.fixes[compacted.new_fix])
        if compacted.new_verdict is not None:
            yield verdict_line(compacted.new_verdict, self.verdicts[compacted.new_verdict])


def chain_line(ident: str, links: list[Any]) -> dict[str, Any]:
    """The JSONL line that defines a chain."""
    return {"type": "chain", "id": ident, "links": links}


def fix_line(ident: str, fix: Mapping[str, str]) -> dict[str, Any]:
    """The JSONL line that defines a fix."""
    return {"type": "fix", "id": ident, "remediation": dict(fix)}


def verdict_line(ident: str, verdict: Mapping[str, Any]) -> dict[str, Any]:
    """The JSONL line that defines a verdict."""
    return {"type": "verdict", "id": ident, "verdict": dict(verdict)}


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


def _with_verdict(
    finding: Mapping[str, Any], verdicts: Mapping[str, Any], where: str
) -> dict[str, Any]:
    """The finding's own fields and its verdict's, in the full shape's order, then the keys a
    writer adds (JSONL's ``ou_path`` and ``scanned_at``) as they came."""
    ident = finding["verdict"]
    if not isinstance(ident, str) or ident not in verdicts:
        raise InventoryError(f"{where}.verdict: no verdict {ident!r} in the report")
    entry = verdicts[ident]
    data: dict[str, Any] = {}
    for name in FIELDS:
        if name in finding:
            data[name] = finding[name]
        elif name in entry:
            data[name] = entry[name]
    for key, value in finding.items():
        if key != "verdict" and key not in data:
            data[key] = value
    return data


def expand_finding(
    finding: Mapping[str, Any],
    chains: Mapping[str, Any],
    fixes: Mapping[str, Any],
    where: str = "finding",
    verdicts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One finding in the full shape: its verdict, chain and fix references replaced by what
    they name (``null``: none). A full finding comes back equal, and a finding of the first
    compact shape (no ``verdict``) reads as well. ``where`` names it in an error."""
    data = _with_verdict(finding, verdicts or {}, where) if "verdict" in finding else dict(finding)
    if "chain" in data:
        data["chain"] = _resolve(data["chain"], chains, [], "chain", f"{where}.chain")
    if "remediation" in data:
        data["remediation"] = _resolve(
            data["remediation"], fixes, {}, "fix", f"{where}.remediation"
        )
    return data


_TABLES = ("verdicts", "chains", "fixes")


def expand(document: Mapping[str, Any]) -> dict[str, Any]:
    """A compact JSON report (or findings API page) in the full shape ``--detail full`` writes:
    the findings with their verdicts, chains and fixes inline, the tables gone, every other key
    as it was. A full document comes back equal. A reference to an entry the document lacks
    raises :class:`~scanner.errors.InventoryError` naming the finding."""
    verdicts, chains, fixes = (document.get(name) or {} for name in _TABLES)
    full: dict[str, Any] = {}
    for key, value in document.items():
        if key == "findings":
            full[key] = [
                expand_finding(f, chains, fixes, f"findings[{i}]", verdicts)
                for i, f in enumerate(value)
            ]
        elif key not in _TABLES:
            full[key] = value
    return full


def expand_lines(records: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """JSONL records (each line's ``json.loads``) -> the findings in the full shape, as
    ``--detail full`` writes them, one at a time; the verdict, chain and fix lines are read,
    not yielded. A finding naming an entry no earlier line defined raises
    :class:`~scanner.errors.InventoryError` naming its line."""
    verdicts: dict[str, Any] = {}
    chains: dict[str, Any] = {}
    fixes: dict[str, Any] = {}
    for number, record in enumerate(records, start=1):
        kind = record.get("type")
        if kind == "chain":
            chains[record["id"]] = record["links"]
        elif kind == "fix":
            fixes[record["id"]] = record["remediation"]
        elif kind == "verdict":
            verdicts[record["id"]] = record["verdict"]
        else:
            finding = {k: v for k, v in record.items() if k != "type"}
            yield expand_finding(finding, chains, fixes, f"line {number}", verdicts)


__all__ = [
    "COMPACT",
    "DETAILS",
    "FIELDS",
    "FULL",
    "OWN",
    "VERDICT_FIELDS",
    "Compacted",
    "Tables",
    "chain_line",
    "content_id",
    "expand",
    "expand_finding",
    "expand_lines",
    "fix_line",
    "one_line",
    "verdict_entry",
    "verdict_line",
]
