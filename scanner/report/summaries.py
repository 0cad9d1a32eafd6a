"""The counts every human-facing report sums the findings up with: by rule and by OU.

The table (``scanner.cli.report``) and the HTML page print the same figures, so they come from
here: a rule's counts are accounts (one finding per account and rule), an OU's are findings.
Pure; the order is the one a reader wants: the worst rule first, OUs by path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scanner.model import Finding, Inventory, Status


@dataclass(frozen=True, slots=True)
class RuleCount:
    """A rule's findings per status (one per account)."""

    rule: str
    title: str
    severity: str
    counts: Counter[Status]

    @property
    def failing(self) -> int:
        return self.counts[Status.FAIL] + self.counts[Status.ERROR]


@dataclass(frozen=True, slots=True)
class OuCount:
    """An OU path's accounts and findings per status; ``(root)`` for accounts under the root."""

    ou: str
    accounts: int
    counts: Counter[Status]


def by_rule(findings: Iterable[Finding]) -> list[RuleCount]:
    """Each rule's counts, the most FAILs first, then the most ERRORs; else in finding order."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.rule, []).append(finding)
    rows = [
        RuleCount(rule, group[0].title, group[0].severity, Counter(f.status for f in group))
        for rule, group in groups.items()
    ]
    return sorted(rows, key=lambda r: (-r.counts[Status.FAIL], -r.counts[Status.ERROR]))


def by_ou(findings: Sequence[Finding], inventory: Inventory) -> list[OuCount]:
    """Each OU path's counts, by path; empty when no account has an OU path (not an
    organization, or a scan of single accounts)."""
    paths: dict[str, tuple[str, ...]] = {}
    for finding in findings:
        account = inventory.account(finding.account_id)
        paths[finding.account_id] = account.ou_path if account is not None else ()
    if not any(paths.values()):
        return []
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault("/".join(paths[finding.account_id]) or "(root)", []).append(finding)
    return [
        OuCount(ou, len({f.account_id for f in group}), Counter(f.status for f in group))
        for ou, group in sorted(groups.items())
    ]
