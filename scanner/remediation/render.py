"""Fixes in every format: a finding's own (kept in the finding), and an account's, grouped by cause.

A finding's fix is planned once (:func:`~scanner.remediation.plan.plan_finding`) and written in
every format; the plan travels with the texts (:class:`Remediation`), so that ``scanner
remediate`` can group the plans of many findings by the account and the resource they change
(:func:`plan_accounts`) and write each change once (:func:`render`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from scanner.catalog import Reference, Rule
from scanner.model import Finding, Status
from scanner.remediation.account import AccountRemediation, group
from scanner.remediation.formats import ASSEMBLERS, Document, Format
from scanner.remediation.plan import (
    FindingPlan,
    RemediationContext,
    plan_finding,
)


class Remediation(dict[str, str]):
    """A fix: format -> text, as findings carry it, and what its plan is made from.

    A plain mapping to everything that reads findings (JSON, alerts, the report); the plan is
    there for grouping, and is not serialised: a finding read back from JSON has none.

    One object serves every finding with the same fix (:func:`remediation_for`): the members an
    organization trail covers fail a rule with the fix of one change in the management account,
    and each held its own mapping of five texts and its own plan's parts (at 10,000 accounts,
    40,000 FAIL findings, ~4,000 distinct fixes). A finding's plan names the finding, so it is
    made when asked, for the finding that asks (:meth:`plan_for`, :func:`plan_of`): only
    ``scanner remediate`` and the report's grouped fixes ask.

    A fix given two ways (a member's own chain, or the organization trail's: see
    :mod:`scanner.evaluate.verdict`) belongs to one finding: it keeps each way's plan in
    ``ways``, labelled by the chain it repairs, the first being its plan; ``ways`` is empty for
    a fix given one way.
    """

    __slots__ = ("_plan", "ways")

    def __init__(
        self,
        texts: Mapping[str, str],
        plan: FindingPlan | None = None,
        ways: tuple[tuple[str, FindingPlan], ...] = (),
    ) -> None:
        super().__init__(texts)
        self._plan = plan  # made for the first finding that asked: nobody else sees it
        self.ways = ways

    def plan_for(self, finding: Finding) -> FindingPlan:
        """The plan of this fix for ``finding``, one of the findings that carry it (its own
        mappings: a caller may change them without changing the fix of the others)."""
        if self.ways:
            return self.ways[0][1]
        made = self._plan
        assert made is not None  # a fix given one way keeps the plan it was written from
        return FindingPlan(
            finding, made.steps, dict(made.regions), dict(made.values), dict(made.existing)
        )


def joined(documents: Iterable[Document]) -> str:
    """Documents as one text: a single one as it is; several as a YAML stream of documents, each
    introduced by a comment naming it (a JSON template is a YAML document too)."""
    found = list(documents)
    if len(found) == 1:
        return found[0].text
    return "---\n".join(f"# {document.name}\n{document.text}" for document in found)


def both_ways(first: tuple[str, int, str], second: tuple[str, int, str]) -> str:
    """One text for a fix given two ways, each ``(label, changes, text)``, labelled (``# Either
    fix the chain of <label> (<n> changes):``), the first first."""
    (label, count, text), (other, other_count, other_text) = first, second
    return (
        f"# Either fix the chain of {label} ({_changes(count)}):\n{text.rstrip()}\n\n"
        f"# Or fix the chain of {other} ({_changes(other_count)}):\n{other_text.rstrip()}\n"
    )


def _changes(count: int) -> str:
    return "1 change" if count == 1 else f"{count} changes"


def remediation_for(
    finding: Finding,
    rule: Rule,
    reference: Reference,
    context: Mapping[str, str] | RemediationContext,
    fixes: Fixes | None = None,
) -> dict[str, str]:
    """The fix of a FAIL finding in every format of :data:`FORMATS`; ``{}`` for PASS and ERROR.

    ``reference`` is the reference the filter is judged against (its pattern is what a new filter
    gets); ``context`` the names the scan found (see :class:`RemediationContext`). The result is a
    :class:`Remediation`, which keeps the plan. ``fixes``: the evaluation's, whose findings that
    ask alike share one fix (``None``: this fix alone).
    """
    if finding.status is not Status.FAIL or finding.broken_link is None:
        return {}
    ctx = context if isinstance(context, RemediationContext) else RemediationContext.of(context)
    return (fixes or Fixes()).remedy(_Asked(finding, rule, reference, ctx))


class _Asked:
    """What a finding's plan is made of (:func:`plan_finding` reads the finding's chain, broken
    link and profile, never its account): the members an organization trail covers ask for the
    same fix, planned once (the catalog's rule and reference are the same objects each time)."""

    __slots__ = ("_hash", "ctx", "finding", "reference", "rule")

    def __init__(
        self, finding: Finding, rule: Rule, reference: Reference, ctx: RemediationContext
    ) -> None:
        self.finding, self.rule, self.reference, self.ctx = finding, rule, reference, ctx
        self._hash = hash(
            (id(rule), id(reference), ctx, finding.chain, finding.broken_link, finding.profile)
        )

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Asked):
            return False
        mine, theirs = self.finding, other.finding
        return (
            self.rule is other.rule
            and self.reference is other.reference
            and self.ctx == other.ctx
            and mine.broken_link is theirs.broken_link
            and mine.profile == theirs.profile
            and mine.chain == theirs.chain
        )


class _Written:
    """A plan as the key of the texts written from it: what a single plan's texts depend on.

    Written alone, a plan's texts follow from its steps, regions, values and existing resources
    only (which findings a change fixes is written only when there are several), so the fix of a
    rule that one management-account change repairs for every member is written once, however
    many members fail it: written per finding it was a third of the evaluation's CPU."""

    __slots__ = ("_key", "plan")

    def __init__(self, plan: FindingPlan) -> None:
        self.plan = plan
        self._key = (
            plan.steps,
            tuple(sorted(plan.regions.items())),
            tuple(sorted(plan.values.items())),
            tuple(sorted(plan.existing.items())),
        )

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Written) and self._key == other._key


K = TypeVar("K")
T = TypeVar("T")

FIXES_KEPT = 256  # per cache of Fixes


def _bounded(cache: OrderedDict[K, T], key: K, make: Callable[[K], T]) -> T:
    """``cache[key]``, made by ``make`` if absent; the least recently used dropped beyond
    :data:`FIXES_KEPT`."""
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
        return found
    found = cache[key] = make(key)
    if len(cache) > FIXES_KEPT:
        cache.popitem(last=False)
    return found


class Fixes:
    """One evaluation's fixes: each planned and written once, one object for every finding
    that asks alike (the members an organization trail covers ask for its fixes one after the
    other).

    Bounded: the shared fixes of an organization trail stay (every member asks for them); fixes
    of members' own chains are asked for by their account's findings only, one after the other.
    Owned by the evaluation (:class:`~scanner.evaluate.sharing.Sharing`), not the module: kept
    across evaluations, a process-wide cache held up to 256 fixes of the last one (texts, plans
    and the findings asked for) that a daemon does not use, as it keeps the earlier, equal
    findings with their own (bench/README.md, "What the findings API kept").
    """

    def __init__(self) -> None:
        self._remedies: OrderedDict[_Asked, Remediation] = OrderedDict()
        self._texts: OrderedDict[_Written, tuple[tuple[str, str], ...]] = OrderedDict()

    def remedy(self, asked: _Asked) -> Remediation:
        """The fix of every finding that asks alike, one object (see :class:`Remediation`)."""
        return _bounded(self._remedies, asked, self._remedy)

    def _remedy(self, asked: _Asked) -> Remediation:
        plan = plan_finding(asked.finding, asked.rule, asked.reference, asked.ctx)
        texts: tuple[tuple[str, str], ...] = _bounded(self._texts, _Written(plan), _texts)
        return Remediation(dict(texts), plan)


def _texts(written: _Written) -> tuple[tuple[str, str], ...]:
    account = AccountRemediation.of([written.plan])
    return tuple((fmt, joined(assemble(account))) for fmt, assemble in ASSEMBLERS.items())


def plan_of(finding: Finding) -> FindingPlan | None:
    """The plan a FAIL finding's fix was written from; ``None`` for others, or one read back."""
    return fix_plan(finding.remediation, finding)


def fix_plan(fix: Mapping[str, str], finding: Finding) -> FindingPlan | None:
    """The plan of ``fix`` for ``finding``, which carries it or is about to (``None`` for no
    fix, or one read back from JSON)."""
    return fix.plan_for(finding) if isinstance(fix, Remediation) else None


def plan_accounts(findings: Iterable[Finding]) -> tuple[AccountRemediation, ...]:
    """The FAIL findings' fixes grouped by the account they act in, each change once.

    ``ValueError`` for a FAIL finding without a plan (read back from JSON: evaluate again).
    """
    plans = []
    for finding in findings:
        if finding.status is not Status.FAIL:
            continue
        plan = plan_of(finding)
        if plan is None:
            raise ValueError(
                f"the fix of {finding.account_id} {finding.rule} has no plan to group "
                "(a finding read back from JSON): evaluate the inventory again"
            )
        plans.append(plan)
    return group(plans)


def plan_account(findings: Iterable[Finding]) -> AccountRemediation:
    """The fixes of FAIL findings that all act in one account (else ``ValueError``)."""
    accounts = plan_accounts(findings)
    if len(accounts) != 1:
        raise ValueError(f"the fixes act in {len(accounts)} accounts, not one")
    return accounts[0]


def render(fmt: Format, accounts: Iterable[AccountRemediation]) -> tuple[Document, ...]:
    """The documents of ``fmt`` for each account, in order (``KeyError`` for another format)."""
    assemble = ASSEMBLERS[fmt]
    return tuple(document for account in accounts for document in assemble(account))


def failing_lines(findings: Iterable[Finding]) -> list[str]:
    """The FAIL findings, one ``# account (name) rule: reason`` line each."""
    return [
        f"# {f.account_id} ({f.account_name}) {f.rule}: {f.reason}"
        for f in findings
        if f.status is Status.FAIL
    ]


def listing(fmt: Format, findings: Iterable[Finding]) -> str:
    """What ``scanner remediate`` prints: the FAIL findings, one line each, then the documents
    of their accounts' fixes, each under a ``# ==== <file name>`` line."""
    failing = [f for f in findings if f.status is Status.FAIL]
    lines = failing_lines(failing)
    for document in render(fmt, plan_accounts(failing)):
        lines += ["", f"# ==== {document.name}", document.text.rstrip("\n")]
    return "\n".join(lines)


def files(fmt: Format, findings: Iterable[Finding]) -> tuple[Document, ...]:
    """The documents of the FAIL findings' fixes as files of a directory: one directory per
    account (``<account id>/<name>``), so that each is a configuration of its own (a Terraform
    root module, a stack's templates, a script)."""
    failing = [f for f in findings if f.status is Status.FAIL]
    return tuple(
        Document(f"{account.account_id}/{document.name}", document.text)
        for account in plan_accounts(failing)
        for document in ASSEMBLERS[fmt](account)
    )
