"""The evaluate layer: Inventory + rules -> Findings. Pure: no I/O, no clock.

* :mod:`~scanner.evaluate.trails`: which trails record an account's events; selectors.
* :mod:`~scanner.evaluate.alarms`: does an alarm go to ALARM on one matching event.
* :mod:`~scanner.evaluate.chains`: the walk, every chain by which a rule could hold.
* :mod:`~scanner.evaluate.verdict`: the verdict over the chains, and :func:`evaluate`.
* :mod:`~scanner.evaluate.suppressions`: accepted exceptions marked on findings.
* :mod:`~scanner.evaluate.vocabulary`: the words selecting findings by status and severity,
  one parser for the command line and the findings API.

This module only re-exports.
"""

from __future__ import annotations

from scanner.evaluate.chains import CALLS, SKIPPED_ACCOUNT_STATUSES, STUCK_AFTER, STUCK_AFTER_HOURS
from scanner.evaluate.suppressions import (
    ANY_RULE,
    Listed,
    Suppression,
    apply_suppressions,
    mark,
    unmatched,
)
from scanner.evaluate.trails import covering_trails, selectors_problem
from scanner.evaluate.verdict import OutsideVerdicts, decided_outside, each_finding, evaluate

__all__ = [
    "ANY_RULE",
    "CALLS",
    "SKIPPED_ACCOUNT_STATUSES",
    "STUCK_AFTER",
    "STUCK_AFTER_HOURS",
    "Listed",
    "OutsideVerdicts",
    "Suppression",
    "apply_suppressions",
    "covering_trails",
    "decided_outside",
    "each_finding",
    "evaluate",
    "mark",
    "selectors_problem",
    "unmatched",
]
