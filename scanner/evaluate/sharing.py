"""Equal values of one evaluation's findings, held once.

At 10,000 accounts an evaluation makes 180,000 findings, and most of what they carry repeats:
the fix of a rule broken in the management account is the same text in every member the
organization trail covers, the reason "monitored through trail org-trail ..." the same in
every member, a rule's control numbers the same in each of its findings. Built one finding at a
time, each holds its own copy: at 1,000 accounts (bench/README.md, "Findings in memory") 59 MB
of findings, 24 MB of them fix texts of which nine in ten are repeats. The daemon keeps its
findings between scans, so those copies are what its memory grows with. :class:`Sharing`
hands out one object per distinct value for the life of an evaluation.

Only :func:`~scanner.evaluate.evaluate`, which returns every finding at once, shares: a report
that streams (:func:`~scanner.evaluate.each_finding`) holds one finding at a time, and a table
of every distinct text would be all it kept.
"""

from __future__ import annotations

import dataclasses

from scanner.model import Finding
from scanner.remediation import FindingPlan, Remediation


class Sharing:
    """One object per distinct text and per distinct control numbering, for one evaluation."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._tuples: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._mappings: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}

    def text(self, value: str) -> str:
        return self._texts.setdefault(value, value)

    def finding(self, finding: Finding) -> Finding:
        """``finding`` with its repeated values replaced by the ones handed out before (its
        fix's plans too: a plan keeps the finding and the values its texts were written from)."""
        fix = finding.remediation
        if isinstance(fix, Remediation):
            fix = Remediation(
                {fmt: self.text(text) for fmt, text in fix.items()},
                self._plan(fix.plan),
                tuple((label, self._plan(plan)) for label, plan in fix.ways),
            )
        elif fix:
            fix = self._mapping(fix)
        return self._fields(finding, fix)

    def _fields(self, finding: Finding, fix: dict[str, str]) -> Finding:
        shared = {
            "reason": self.text(finding.reason),
            "controls": self._mapping(finding.controls),
            "gaps": self._texts_of(finding.gaps),
            "patterns": self._texts_of(finding.patterns),
            "remediation": fix,
        }
        if all(value is getattr(finding, name) for name, value in shared.items()):
            return finding  # the first of its values: nothing to replace
        return dataclasses.replace(finding, **shared)  # type: ignore[arg-type]

    def _texts_of(self, values: tuple[str, ...]) -> tuple[str, ...]:
        return self._tuples.setdefault(values, tuple(self.text(value) for value in values))

    def _mapping(self, mapping: dict[str, str]) -> dict[str, str]:
        # Nothing mutates a finding's or a plan's mappings (both are frozen; reports, remediate
        # and the daemon only read them), so one dict may serve every equal one.
        key = tuple(mapping.items())
        found = self._mappings.get(key)
        if found is None:
            found = self._mappings[key] = {name: self.text(value) for name, value in key}
        return found

    def _plan(self, plan: FindingPlan) -> FindingPlan:
        return dataclasses.replace(
            plan,
            finding=self._fields(plan.finding, plan.finding.remediation),
            values=self._mapping(plan.values),
        )


__all__ = ["Sharing"]
