"""Suppressions: accepted exceptions, applied to findings as data. Pure: today is an argument.

A suppression names where (one account, an OU path and everything below it, or an OU id (or the
root's) and everything below it), which rule
(or ``*``), why, and until when. A suppressed finding keeps its status — the control is still
broken, and the report must not pretend otherwise — and gains ``suppressed`` and the reason;
callers do not alert on it and count it apart. An expired suppression suppresses nothing but
says so on the finding, so an exception nobody renewed is visible instead of silently gone.

A suppression that can match nothing (a rule the profile does not run, an account or OU the
organization does not hold: ``ou: Sandboxx``) is almost always a typo that leaves the finding it
meant unexcused; :func:`unmatched` says so, naming the nearest valid name. Accounts and OUs are
known only once the organization is listed, so callers check those after a listing.

Rules: among the suppressions matching a finding, the first in effect wins (file order); if only
expired ones match, the one that expired last is named. A suppression is in effect through its
``expires`` day. PASS findings are never marked: there is nothing to excuse.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Collection, Iterable, Mapping, Sequence
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
    origin: str = ""  # where it was written (file, line, entry), for warnings about it

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


@dataclass(frozen=True, slots=True)
class Listed:
    """An account of the organization as its listing names it (what a suppression can name)."""

    id: str
    ou_path: tuple[str, ...] = ()  # OU names below the root, top first
    ou_ids: tuple[str, ...] = ()  # the root's id, then the OUs', top first


def unmatched(
    suppressions: Sequence[Suppression],
    profile: str,
    rules: Collection[str],
    accounts: Sequence[Listed] | None = None,
) -> list[str]:
    """One warning per suppression that can match no finding: its rule is not among ``rules``
    (those ``profile`` runs), or, when the organization's ``accounts`` are given (None: not
    listed, not checked), its account, OU path or OU id holds none of them. Each names the
    nearest valid name when one is close."""
    warnings: list[str] = []
    for s in suppressions:
        if s.rule != ANY_RULE and s.rule not in rules:
            warnings.append(
                _said(s, f"rule {s.rule!r} is not in profile {profile!r}", s.rule, rules)
            )
        if accounts is None:
            continue
        if s.account is not None and all(a.id != s.account for a in accounts):
            ids = [a.id for a in accounts]
            warnings.append(
                _said(s, f"account {s.account} is not in the organization", s.account, ids)
            )
        if s.ou is not None and not any(a.ou_path[: len(s.ou)] == s.ou for a in accounts):
            paths = {
                "/".join(a.ou_path[:n]) for a in accounts for n in range(1, len(a.ou_path) + 1)
            }
            wanted = "/".join(s.ou)
            warnings.append(
                _said(s, f"ou {wanted!r} holds no account of the organization", wanted, paths)
            )
        if s.ou_id is not None and all(s.ou_id not in a.ou_ids for a in accounts):
            ou_ids = {i for a in accounts for i in a.ou_ids}
            warnings.append(
                _said(s, f"ou_id {s.ou_id} holds no account of the organization", s.ou_id, ou_ids)
            )
    return warnings


def _said(suppression: Suppression, problem: str, given: str, valid: Iterable[str]) -> str:
    near = difflib.get_close_matches(given, sorted(set(valid)), n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    where = f"{suppression.origin}: " if suppression.origin else ""
    return f"{where}{problem}, so it suppresses nothing{hint}"


__all__ = ["ANY_RULE", "Listed", "Suppression", "apply_suppressions", "mark", "unmatched"]
