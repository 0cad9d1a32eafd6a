"""The report of ``evaluate``, ``scan`` and ``demo``: one table and one JSON for all three.

A scan adds its own figures (regions, API calls, duration, suspended accounts, failed calls per
account) to the summary. An inventory whose organization listing missed some parents (roots or
OUs whose accounts or child OUs could not be listed) says so in every format: a line per parent
in the table, ``summary.listing_incomplete`` in JSON, and exit code 1 like any ERROR, since
accounts under those parents have no verdict at all.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from scanner.catalog import Profile
from scanner.cli.export import export
from scanner.cli.output import (
    EXIT_FINDINGS,
    EXIT_OK,
    Out,
    plural,
)
from scanner.cli.selection import Selection
from scanner.model import CollectionError, Finding, Inventory, Status
from scanner.report import FORMATS, summaries
from scanner.report.compact import COMPACT, FULL, Tables, one_line

if TYPE_CHECKING:
    from scanner.aws import CollectResult


@dataclass(frozen=True)
class ScanFacts:
    """What a scan adds to the report: where it looked, what it cost, what it skipped."""

    regions: tuple[str, ...]
    api_calls: int
    retries: int
    throttles: int  # calls still throttled after their retries
    seconds: float
    suspended: tuple[tuple[str, str, str], ...]  # (id, name, status)
    account_errors: Mapping[str, tuple[str, ...]]
    notes: Mapping[str, str] = field(default_factory=dict)  # per account, printed under it
    throttled_responses: int = 0  # every throttled answer, retried or not
    # ``--confirm``: events on which AWS's engine (TestMetricFilter) and the scanner disagree;
    # ``None`` when it was not asked.
    engine_disagreements: int | None = None
    # ``--confirm``: PASS paths whose alarm's latest notification failed in AWS's alarm history
    # (DescribeAlarmHistory), and the failed notifications that history holds.
    alarm_history_disagreements: int | None = None
    failed_alarm_actions: int | None = None


class Counted(Protocol):
    """What the summaries read of a finding (a :class:`Finding`, or its brief)."""

    @property
    def account_id(self) -> str: ...
    @property
    def rule(self) -> str: ...
    @property
    def status(self) -> Status: ...
    @property
    def suppressed(self) -> bool: ...


class _Brief(NamedTuple):
    """A finding reduced to what the summary counts: kept instead of the finding while the JSON
    report streams, so its memory is the work in flight, not the organization."""

    account_id: str
    rule: str
    status: Status
    suppressed: bool


def summary(findings: Sequence[Counted], profile: Profile) -> dict[str, Any]:
    counts = Counter(str(f.status) for f in findings)
    return {
        "profile": profile.name,
        "accounts": len({f.account_id for f in findings}),
        "findings": len(findings),
        **{status.value: counts.get(status.value, 0) for status in Status},
        "suppressed": sum(1 for f in findings if f.suppressed),
    }


# The Organizations calls whose failure leaves accounts out of the listing.
LISTING_OPERATIONS = frozenset({"ListAccountsForParent", "ListOrganizationalUnitsForParent"})


def listing_gaps(inventory: Inventory) -> list[CollectionError]:
    """The organization listing's failed calls, each naming the parent it could not list."""
    return [
        e
        for e in inventory.errors
        if e.service == "organizations" and e.operation in LISTING_OPERATIONS
    ]


def listing_summary(inventory: Inventory) -> dict[str, Any]:
    """``listing_incomplete``: the parents not listed, with the call that failed; {} if none."""
    gaps = listing_gaps(inventory)
    if not gaps:
        return {}
    return {
        "listing_incomplete": [
            {"parent": e.resource or "", "operation": e.operation, "error": e.describe()}
            for e in gaps
        ]
    }


def scan_summary(findings: Sequence[Counted], facts: ScanFacts) -> dict[str, Any]:
    return {
        "rules": len({f.rule for f in findings}),
        "regions": list(facts.regions),
        "api_calls": facts.api_calls,
        "retries": facts.retries,
        "throttled_responses": facts.throttled_responses,
        "throttles": facts.throttles,
        "duration_seconds": round(facts.seconds, 3),
        "suspended": [
            {"account_id": i, "account_name": n, "status": s} for i, n, s in facts.suspended
        ],
        "account_errors": {k: list(v) for k, v in facts.account_errors.items()},
        **(
            {"engine_disagreements": facts.engine_disagreements}
            if facts.engine_disagreements is not None
            else {}
        ),
        **(
            {
                "alarm_history_disagreements": facts.alarm_history_disagreements,
                "failed_alarm_actions": facts.failed_alarm_actions,
            }
            if facts.alarm_history_disagreements is not None
            else {}
        ),
    }


def _reason(finding: Finding, verbose: bool = False) -> str:
    """The reason, one line per gap under it when it sums up several, then (``--verbose``, on a
    FAIL or ERROR) each metric filter pattern judged, then the suppression."""
    lines = [finding.reason]
    if len(finding.gaps) > 1:
        lines.extend(f"- {gap}" for gap in finding.gaps)
    if verbose and finding.status is not Status.PASS:
        lines.extend(f"pattern: {pattern}" for pattern in finding.patterns)
    if finding.suppression:
        suppressed = finding.suppressed
        lines.append(f"suppressed: {finding.suppression}" if suppressed else finding.suppression)
    return "\n".join(lines)


def account_rows(out: Out, group: Sequence[Finding], *, verbose: bool = False) -> None:
    errors = {f.reason for f in group if f.status is Status.ERROR}
    unmarked = not any(f.suppression for f in group)
    if (
        unmarked
        and len(group) > 1
        and len(errors) == 1
        and all(f.status is Status.ERROR for f in group)
    ):
        # An account that could not be scanned: one reason for every rule, said once.
        out.line(f"  {out.paint('ERROR', 'ERROR')}  all {len(group)} rules: {errors.pop()}")
        return
    rows = [
        [
            str(f.status),
            f.rule,
            str(f.broken_link) if f.broken_link is not None else "-",
            _reason(f, verbose),
        ]
        for f in group
    ]
    out.table(["STATUS", "RULE", "BROKEN LINK", "REASON"], rows, indent="  ")


def report(
    out: Out,
    findings: Iterable[Finding],
    profile: Profile,
    inventory: Inventory,
    *,
    facts: ScanFacts | None = None,
    fmt: str = "table",
    selection: Selection | None = None,
    detail: str = COMPACT,
) -> int:
    """Print the findings (table, JSON or a format of :mod:`scanner.report`); the exit code.

    ``detail`` (``--detail``) is the shape of json and jsonl: ``compact`` writes each distinct
    verdict, chain and fix once and the findings name them, ``full`` embeds them in every
    finding (see :mod:`scanner.report.compact`).

    ``selection`` narrows the findings (the summary and the exit code follow it) and says which
    statuses are listed (see :mod:`scanner.cli.selection`).

    The formats of :mod:`scanner.report` get the findings as they come: a streaming one writes
    each before the next is computed, and the exit code is counted on the way. The table and
    JSON, with their summaries, take them all first.
    """
    chosen = selection or Selection()
    findings = chosen.marked(findings, inventory)
    if fmt in FORMATS:
        tally: Counter[Status] = Counter()
        wanted = chosen.shown_in(fmt)

        def streamed() -> Iterator[Finding]:
            for finding in findings:
                if chosen.selects(finding):
                    tally[finding.status] += not finding.suppressed
                    if finding.status in wanted:
                        yield finding

        export(out, fmt, streamed(), profile, inventory, detail=detail)
        incomplete = bool(listing_gaps(inventory))
        return EXIT_FINDINGS if tally[Status.FAIL] + tally[Status.ERROR] or incomplete else EXIT_OK
    if fmt == "json":
        return _stream_json(
            out, findings, profile, chosen, facts, inventory=inventory, detail=detail
        )
    selected = chosen.select(findings)
    shown = chosen.show(selected, fmt)
    totals = summary(selected, profile)
    if facts is not None:
        totals.update(scan_summary(selected, facts))
    totals.update(listing_summary(inventory))
    if chosen.quiet:
        final_line(out, profile, totals)
    else:
        if not shown and selected:
            listed = sorted(chosen.shown_in(fmt), key=list(Status).index)
            out.line(f"(no {' or '.join(listed)} finding to list; --status all lists every one)")
        report_table(
            out,
            shown,
            selected,
            profile,
            inventory,
            facts=facts,
            summary=totals,
            verbose=chosen.verbose,
        )
        final_line(out, profile, totals)
    failed = any(f.status is not Status.PASS and not f.suppressed for f in selected)
    return EXIT_FINDINGS if failed or "listing_incomplete" in totals else EXIT_OK


def _stream_json(
    out: Out,
    findings: Iterable[Finding],
    profile: Profile,
    chosen: Selection,
    facts: ScanFacts | None,
    *,
    inventory: Inventory,
    detail: str = COMPACT,
) -> int:
    """``{"findings": [...], "verdicts": {...}, "chains": {...}, "fixes": {...}, "summary":
    {...}}`` written a finding at a time, as they are decided; the tables of the distinct
    verdicts, chains and fixes the findings name, and the summary, which counts them all, come
    last. Each finding and each table entry is one line (``jq``, ``grep`` and a reader of a
    line at a time still work), without the indentation that was a large share of the bytes.
    ``--detail full``: no tables, each finding carries everything, the same document
    ``json.dumps(..., indent=2)`` would write."""
    wanted = chosen.shown_in("json")
    briefs: list[_Brief] = []
    write = out.stream.write
    tables = Tables()
    write('{\n  "findings": [' if detail == FULL else '{"findings":[')
    written = 0
    for finding in findings:
        if not chosen.selects(finding):
            continue
        briefs.append(_Brief(finding.account_id, finding.rule, finding.status, finding.suppressed))
        if finding.status not in wanted:
            continue
        if detail == FULL:
            text = json.dumps(finding.to_json(), indent=2, ensure_ascii=False)
            write(("," if written else "") + "\n" + textwrap.indent(text, "    "))
        else:
            write(("," if written else "") + "\n" + one_line(tables.compact(finding).finding))
        written += 1
    totals = summary(briefs, profile)
    if facts is not None:
        totals.update(scan_summary(briefs, facts))
    totals.update(listing_summary(inventory))
    if detail == FULL:
        write("\n  ]" if written else "]")
        text = json.dumps(totals, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        write(f',\n  "summary": {text}\n}}\n')
    else:
        write("\n]" if written else "]")
        for name, table in (
            ("verdicts", tables.verdicts),
            ("chains", tables.chains),
            ("fixes", tables.fixes),
        ):
            write(f',\n"{name}":{{')
            _write_entries(write, table.items())
        write(f',\n"summary":{one_line(totals)}\n}}\n')
    failed = any(b.status is not Status.PASS and not b.suppressed for b in briefs)
    return EXIT_FINDINGS if failed or "listing_incomplete" in totals else EXIT_OK


def _write_entries(write: Callable[[str], object], items: Iterable[tuple[str, Any]]) -> None:
    """A table's entries (after its opening brace), one a line (a table may be megabytes)."""
    separator = "\n"
    for key, value in items:
        write(f"{separator}{one_line(key)}:{one_line(value)}")
        separator = ",\n"
    write("}" if separator == "\n" else "\n}")


def by_rule(out: Out, findings: Sequence[Finding], shown: Sequence[Finding]) -> None:
    """Accounts per status for each rule that has a listed finding, worst first."""
    listed = {f.rule for f in shown}
    ranked = [row for row in summaries.by_rule(findings) if row.rule in listed]
    if not ranked:
        return
    rows = [
        [row.rule, *(str(row.counts[s]) for s in (Status.FAIL, Status.ERROR, Status.PASS))]
        for row in ranked
    ]
    out.line("By rule (accounts)")
    out.table(["RULE", "FAIL", "ERROR", "PASS"], rows, indent="  ")
    out.line()


def by_ou(out: Out, findings: Sequence[Finding], inventory: Inventory) -> None:
    """Findings per status for each OU path, when the accounts come from an organization."""
    counted = summaries.by_ou(findings, inventory)
    if not counted:
        return
    rows = [
        [
            row.ou,
            str(row.accounts),
            *(str(row.counts[s]) for s in (Status.FAIL, Status.ERROR, Status.PASS)),
        ]
        for row in counted
    ]
    out.line("By OU (findings)")
    out.table(["OU", "ACCOUNTS", "FAIL", "ERROR", "PASS"], rows, indent="  ")
    out.line()


def final_line(out: Out, profile: Profile, summary: Mapping[str, Any]) -> None:
    counts = ", ".join(
        f"{out.paint(str(summary[s.value]) + ' ' + s.value, s.value)}" for s in Status
    )
    accounts_text = plural(summary["accounts"], "account")
    suppressed = f" ({summary['suppressed']} suppressed)" if summary["suppressed"] else ""
    gaps = summary.get("listing_incomplete") or ()
    incomplete = (
        f"; organization listing incomplete: {plural(len(gaps), 'parent')} not listed"
        if gaps
        else ""
    )
    out.line(
        f"{summary['findings']} findings in {accounts_text} (profile {profile.name}): "
        f"{counts}{suppressed}{incomplete}"
    )


def report_table(
    out: Out,
    shown: Sequence[Finding],
    findings: Sequence[Finding],
    profile: Profile,
    inventory: Inventory,
    *,
    facts: ScanFacts | None,
    summary: Mapping[str, Any],
    verbose: bool = False,
) -> None:
    """The listed findings by account, then the summaries by rule and by OU of all of them."""
    accounts: dict[str, list[Finding]] = {}
    for finding in shown:
        accounts.setdefault(finding.account_id, []).append(finding)
    for account_id, group in accounts.items():
        account = inventory.account(account_id)
        where = f"  ({'/'.join(account.ou_path)})" if account and account.ou_path else ""
        out.line(f"{account_id}  {group[0].account_name}{where}")
        note = facts.notes.get(account_id) if facts else None
        if note:
            out.line(f"  {note}")
        account_rows(out, group, verbose=verbose)
        out.line()
    by_rule(out, findings, shown)
    by_ou(out, findings, inventory)
    for gap in summary.get("listing_incomplete") or ():
        out.line(
            f"{out.paint('ERROR', 'ERROR')}  organization listing incomplete: {gap['parent']} "
            f"({gap['error']}): its accounts have no verdict"
        )
    if facts is not None:
        for account_id, name, status in facts.suspended:
            out.line(f"{account_id}  {name}  {status.lower()}: not scanned")
        if facts.suspended:
            out.line()
        errors = sum(len(v) for v in facts.account_errors.values())
        out.line(
            f"Scanned {plural(summary['accounts'], 'account')} in "
            f"{plural(len(facts.regions), 'region')} for {plural(summary['rules'], 'rule')}: "
            f"{facts.api_calls} API calls ({facts.retries} retries, "
            f"{facts.throttled_responses} throttled responses, "
            f"{facts.throttles} still throttled after retries, "
            f"{plural(errors, 'failed call')} recorded) in {facts.seconds:.1f} s"
        )
        if facts.suspended:
            out.line(f"Skipped {plural(len(facts.suspended), 'account')} not ACTIVE (see above)")
        if facts.engine_disagreements is not None:
            out.line(
                "AWS's engine (TestMetricFilter) disagrees with the scanner on "
                f"{plural(facts.engine_disagreements, 'event')}"
                + (": see the findings' notes" if facts.engine_disagreements else "")
            )
        if facts.alarm_history_disagreements is not None:
            failed = facts.failed_alarm_actions or 0
            out.line(
                "AWS's alarm history (DescribeAlarmHistory) holds "
                f"{plural(failed, 'failed notification')}, and disagrees with the scanner on "
                f"{plural(facts.alarm_history_disagreements, 'path')}"
                + (": see the findings' notes" if failed else "")
            )


def facts_of(collected: CollectResult, notes: Mapping[str, str] | None = None) -> ScanFacts:
    inventory = collected.inventory
    errors: dict[str, tuple[str, ...]] = {}
    for account in inventory.accounts:
        described = [e.describe() for e in (account.error, *account.errors) if e is not None]
        if described:
            errors[account.id] = tuple(dict.fromkeys(described))
    if inventory.errors:
        errors["organization"] = tuple(e.describe() for e in inventory.errors)
    regions = sorted({r for a in inventory.accounts for r in a.regions})
    stats = collected.stats
    return ScanFacts(
        regions=tuple(regions),
        api_calls=stats.calls,
        retries=stats.retries,
        throttles=stats.throttles,
        throttled_responses=stats.throttled_responses,
        seconds=collected.duration,
        suspended=tuple((a.id, a.name, a.status) for a in collected.suspended),
        account_errors=errors,
        notes=dict(notes or {}),
    )
