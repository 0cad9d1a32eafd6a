"""Suppressions: accepted exceptions, applied to findings as data. Pure: today is an argument.

A suppression names where (one account, an OU path and everything below it, or an OU id (or the
root's) and everything below it), which rule
(or ``*``), why, and until when. A suppressed finding keeps its status — the control is still
broken, and the report must not pretend otherwise — and gains ``suppressed`` and the reason;
callers do not alert on it and count it apart. An expired suppression suppresses nothing but
says so on the finding, so an exception nobody renewed is visible instead of silently gone.

Rules: among the suppressions matching a finding, the first in effect wins (file order); if only
expired ones match, the one that expired last is named. A suppression is in effect through its
``expires`` day. PASS findings are never marked: there is nothing to excuse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from scanner.model import Finding, Status

ANY_RULE = "*"


@dataclass(frozen=True, slots=True)
class Suppression:
    """Exactly one of ``account`` (an id), ``ou`` (a path of OU names, ``Workloads/Dev``) or
    ``ou_id`` (``ou-ab12-cdef3456``, or the root's ``r-ab12``)."""

    rule: str  # a rule id, or ANY_RULE
    reason: str
    expires: date
    account: str | None = None
    ou: tuple[str, ...] | None = None
    ou_id: str | None = None

    def matches(self, finding: Finding, ou_path: Sequence[str], ou_ids: Sequence[str] = ()) -> bool:
        if self.rule not in (ANY_RULE, finding.rule):
            return False
        if self.account is not None:
            return finding.account_id == self.account
        if self.ou_id is not None:
            return self.ou_id in ou_ids
        return self.ou is not None and tuple(ou_path[: len(self.ou)]) == self.ou

    @property
    def where(self) -> str:
        if self.account:
            return f"account {self.account}"
        return f"OU {self.ou_id}" if self.ou_id else "OU " + "/".join(self.ou or ())


def apply_suppressions(
    findings: Iterable[Finding],
    suppressions: Sequence[Suppression],
    today: date,
    ou_paths: Mapping[str, Sequence[str]],
    ou_ids: Mapping[str, Sequence[str]] | None = None,
) -> list[Finding]:
    """The findings, those a suppression covers marked; ``ou_paths``: account id -> OU names,
    ``ou_ids``: account id -> the ids of the root and the OUs above it."""
    ids = ou_ids or {}
    return [
        mark(f, suppressions, today, ou_paths.get(f.account_id, ()), ids.get(f.account_id, ()))
        for f in findings
    ]


def mark(
    finding: Finding,
    suppressions: Sequence[Suppression],
    today: date,
    ou_path: Sequence[str],
    ou_ids: Sequence[str] = (),
) -> Finding:
    """One finding, marked if an exception covers it (for callers that stream findings)."""
    if finding.status is Status.PASS:
        return finding
    matching = [s for s in suppressions if s.matches(finding, ou_path, ou_ids)]
    active = [s for s in matching if s.expires >= today]
    if active:
        chosen = active[0]
        return dataclasses.replace(
            finding,
            suppressed=True,
            suppression=f"{chosen.reason} (suppressed until {chosen.expires.isoformat()})",
        )
    if matching:
        latest = max(matching, key=lambda s: s.expires)
        return dataclasses.replace(
            finding,
            suppression=f"suppression expired on {latest.expires.isoformat()}: {latest.reason}",
        )
    return finding


__all__ = ["ANY_RULE", "Suppression", "apply_suppressions", "mark"]
