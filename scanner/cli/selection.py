"""Which findings a report is about, and which of them the table shows.

Two different questions, kept apart on purpose:

* ``--rules`` and ``--severity`` *select*: the other findings are not part of the run's answer,
  so they leave the summary, the machine formats and the exit code (``--severity high+`` is a
  CI gate on high and critical findings only).
* ``--status`` *shows*: the table lists FAIL and ERROR by default because a PASS needs no
  action, but the counts and the exit code still cover every selected finding. For json and the
  other formats every status is written unless ``--status`` is given.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from scanner.catalog import Catalog, Profile
from scanner.cli.output import PROG
from scanner.cli.validate import names
from scanner.errors import InputError, UnknownNameError, UsageError
from scanner.evaluate import Listed, Suppression, mark, unmatched
from scanner.evaluate.vocabulary import parse_severities, parse_statuses
from scanner.model import Finding, Inventory, Status

DEFAULT_SHOWN = frozenset({Status.FAIL, Status.ERROR})


def statuses(text: str) -> frozenset[Status]:
    """``--status fail,error`` (any case) or ``all``: the findings API's vocabulary too."""
    try:
        return parse_statuses([text])
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def severities(text: str) -> frozenset[str]:
    """``--severity high,critical``, or ``high+`` for high and above (as the findings API)."""
    try:
        return parse_severities([text])
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def report_options(sub: argparse.ArgumentParser) -> None:
    """``--status``, ``--severity``, ``--rules``, ``--quiet``, ``--verbose`` and ``--output`` of
    a report."""
    group = sub.add_argument_group("what the report shows")
    group.add_argument(
        "--status",
        type=statuses,
        metavar="LIST",
        help="statuses the table lists (default: fail,error; 'all' for every finding); "
        "other formats write every status unless given",
    )
    group.add_argument(
        "--severity",
        type=severities,
        metavar="LIST",
        help="only these severities (low, medium, high, critical; 'high+' for high and above); "
        "also decides the exit code",
    )
    group.add_argument(
        "--rules",
        type=names,
        default=(),
        metavar="LIST",
        help="only these rules: rule ids or control ids (4.4, CloudWatch.4, cis-1.2:3.4)",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", help="no table and no progress: the last line only"
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="the table prints, under each FAIL or ERROR, the metric filter pattern it judged",
    )
    group.add_argument("--output", metavar="FILE", help="write the report to FILE")
    group.add_argument(
        "--suppressions",
        metavar="FILE",
        help="accepted exceptions (YAML: account or ou, rule, reason, expires): their findings "
        "keep their status, are marked suppressed and do not decide the exit code",
    )


@dataclass(frozen=True)
class Selection:
    """The findings a report is about (``rules``, ``severities``) and the statuses it lists."""

    rules: frozenset[str] | None = None
    severities: frozenset[str] | None = None
    shown: frozenset[Status] | None = None  # None: the table's default, every status elsewhere
    quiet: bool = False
    suppressions: tuple[Suppression, ...] = ()
    verbose: bool = False  # the table prints the judged patterns under a failing finding
    today: date = field(default_factory=lambda: datetime.now(UTC).date())

    @classmethod
    def from_args(cls, args: argparse.Namespace, catalog: Catalog, profile: Profile) -> Selection:
        """Rule and control ids are resolved and the suppressions file read now: a mistake in
        either fails before any work."""
        rules = None
        if args.rules:
            # A bare control id is read in the profile -r chose; without -r, in every standard.
            chosen = profile if getattr(args, "rules_profile", None) is not None else None
            try:
                found = catalog.find_rules(args.rules, chosen)
            except UnknownNameError as err:
                raise UsageError(f"--rules: {err}") from None
            rules = frozenset(rule.id for rule in found)
        suppressions: tuple[Suppression, ...] = ()
        if getattr(args, "suppressions", None):
            from scanner.daemon.config.suppressions import load_suppressions

            suppressions = load_suppressions(args.suppressions, catalog)
        return cls(
            rules,
            args.severity,
            args.status,
            args.quiet,
            suppressions,
            verbose=getattr(args, "verbose", False),
        )

    def warn_unmatched(
        self, catalog: Catalog, profile: Profile, accounts: Sequence[Listed] | None
    ) -> None:
        """``scanner: warning: ...`` on stderr for each suppression that matches nothing: its
        rule is not in the profile, or (``accounts``: the organization as listed; None when not
        listed) its account or OU is not in the organization."""
        rules = {rule.id for rule in catalog.rules_in(profile)}
        for warning in unmatched(self.suppressions, profile.name, rules, accounts):
            print(f"{PROG}: warning: {warning}", file=sys.stderr)

    def marked(self, findings: Iterable[Finding], inventory: Inventory) -> Iterator[Finding]:
        """The findings as they come, those an exception covers marked suppressed."""
        for finding in findings:
            if not self.suppressions:
                yield finding
                continue
            account = inventory.account(finding.account_id)
            path, ids = (account.ou_path, account.ou_ids) if account is not None else ((), ())
            yield mark(finding, self.suppressions, self.today, path, ids)

    def selects(self, finding: Finding) -> bool:
        return (self.rules is None or finding.rule in self.rules) and (
            self.severities is None or finding.severity in self.severities
        )

    def select(self, findings: Iterable[Finding]) -> list[Finding]:
        return [f for f in findings if self.selects(f)]

    def shown_in(self, fmt: str) -> frozenset[Status]:
        if self.shown is not None:
            return self.shown
        return DEFAULT_SHOWN if fmt == "table" else frozenset(Status)

    def show(self, findings: Sequence[Finding], fmt: str) -> list[Finding]:
        wanted = self.shown_in(fmt)
        return [f for f in findings if f.status in wanted]
