"""Failing findings grouped by cause, the most severe first, and what to do about an ERROR.

A *cause* is one broken thing: in one account, the link a FAIL broke (the first unknown link of
an ERROR) on one resource. A topic without a confirmed subscriber fails every rule whose alarm
notifies it, and it is one problem to fix, so its findings are one :class:`Cause`. Links that
are judged per rule (each rule's own alarm) have a resource per rule, so each stays its own
cause; a log group with no filter for nine rules is one cause with nine rules, each with its
own reason. A finding without a chain (an account that could not be entered) is grouped by its
reason. Causes are ordered as a reader triages: the highest severity among their rules first,
FAIL before ERROR, the most rules first, then by account.

Pure: reads findings and the inventory's accounts (for the failed call that kept one out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scanner.catalog import SEVERITIES
from scanner.model import LINK_SPECS, Account, Finding, Link, LinkResult, Status
from scanner.remediation import (
    AccountRemediation,
    FindingPlan,
    Format,
    Remediation,
    both_ways,
    plan_accounts,
    plan_of,
    render,
)
from scanner.report.context import focus


def severity_rank(severity: str) -> int:
    """Larger is worse; a severity the catalog does not know ranks below ``low``."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


@dataclass(frozen=True, slots=True)
class Cause:
    """The failing findings of one account that one broken (or unread) resource explains."""

    account_id: str
    account_name: str
    status: Status
    link: Link | None  # the broken link, or the first unknown one; None without a chain
    resource: str  # the resource that link was judged on ("" when none)
    resource_account: str  # the account that resource lives in ("" when none)
    findings: tuple[Finding, ...]

    @property
    def severity(self) -> str:
        """The highest severity among the cause's rules."""
        return max((f.severity for f in self.findings), key=severity_rank)

    @property
    def same_reason(self) -> bool:
        return len({f.reason for f in self.findings}) == 1

    @property
    def headline(self) -> str:
        """What broke: the reason, when every rule gives the same one; else the link's failure
        on the resource (each rule then keeps its own reason)."""
        if self.same_reason:
            return self.findings[0].reason
        if self.link is None:
            return f"{len(self.findings)} rules cannot be judged"
        spec = LINK_SPECS[self.link]
        where = f" on {self.resource}" if self.resource else ""
        elsewhere = (
            f" in account {self.resource_account}"
            if self.resource_account and self.resource_account != self.account_id
            else ""
        )
        verb = "breaks" if self.status is Status.FAIL else "is unknown"
        return f"the {self.link} link {verb}{where}{elsewhere}: {spec.failure_means}"


def _key(finding: Finding) -> tuple[str, Status, str, str]:
    link = focus(finding)
    if link is None:
        return finding.account_id, finding.status, "", finding.reason
    return finding.account_id, finding.status, str(link.link), link.resource


def causes(findings: Iterable[Finding]) -> list[Cause]:
    """The FAIL and ERROR findings grouped by cause, in triage order (see the module)."""
    groups: dict[tuple[str, Status, str, str], list[Finding]] = {}
    for finding in findings:
        if finding.status is not Status.PASS:
            groups.setdefault(_key(finding), []).append(finding)
    found = []
    for same in groups.values():
        link: LinkResult | None = focus(same[0])
        found.append(
            Cause(
                account_id=same[0].account_id,
                account_name=same[0].account_name,
                status=same[0].status,
                link=link.link if link is not None else None,
                resource=link.resource if link is not None else "",
                resource_account=link.account_id if link is not None else "",
                findings=tuple(same),
            )
        )
    return sorted(
        found,
        key=lambda c: (
            -severity_rank(c.severity),
            c.status is not Status.FAIL,
            -len(c.findings),
            c.account_id,
        ),
    )


# --------------------------------------------------------------------------------------------
# What to do about an ERROR: the scanner could not read something, so nothing is decided yet.

MEMBER_ROLE_HELP = (
    "Deploy the scanner's member role in this account (deploy/iam/member-role.yaml, or the "
    "StackSet deploy/iam/member-stackset.yaml over its OU), check that its name is the "
    "configured organization.member_role_name and that organization.external_id is the "
    "ExternalId the role trusts, then scan again."
)
READ_HELP = (
    "Grant the member role the read call that failed (deploy/iam lists every call the scanner "
    "makes), or wait out a throttled or unavailable service, then scan again; the rule is "
    "neither passed nor failed until the resource is read."
)
NOT_ENTERED_HELP = (
    "The account was left out on purpose when it was scanned (no rule of that profile depended "
    "on it): scan again with this profile, or with --deep."
)


def error_guidance(cause: Cause, account: Account | None) -> str:
    """What to do about an ERROR cause, quoting the call that failed when one did."""
    error = account.error if account is not None else None
    if error is not None:
        described = error.describe()
        call = "" if described in cause.headline else f"The failed call: {described}."
        if error.service == "sts" and error.operation == "AssumeRole":
            return (
                f"The scanner could not assume its role in this account. {call} {MEMBER_ROLE_HELP}"
            )
        return f"The scanner could not enter this account. {call} {READ_HELP}"
    if account is not None and not account.entered:
        return NOT_ENTERED_HELP
    if cause.link is not None:
        where = f" on {cause.resource}" if cause.resource else ""
        return f"The scanner could not read the {cause.link} link{where}. {READ_HELP}"
    return READ_HELP


# --------------------------------------------------------------------------------------------
# One fix for a cause, naming every rule it repairs.

BOTH_WAYS = "# Or fix the chain of"  # a finding's fix given for two chains (scanner.evaluate)


def grouped_fix(cause: Cause, fmt: Format) -> str | None:
    """The fix of every FAIL finding of the cause in ``fmt``, each change once and naming the
    rules it repairs; ``None`` when the findings need fixes of their own.

    With the plans the evaluator keeps (:func:`scanner.remediation.plan_of`), the changes are
    grouped as ``scanner remediate`` groups them. Findings read back from JSON have none: their
    texts are one fix when they differ only in the rule they name, which then names them all.
    A fix given both ways (a member's own chain or the organization trail's) stays per rule."""
    failing = [f for f in cause.findings if f.status is Status.FAIL and f.remediation.get(fmt)]
    if not failing or len(failing) < len(cause.findings):
        return None
    if len(failing) == 1:
        return failing[0].remediation[fmt]
    if any(BOTH_WAYS in f.remediation[fmt] for f in failing):
        return _both_ways(failing, fmt)
    if all(plan_of(f) is not None for f in failing):
        return "\n\n".join(d.text.rstrip("\n") for d in render(fmt, plan_accounts(failing)))
    marker = "\x00rule\x00"
    texts = {f.remediation[fmt].replace(f"{f.title} ({f.rule})", marker) for f in failing}
    if len(texts) != 1:
        return None
    rules = ", ".join(f.rule for f in failing)
    return texts.pop().replace(marker, f"{len(failing)} rules ({rules})")


def _both_ways(failing: list[Finding], fmt: Format) -> str | None:
    """The fixes given two ways, grouped way by way (each way's plans act in one account):
    the shorter way first. ``None`` when some finding has no plans (read back from JSON)."""
    ways: dict[str, list[FindingPlan]] = {}
    for finding in failing:
        fix = finding.remediation
        if not isinstance(fix, Remediation) or len(fix.ways) != 2:
            return None
        for label, plan in fix.ways:
            ways.setdefault(label, []).append(plan)
    if len(ways) != 2 or any(len(plans) != len(failing) for plans in ways.values()):
        return None
    grouped = []
    for label, plans in ways.items():
        account = AccountRemediation.of(plans)
        text = "\n\n".join(d.text.rstrip("\n") for d in render(fmt, [account]))
        grouped.append((label, len(account.changes), text))
    first, second = sorted(grouped, key=lambda way: way[1])
    return both_ways(first, second)
