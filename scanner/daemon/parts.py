"""The state's findings as their own few fields and a verdict stored once: the SQLite side of
:mod:`scanner.report.compact`.

Why: 10,000 accounts make 180,000 findings, and thousands share one verdict (every member the
organization trail covers holds the same chain, fix, reason, patterns and notes). Each track row
held a compressed full finding: an 844 MB state file, read back in ~47 s before ``/readyz``. Now
a track (and a transition in the history) holds what is a finding's own (:data:`compact.OWN
<scanner.report.compact.OWN>`: account, name, rule, status, suppression) and its verdict's id;
the ``verdict_parts`` table holds each distinct verdict, chain and fix once, zlib-compressed
JSON in the compact report's shape, under the compact report's content id
(:func:`~scanner.report.compact.content_id`: the same part has the same id in a report and in
the state). At 9,991 accounts: a 50 MB file, read back in 4 s (bench/README.md).

Rules:

* A part is written before the first row naming it, in the same transaction
  (:class:`PartWriter`); a part already stored is not written again.
* :func:`prune` deletes what no track, no transition and no stored verdict names: the table
  holds the distinct parts in use, not every part ever seen. It runs inside a transaction that
  writes rows, after them, so no reader sees a row naming a part that is gone. The store prunes
  at the end of each whole scan (one that lists the organization), not at the commit of some
  accounts' events: a prune reads every track (~0.1 s at 180,000), and what an event's commit
  leaves unnamed (a few parts) waits for the next scan.
* Read back (:class:`PartReader`), each distinct verdict is decoded once into a finding, which
  every row naming it copies with its own fields: findings equal (``==``) to those recorded, and
  sharing their equal parts (:meth:`Sharing.read_back <scanner.evaluate.sharing.Sharing>`).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from scanner.evaluate.sharing import Sharing
from scanner.model import Finding, LinkResult, Status
from scanner.report.compact import OWN, Tables, expand_finding, one_line

PartKind = Literal["verdict", "chain", "fix"]
_COMPRESSION = 6

# A finding's own fields in the compact shape, each a column of ``tracks`` (in this order).
OWN_COLUMNS: Final = OWN

_FIELDS: Final = tuple(f.name for f in dataclasses.fields(Finding))
_AT: Final = {name: index for index, name in enumerate(_FIELDS)}
_STATUS: Final = {status.value: status for status in Status}


def pack(data: Any) -> bytes:
    """zlib-compressed JSON (a BLOB)."""
    return zlib.compress(one_line(data).encode(), _COMPRESSION)


def unpack(stored: bytes | str) -> Any:
    """A :func:`pack` BLOB, or JSON text as files written before compression hold it."""
    return json.loads(zlib.decompress(stored) if isinstance(stored, bytes) else stored)


class PartWriter:
    """Within one transaction: a finding's own fields, its parts stored if they are new."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._tables = Tables()

    def own(self, finding: Finding) -> dict[str, Any]:
        """The finding's own fields (:data:`OWN_COLUMNS`, its verdict by id), having stored the
        verdict, chain and fix it names."""
        compacted = self._tables.compact(finding)
        if compacted.new_chain is not None:
            self._put(compacted.new_chain, "chain", self._tables.chains[compacted.new_chain])
        if compacted.new_fix is not None:
            self._put(compacted.new_fix, "fix", self._tables.fixes[compacted.new_fix])
        if compacted.new_verdict is not None:
            entry = self._tables.verdicts[compacted.new_verdict]
            self._put(compacted.new_verdict, "verdict", entry, entry["chain"], entry["remediation"])
        return compacted.finding

    def _put(
        self,
        ident: str,
        kind: PartKind,
        part: object,
        chain: str | None = None,
        fix: str | None = None,
    ) -> None:
        """Store the part unless it is stored already (the same id is the same content)."""
        if self._db.execute("SELECT 1 FROM verdict_parts WHERE id = ?", (ident,)).fetchone():
            return
        self._db.execute(
            "INSERT INTO verdict_parts (id, kind, chain, fix, part) VALUES (?, ?, ?, ?, ?)",
            (ident, kind, chain, fix, pack(part)),
        )


class PartReader:
    """Findings from their own fields and the stored parts; each part read and decoded once."""

    def __init__(self, db: sqlite3.Connection, sharing: Sharing | None = None) -> None:
        self._db = db
        self._sharing = sharing or Sharing()
        self._parts: dict[str, Any] = {}
        self._chains: dict[str, tuple[LinkResult, ...]] = {}  # chain id -> its links, decoded
        # verdict id -> the first finding naming it, its fields' values in Finding's order
        self._verdicts: dict[str, list[Any]] = {}

    def finding(self, own: Mapping[str, Any]) -> Finding:
        """The finding whose own fields are ``own`` (as :meth:`PartWriter.own` gave them).

        A part that is not stored raises :class:`ValueError` naming it (a state file damaged
        outside the scanner): the caller refuses the file rather than guess a verdict.
        """
        return self.row(tuple(own[name] for name in OWN_COLUMNS))

    def row(self, own: Sequence[Any]) -> Finding:
        """:meth:`finding` of the values of :data:`OWN_COLUMNS` in their order (a track's row):
        the fields of the first finding naming the verdict, with this one's own."""
        account_id, account_name, rule, status, ident, suppressed, suppression = own
        first = self._verdicts.get(ident)
        if first is None:
            first = self._verdicts[ident] = self._decode(own)
        text = self._sharing.text
        values = first.copy()
        values[_AT["account_id"]] = text(account_id)
        values[_AT["account_name"]] = text(account_name)
        values[_AT["rule"]] = text(rule)
        values[_AT["status"]] = _STATUS.get(status) or Status(status)
        values[_AT["suppressed"]] = bool(suppressed)  # a column holds 0 or 1
        values[_AT["suppression"]] = suppression
        return Finding(*values)

    def _decode(self, own: Sequence[Any]) -> list[Any]:
        """The values of the fields (in :class:`Finding`'s order) of the finding whose own
        fields are ``own``, decoded from its parts, its repeats shared."""
        data = dict(zip(OWN_COLUMNS, own, strict=True))
        data["suppressed"] = bool(data["suppressed"])
        ident = data["verdict"]
        entry = self._part(ident, "verdict")
        chain, fix = entry["chain"], entry["remediation"]
        links = self._chains.get(chain) if chain else None  # decoded for an earlier verdict
        chains = {chain: [] if links is not None else self._part(chain, "chain")} if chain else {}
        fixes = {fix: self._part(fix, "fix")} if fix else {}
        finding = Finding.from_json(expand_finding(data, chains, fixes, "track", {ident: entry}))
        if links is not None:
            finding = dataclasses.replace(finding, chain=links)
        finding = self._sharing.read_back(finding)
        if chain:
            self._chains[chain] = finding.chain
        return [getattr(finding, name) for name in _FIELDS]

    def expand(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """A finding's JSON in the full shape: a compact one (own fields and a verdict id)
        expanded, a full one (written before the parts existed) as it is."""
        if "verdict" not in data:
            return dict(data)
        return self.finding(data).to_json()

    def _part(self, ident: str, kind: PartKind) -> Any:
        found = self._parts.get(ident)
        if found is None:
            row = self._db.execute(
                "SELECT kind, part FROM verdict_parts WHERE id = ?", (ident,)
            ).fetchone()
            if row is None or row[0] != kind:
                raise ValueError(f"the state names a {kind} {ident!r} it does not hold")
            found = self._parts[ident] = unpack(row[1])
        return found


def prune(db: sqlite3.Connection) -> None:
    """Delete the verdicts no track or transition names, then, if some were, the chains and
    fixes no verdict names (a ``NOT IN`` list holds no NULL: one NULL would make it delete
    nothing). It reads every track: ~0.1 s at 180,000."""
    deleted = db.execute(
        "DELETE FROM verdict_parts WHERE kind = 'verdict' AND id NOT IN ("
        "SELECT verdict FROM tracks"
        " UNION SELECT verdict FROM transitions WHERE verdict IS NOT NULL"
        " UNION SELECT previous_verdict FROM transitions WHERE previous_verdict IS NOT NULL)"
    )
    if deleted.rowcount == 0:
        return
    db.execute(
        "DELETE FROM verdict_parts WHERE kind != 'verdict' AND id NOT IN ("
        "SELECT chain FROM verdict_parts WHERE chain IS NOT NULL"
        " UNION SELECT fix FROM verdict_parts WHERE fix IS NOT NULL)"
    )


__all__ = ["OWN_COLUMNS", "PartReader", "PartWriter", "pack", "prune", "unpack"]
