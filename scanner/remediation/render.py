"""A failing finding's fix in every format: plan it once, let each format write it."""

from __future__ import annotations

from collections.abc import Mapping

from scanner.catalog import Reference, Rule
from scanner.model import Finding, Status
from scanner.remediation.formats import ASSEMBLERS
from scanner.remediation.plan import RemediationContext, plan_finding


def remediation_for(
    finding: Finding,
    rule: Rule,
    reference: Reference,
    context: Mapping[str, str] | RemediationContext,
) -> dict[str, str]:
    """The fix of a FAIL finding in every format of :data:`FORMATS`; ``{}`` for PASS and ERROR.

    ``reference`` is the reference the filter is judged against (its pattern is what a new filter
    gets); ``context`` the names the scan found (see :class:`RemediationContext`).
    """
    if finding.status is not Status.FAIL or finding.broken_link is None:
        return {}
    ctx = context if isinstance(context, RemediationContext) else RemediationContext.of(context)
    plan = plan_finding(finding, rule, reference, ctx)
    return {fmt: assemble(plan) for fmt, assemble in ASSEMBLERS.items()}
