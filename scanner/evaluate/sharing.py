"""Equal values of one evaluation's findings, held once.

At 10,000 accounts an evaluation makes 180,000 findings, and much of what they carry repeats:
the reason "monitored through trail org-trail ..." is the same in every member the
organization trail covers, a rule's control numbers the same in each of its findings, the
judged pattern the same wherever one filter is judged. Built one finding at a time, each held
its own copy of each; the daemon keeps its findings between scans, so those copies were what
its memory grew with (bench/README.md, "Findings in memory"). The fix texts, the largest of
them, are written once per distinct fix by :mod:`scanner.remediation.render` already.

The evaluator passes every such value through one :class:`Sharing` per evaluation as it builds
each finding, so a repeat costs a dictionary look-up, not a copy (sharing afterwards meant
rebuilding each finding: a third of the evaluation's CPU).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from scanner.catalog import Rule
from scanner.model import Finding, LinkResult
from scanner.remediation import Fixes

# The fields of a finding that repeat across accounts and are texts, or tuples of texts.
_TEXT = ("reason",)
_TEXTS = ("patterns", "gaps", "notes")


class Sharing:
    """One object per distinct text, tuple of texts and rule's control numbering, and one
    empty fix."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._tuples: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._controls: dict[str, dict[str, str]] = {}
        # The fix of a finding that has none (PASS, ERROR; a FAIL's is set after): one empty
        # mapping, not one per finding (140,000 of them at 10,000 accounts, 9 MB).
        self._no_fix: dict[str, str] = {}
        self._chains: dict[tuple[LinkResult, ...], tuple[LinkResult, ...]] = {}
        self._mappings: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        # One object per distinct fix, planned and written once (this evaluation's only).
        self.fixes = Fixes()

    def text(self, value: str) -> str:
        return self._texts.setdefault(value, value)

    def texts(self, values: tuple[str, ...]) -> tuple[str, ...]:
        found = self._tuples.get(values)
        if found is None:
            found = self._tuples[values] = tuple(map(self.text, values))
        return found

    def fields(self, fields: dict[str, Any], rule: Rule) -> dict[str, Any]:
        """A finding's fields (as the evaluator gathers them) with their repeats shared, and the
        rule's control numbers."""
        for name in _TEXT:
            if name in fields:
                fields[name] = self.text(fields[name])
        for name in _TEXTS:
            if name in fields:
                fields[name] = self.texts(fields[name])
        fields["controls"] = self.controls(rule)
        fields.setdefault("remediation", self._no_fix)
        return fields

    def controls(self, rule: Rule) -> dict[str, str]:
        """The rule's control numbers, one dict for all its findings: nothing mutates a
        finding's mappings (findings are frozen; reports and the daemon only read them)."""
        found = self._controls.get(rule.id)
        if found is None:
            found = self._controls[rule.id] = rule.controls
        return found

    def mapping(self, value: Mapping[str, str]) -> dict[str, str]:
        if not value:
            return self._no_fix
        key = tuple(value.items())
        found = self._mappings.get(key)
        if found is None:
            found = self._mappings[key] = dict(value)
        return found

    def read_back(self, finding: Finding) -> Finding:
        """A finding decoded from JSON (the daemon's state, at a restart) holding the repeats
        the evaluator would have shared: each decoded finding has its own copy of its chain's
        links, reason, ids and control numbers (at 10,000 accounts, 180,000 chains of thirteen
        links), and the daemon keeps such a finding while the scans find it unchanged."""
        chain = self._chains.setdefault(finding.chain, finding.chain)
        return dataclasses.replace(
            finding,
            account_id=self.text(finding.account_id),
            account_name=self.text(finding.account_name),
            rule=self.text(finding.rule),
            title=self.text(finding.title),
            reason=self.text(finding.reason),
            chain=chain,
            patterns=self.texts(finding.patterns),
            gaps=self.texts(finding.gaps),
            notes=self.texts(finding.notes),
            remediation=self.mapping(finding.remediation),
            controls=self.mapping(finding.controls),
        )


__all__ = ["Sharing"]
