"""The fixes of an account, grouped by cause: each change once, however many findings it repairs.

Why. Findings fail one rule at a time, but their causes are shared: a trail that does not log
breaks every rule it carries, in every member an organization trail covers. Written per finding,
the fix repeats the same command and declares the same resource over and over, which no tool
accepts. So the plans of the failing findings are grouped by the account the fix acts in (for an
organization trail's member, the management account), and within it every *change* (a step on one
resource, :meth:`FindingPlan.key`) is written once, naming the findings it repairs.

Invariants:

* Changes run in :data:`STEP_ORDER`, and within a step in the order of the findings.
* A change is written with the values of the first finding that calls for it; findings that share
  a resource see the same resource, so their values agree.
* Declarative formats declare a resource once (:meth:`AccountRemediation.resources`), for all
  the changes that touch it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scanner.model import Finding
from scanner.remediation.plan import STEP_ORDER, FindingPlan, Resource, Step


@dataclass(frozen=True, slots=True)
class Change:
    """One step on one resource; ``plan`` writes it, ``fixes`` are the findings it repairs."""

    step: Step
    resource: Resource
    plan: FindingPlan
    fixes: tuple[Finding, ...]

    @property
    def key(self) -> tuple[str, ...]:
        return self.plan.key(self.resource)

    @property
    def region(self) -> str:
        return self.plan.region(self.resource)


@dataclass(frozen=True, slots=True)
class AccountRemediation:
    """Every change that fixes the failing findings whose fix acts in ``account_id``."""

    account_id: str
    plans: tuple[FindingPlan, ...]
    changes: tuple[Change, ...]

    @classmethod
    def of(cls, plans: Sequence[FindingPlan]) -> AccountRemediation:
        """The changes of some findings' plans, all acting in one account (else ``ValueError``)."""
        accounts = {plan.account_id for plan in plans}
        if len(accounts) != 1:
            raise ValueError(f"plans of {len(accounts)} accounts, not one: {sorted(accounts)}")
        found: dict[tuple[Step, tuple[str, ...]], tuple[FindingPlan, Resource, list[Finding]]] = {}
        for step in STEP_ORDER:
            for plan in plans:
                if step not in plan.steps:
                    continue
                for resource in plan.changes(step):
                    entry = found.setdefault((step, plan.key(resource)), (plan, resource, []))
                    entry[2].append(plan.finding)
        changes = tuple(
            Change(step, resource, plan, tuple(fixes))
            for (step, _), (plan, resource, fixes) in found.items()
        )
        return cls(accounts.pop(), tuple(plans), changes)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(plan.finding for plan in self.plans)

    def resources(self) -> tuple[Change, ...]:
        """Each resource the changes touch, once: its first change, fixing all their findings."""
        first: dict[tuple[str, ...], Change] = {}
        fixes: dict[tuple[str, ...], dict[tuple[str, str], Finding]] = {}
        for change in self.changes:
            first.setdefault(change.key, change)
            fixes.setdefault(change.key, {}).update(
                ((f.account_id, f.rule), f) for f in change.fixes
            )
        return tuple(
            Change(c.step, c.resource, c.plan, tuple(fixes[key].values()))
            for key, c in first.items()
        )

    def creates(self, key: tuple[str, ...]) -> bool:
        """Whether the changes create or declare that resource (so others may refer to it)."""
        return any(change.key == key for change in self.changes)


def group(plans: Iterable[FindingPlan]) -> tuple[AccountRemediation, ...]:
    """The plans grouped by the account their fix acts in, in the order accounts first appear."""
    by_account: dict[str, list[FindingPlan]] = {}
    for plan in plans:
        by_account.setdefault(plan.account_id, []).append(plan)
    return tuple(AccountRemediation.of(found) for found in by_account.values())


__all__ = ["AccountRemediation", "Change", "group"]
