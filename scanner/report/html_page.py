"""``--format html``: one self-contained page to hand to whoever owns the broken accounts.

Self-contained means one file that shows the same anywhere, offline: the CSS is inline, there is
no script, no font, image or stylesheet fetched, no link that leaves the page.

The page reads top-down as a triage: the counts; the accounts with their OU paths; the summaries
by rule and by OU (the table format's figures, :mod:`scanner.report.summaries`); the accounts not
scanned (suspended, closing); then what to fix, one card per *cause*
(:mod:`scanner.report.causes`: one account's broken link on one resource, so a topic without a
subscriber is one card naming its nine rules), the most severe first. A card says what broke,
names every rule it breaks, shows the filter pattern judged next to the events it misses (once),
each rule's chain folded, and one fix that names every rule it repairs (console steps open, the
AWS CLI folded); an ERROR card says what to do (deploy the member role, check the ExternalId, or
the call that failed). The rules that pass close the page, folded per account.

An organization of :data:`LARGE_REPORT` accounts or more would make that page hundreds of
megabytes (24.5 MB at 1,000 accounts, most of it the same fix repeated in every member the
organization trail covers), so its page is a summary first: the tables by rule, by OU and by
cause (the accounts each broken resource fails), then only the accounts with a FAIL or ERROR; a
resource of another account that fails many accounts the same way is one card naming them;
each distinct fix is written once at the end and the cards link to it; the passing rules are
left to the by-rule counts.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from html import escape

from scanner.catalog import SEVERITIES
from scanner.evaluate import SKIPPED_ACCOUNT_STATUSES
from scanner.model import LINKS, Finding, Link, LinkStatus, Status
from scanner.report import summaries
from scanner.report.causes import (
    BOTH_WAYS,
    Cause,
    causes,
    error_guidance,
    grouped_fix,
    severity_rank,
)
from scanner.report.context import ReportContext

LARGE_REPORT = 1000  # accounts from which the page lists failing accounts only, each fix once
BY_CAUSE_ROWS = 50  # the "By cause" table's rows at most (the most accounts first)
NAMED_ACCOUNTS = 10  # accounts a card shared by many names before counting the rest

STYLE = """
:root { --pass: #1a7f37; --fail: #cf222e; --error: #9a6700; --muted: #59636e;
  --line: #d1d9e0; --bg: #f6f8fa; font-family: system-ui, -apple-system, "Segoe UI",
  Roboto, "Helvetica Neue", Arial, sans-serif; color: #1f2328; }
body { margin: 0 auto; max-width: 1180px; padding: 24px 32px 48px; line-height: 1.45; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 32px 0 12px;
  border-bottom: 1px solid var(--line); padding-bottom: 6px; }
h3 { font-size: 16px; margin: 24px 0 8px; } .meta { color: var(--muted); margin: 0 0 16px; }
.tiles { display: flex; gap: 12px; flex-wrap: wrap; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 10px 18px; min-width: 110px;
  background: var(--bg); } .tile b { display: block; font-size: 28px; }
.tile.pass b { color: var(--pass); } .tile.fail b { color: var(--fail); }
.tile.error b { color: var(--error); }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; } th { background: var(--bg); }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; width: 56px; }
.badge { display: inline-block; font-size: 12px; font-weight: 700; border-radius: 4px;
  padding: 1px 7px; color: #fff; vertical-align: 1px; }
.badge.PASS { background: var(--pass); } .badge.FAIL { background: var(--fail); }
.badge.ERROR { background: var(--error); }
.finding { border: 1px solid var(--line); border-left: 5px solid var(--fail);
  border-radius: 6px; padding: 10px 14px; margin: 10px 0; }
.finding.ERROR { border-left-color: var(--error); }
.finding h4 { margin: 0 0 4px; font-size: 15px; }
.rule, .controls, .sev { color: var(--muted); font-weight: 400; font-size: 13px; }
.reason { margin: 4px 0 8px; }
ol.chain { list-style: none; padding: 0; margin: 6px 0; font-size: 13px; }
ol.chain li { padding: 2px 0 2px 26px; position: relative; }
ol.chain li::before { position: absolute; left: 4px; font-weight: 700; }
ol.chain li.ok::before { content: "\\2713"; color: var(--pass); }
ol.chain li.broken::before { content: "\\2717"; color: var(--fail); }
ol.chain li.unknown::before { content: "?"; color: var(--error); }
ol.chain li.missing::before { content: "\\2013"; color: var(--muted); }
ol.chain li.missing { color: var(--muted); }
ol.chain li.broken, ol.chain li.unknown { background: #fff5f5; }
.link { display: inline-block; min-width: 120px; font-weight: 600; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12px; } code.res { color: var(--muted); word-break: break-all; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px;
  padding: 8px 10px; white-space: pre-wrap; word-break: break-word; margin: 4px 0; }
.label { font-weight: 600; font-size: 13px; margin: 8px 0 2px; }
details summary { cursor: pointer; font-size: 13px; font-weight: 600; margin: 6px 0 2px; }
ul.passing { columns: 2; font-size: 13px; margin: 4px 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
.where { color: var(--muted); font-size: 13px; margin: 0 0 2px; }
.where b { color: #1f2328; }
ul.rules { font-size: 13px; margin: 4px 0 6px; padding-left: 20px; }
ul.rules li { margin: 2px 0; } ul.rules .own { color: var(--muted); }
.guide { background: #fff8c5; border: 1px solid #d4a72c66; border-radius: 6px;
  padding: 6px 10px; font-size: 13px; margin: 6px 0; }
.sevhead { text-transform: capitalize; }

.split { display: flex; gap: 24px; flex-wrap: wrap; } .split > div { flex: 1 1 420px; }
"""

LONG_FIX = 40  # lines: a longer fix is folded, its summary naming the ways it can be done
_MARK = {LinkStatus.OK: "ok", LinkStatus.BROKEN: "broken", LinkStatus.UNKNOWN: "unknown"}


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _anchor(account_id: str) -> str:
    return f"account-{''.join(c for c in account_id if c.isalnum())}"


def _where(account_id: str, name: str, context: ReportContext) -> str:
    path = "/".join(context.ou_path(account_id))
    ou = f" · {_e(path)}" if path else ""
    return f"account <b>{_e(account_id)}</b> {_e(name)}{ou}"


def _chain(finding: Finding) -> Iterator[str]:
    if not finding.chain:
        return
    yield '<ol class="chain">'
    for result in finding.chain:
        mark = _MARK.get(result.status, "missing")
        resource = f' <code class="res">{_e(result.resource)}</code>' if result.resource else ""
        yield (
            f'<li class="{mark}"><span class="link">{_e(result.link)}</span>'
            f"{_e(result.detail or result.status)}{resource}</li>"
        )
    yield "</ol>"


def _evidence(finding: Finding) -> Iterator[str]:
    """The pattern judged and the events it misses, each said once: the example events when
    there are some, else the gaps they stand for."""
    if finding.patterns:
        label = "Filter pattern judged" if len(finding.patterns) == 1 else "Filter patterns judged"
        yield f'<div class="label">{label}</div>'
        yield from (f"<pre>{_e(pattern)}</pre>" for pattern in finding.patterns)
    if finding.missed_events:
        yield '<div class="label">Events it misses</div>'
        events = "\n".join(json.dumps(e, ensure_ascii=False) for e in finding.missed_events)
        yield f"<pre>{_e(events)}</pre>"
    elif finding.gaps:
        yield '<div class="label">What it misses</div><ul>'
        yield from (f"<li>{_e(gap)}</li>" for gap in finding.gaps)
        yield "</ul>"


def _judged(cause: Cause, finding: Finding) -> bool:
    """Whether the pattern is what broke: the cause is at the filter or the alarm (which hears
    the pattern narrowed), or the finding names events it misses."""
    at_pattern = cause.link in (Link.FILTER, Link.ALARM) and bool(finding.patterns)
    return at_pattern or bool(finding.missed_events or finding.gaps)


class _Fixes:
    """Each distinct fix text of a large page, numbered in the order the cards first link to
    it; written once, after the cards."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}

    def link(self, text: str) -> str:
        number = self.numbers.setdefault(text, len(self.numbers) + 1)
        return f'<a href="#fix-{number}">fix {number}</a>'

    def write(self) -> Iterator[str]:
        if not self.numbers:
            return
        yield "<h2>Fixes</h2>"
        yield (
            f"<p>{len(self.numbers)} distinct fixes, each written once: the cards above link to "
            "the one they need.</p>"
        )
        for text, number in self.numbers.items():
            first = text.splitlines()[0] if text else ""
            yield (
                f'<details id="fix-{number}"><summary>Fix {number}: {_e(first)}</summary>'
                f"<pre>{_e(text)}</pre></details>"
            )


def _fix(cause: Cause, fixes: _Fixes | None = None) -> Iterator[str]:
    """One fix for the cause when there is one (naming every rule), else each rule's own; on a
    large page a link to it, the text being written once in "Fixes"."""
    console, cli = grouped_fix(cause, "console"), grouped_fix(cause, "cli")
    failing = [f for f in cause.findings if f.remediation]
    if fixes is not None:
        texts = (
            [console or cli]
            if console or cli
            else [f.remediation.get("console") or f.remediation.get("cli", "") for f in failing]
        )
        links = ", ".join(fixes.link(text) for text in texts if text)
        if links:
            rules = f" (all {len(failing)} rules)" if len(failing) > 1 and (console or cli) else ""
            yield f'<p class="label">Fix{rules}: {links}</p>'
        return
    if console or cli:
        repairs = f": one for all {len(failing)} rules" if len(failing) > 1 else ""
        if console and console.count("\n") > LONG_FIX:
            ways = [
                line.lstrip("# ").rstrip(":")
                for line in console.splitlines()
                if line.startswith("# ")
            ]
            said = f": {'; '.join(ways)}" if len(ways) > 1 else f", {console.count(chr(10))} lines"
            yield (
                f"<details><summary>Fix{repairs}{_e(said)}</summary>"
                f"<pre>{_e(console)}</pre></details>"
            )
        elif console:
            yield f'<div class="label">Fix{repairs}</div><pre>{_e(console)}</pre>'
        if cli:
            yield (
                f"<details><summary>Fix with the AWS CLI</summary><pre>{_e(cli)}</pre></details>"
            )
        return
    for finding in failing:
        text = finding.remediation.get("console") or finding.remediation.get("cli", "")
        yield (
            f"<details><summary>Fix for {_e(finding.title)} ({_e(finding.rule)})</summary>"
            f"<pre>{_e(text)}</pre></details>"
        )


def _rule_item(finding: Finding, context: ReportContext) -> str:
    controls = ", ".join(c.label for c in context.controls_of(finding))
    text = (
        f'{_e(finding.title)} <span class="rule">{_e(finding.rule)}</span> '
        f'<span class="sev">· {_e(finding.severity)}</span>'
        + (f' <span class="controls">· {_e(controls)}</span>' if controls else "")
    )
    if finding.suppression:
        text += f' <span class="own">· {_e(finding.suppression)}</span>'
    return f"<li>{text}</li>"


def _shared(found: list[Cause]) -> list[list[Cause]]:
    """A large page's cards: the causes that one resource of another account explains in the
    same rules (the organization trail's filter in the management account, for every member)
    are one card, when one fix repairs them all; every other cause is a card of its own."""
    groups: dict[tuple[object, ...], list[Cause]] = {}
    cards: list[list[Cause]] = []
    for cause in found:
        # A fix given both ways (the member's own chain, or the organization trail's) acts in
        # the member too: its card stays the member's.
        elsewhere = cause.resource_account not in ("", cause.account_id) and not any(
            BOTH_WAYS in text for f in cause.findings for text in f.remediation.values()
        )
        # The same rules for the same reasons: the card's words are true of every account.
        said = tuple((f.rule, f.reason) for f in cause.findings)
        key: tuple[object, ...] = (
            (cause.status, cause.link, cause.resource, cause.resource_account, *said)
            if elsewhere
            else (id(cause),)
        )
        group = groups.get(key)
        if group is None:
            group = groups[key] = []
            cards.append(group)
        group.append(cause)
    split: list[list[Cause]] = []
    for group in cards:
        if len(group) > 1 and not (
            grouped_fix(_merged(group), "console") or grouped_fix(_merged(group), "cli")
        ):
            split += [[cause] for cause in group]  # each account needs its own fix
        else:
            split.append(group)
    return split


def _merged(group: list[Cause]) -> Cause:
    """One cause of a shared card, with every account's findings (for the one fix)."""
    if len(group) == 1:
        return group[0]
    return dataclasses.replace(group[0], findings=tuple(f for c in group for f in c.findings))


def _card(
    cause: Cause,
    context: ReportContext,
    anchor: str,
    fixes: _Fixes | None = None,
    group: list[Cause] | None = None,
) -> Iterator[str]:
    status = str(cause.status)
    count = len(cause.findings)
    rules = f"{count} rules: " if count > 1 else ""
    ident = f' id="{anchor}"' if anchor else ""
    yield f'<article class="finding {status}"{ident}>'
    if group is not None and len(group) > 1:
        named = ", ".join(
            f"<b>{_e(c.account_id)}</b> {_e(c.account_name)}" for c in group[:NAMED_ACCOUNTS]
        )
        more = len(group) - NAMED_ACCOUNTS
        rest = f" and {more} more" if more > 0 else ""
        yield f'<p class="where">{len(group)} accounts: {named}{rest}</p>'
    else:
        yield f'<p class="where">{_where(cause.account_id, cause.account_name, context)}</p>'
    yield (f'<h4><span class="badge {status}">{status}</span> {rules}{_e(cause.headline)}</h4>')
    if not cause.same_reason:  # one rule's words, the others' under "each rule"
        first = cause.findings[0]
        yield f'<p class="reason">{_e(first.rule)}: {_e(first.reason)}</p>'
    yield '<ul class="rules">'
    yield from (_rule_item(f, context) for f in cause.findings)
    yield "</ul>"
    if cause.status is Status.ERROR:
        guide = error_guidance(cause, context.account(cause.account_id))
        yield f'<p class="guide"><b>What to do:</b> {_e(guide)}</p>'
    if count == 1:
        if _judged(cause, cause.findings[0]):
            yield from _evidence(cause.findings[0])
        yield from _chain(cause.findings[0])
    else:
        evidence = [f for f in cause.findings if _judged(cause, f)]
        for finding in evidence:
            yield (
                f"<details><summary>{_e(finding.rule)}: the pattern judged and what it misses"
                "</summary>"
            )
            yield from _evidence(finding)
            yield "</details>"
        if any(f.chain for f in cause.findings) or not cause.same_reason:
            said = "reason and chain" if not cause.same_reason else "chain"
            yield f"<details><summary>Each rule's {said}</summary>"
            for finding in cause.findings:
                yield f'<div class="label">{_e(finding.title)} ({_e(finding.rule)})</div>'
                if not cause.same_reason:
                    yield f'<p class="reason">{_e(finding.reason)}</p>'
                yield from _chain(finding)
            yield "</details>"
    yield from _fix(_merged(group) if group else cause, fixes)
    yield "</article>"


def _accounts_table(
    accounts: dict[str, list[Finding]],
    anchors: dict[str, str],
    context: ReportContext,
    *,
    failing_only: bool = False,
) -> Iterator[str]:
    listed = {
        account_id: group
        for account_id, group in accounts.items()
        if not failing_only or any(f.status is not Status.PASS for f in group)
    }
    title = "Accounts with a FAIL or ERROR" if failing_only else "Accounts"
    yield f"<h2>{title}</h2>"
    if failing_only:
        passing = len(accounts) - len(listed)
        yield (
            f"<p>{len(listed)} of {len(accounts)} accounts; the {passing} where every rule "
            "holds are counted above and in the tables by rule and by OU.</p>"
        )
    yield "<table><tr><th>Account</th><th>Name</th><th>OU path</th>"
    yield '<th class="n">PASS</th><th class="n">FAIL</th><th class="n">ERROR</th></tr>'
    for account_id, group in listed.items():
        tally = Counter(f.status for f in group)
        name = _e(account_id)
        cell = f'<a href="#{anchors[account_id]}">{name}</a>' if account_id in anchors else name
        yield (
            f"<tr><td>{cell}</td><td>{_e(group[0].account_name)}</td>"
            f"<td>{_e('/'.join(context.ou_path(account_id)) or '-')}</td>"
            + "".join(f'<td class="n">{tally[s]}</td>' for s in Status)
            + "</tr>"
        )
    yield "</table>"


def _counts_cells(counts: Counter[Status]) -> str:
    return "".join(
        f'<td class="n">{counts[s]}</td>' for s in (Status.FAIL, Status.ERROR, Status.PASS)
    )


def _by_rule_and_ou(findings: list[Finding], context: ReportContext) -> Iterator[str]:
    yield '<div class="split"><div><h2>By rule (accounts)</h2><table>'
    yield '<tr><th>Rule</th><th>Severity</th><th class="n">FAIL</th><th class="n">ERROR</th>'
    yield '<th class="n">PASS</th></tr>'
    for rule in summaries.by_rule(findings):
        yield (
            f'<tr><td>{_e(rule.title)} <span class="rule">{_e(rule.rule)}</span></td>'
            f"<td>{_e(rule.severity)}</td>{_counts_cells(rule.counts)}</tr>"
        )
    yield "</table></div>"
    ous = summaries.by_ou(findings, context.inventory)
    if ous:
        yield '<div><h2>By OU (findings)</h2><table><tr><th>OU</th><th class="n">Accounts</th>'
        yield '<th class="n">FAIL</th><th class="n">ERROR</th><th class="n">PASS</th></tr>'
        for ou in ous:
            yield (
                f'<tr><td>{_e(ou.ou)}</td><td class="n">{ou.accounts}</td>'
                f"{_counts_cells(ou.counts)}</tr>"
            )
        yield "</table></div>"
    yield "</div>"


def _by_cause(found: list[Cause]) -> Iterator[str]:
    """The broken (or unread) resources across accounts, the most accounts first: the page's
    summary by cause, where one resource in the management account fails thousands."""
    groups: dict[tuple[str, str, str, str], list[Cause]] = {}
    for cause in found:
        key = (str(cause.status), str(cause.link or ""), cause.resource, cause.resource_account)
        groups.setdefault(key, []).append(cause)
    ranked = sorted(
        groups.values(),
        key=lambda g: (-len({c.account_id for c in g}), -severity_rank(g[0].severity)),
    )
    yield "<h2>By cause (accounts)</h2><table><tr><th>Status</th><th>Link</th><th>Resource</th>"
    yield '<th>Severity</th><th class="n">Accounts</th><th class="n">Rules</th></tr>'
    for group in ranked[:BY_CAUSE_ROWS]:
        first = group[0]
        where = first.resource or "-"
        if first.resource_account:
            where += f" (account {first.resource_account})"
        rules = {f.rule for cause in group for f in cause.findings}
        yield (
            f'<tr><td><span class="badge {first.status}">{first.status}</span></td>'
            f"<td>{_e(first.link or 'none: no chain')}</td><td>{_e(where)}</td>"
            f"<td>{_e(max((c.severity for c in group), key=severity_rank))}</td>"
            f'<td class="n">{len({c.account_id for c in group})}</td>'
            f'<td class="n">{len(rules)}</td></tr>'
        )
    yield "</table>"
    if len(ranked) > BY_CAUSE_ROWS:
        yield f"<p>and {len(ranked) - BY_CAUSE_ROWS} more causes, each in fewer accounts.</p>"


def _not_scanned(context: ReportContext) -> Iterator[str]:
    """The accounts of the organization the scan skipped: suspended or closing ones."""
    skipped = [a for a in context.inventory.accounts if a.status in SKIPPED_ACCOUNT_STATUSES]
    if not skipped:
        return
    yield "<h2>Not scanned</h2><table><tr><th>Account</th><th>Name</th><th>OU path</th>"
    yield "<th>Status</th></tr>"
    for account in skipped:
        yield (
            f"<tr><td>{_e(account.id)}</td><td>{_e(account.name)}</td>"
            f"<td>{_e('/'.join(account.ou_path) or '-')}</td>"
            f"<td>{_e(account.status.lower())}: not scanned</td></tr>"
        )
    yield "</table>"


def write_html(
    findings: Iterable[Finding], context: ReportContext, *, large: int = LARGE_REPORT
) -> Iterator[str]:
    """The whole page (the summary at the top needs every finding first); from ``large``
    accounts on, the summary page described in the module's docstring."""
    every = list(findings)
    accounts: dict[str, list[Finding]] = {}
    for finding in every:
        accounts.setdefault(finding.account_id, []).append(finding)
    fixes = _Fixes() if len(accounts) >= large else None
    counts = Counter(f.status for f in every)
    found = causes(every)
    anchors: dict[str, str] = {}
    for cause in found:
        anchors.setdefault(cause.account_id, _anchor(cause.account_id))
    profile = context.profile
    when = context.scanned_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    yield '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
    yield '<meta name="viewport" content="width=device-width, initial-scale=1">'
    yield f"<title>scanner report: {_e(profile.name)}, {_e(when)}</title>"
    yield f"<style>{STYLE}</style></head><body>"
    yield "<h1>CloudTrail monitoring controls</h1>"
    yield (
        f'<p class="meta">Profile {_e(profile.title)} ({_e(profile.name)}) · scanned {_e(when)}'
        + (f" · scanner {_e(context.version)}" if context.version else "")
        + "</p>"
    )
    yield '<div class="tiles">'
    for status in Status:
        yield (
            f'<div class="tile {status.value.lower()}"><b>{counts[status]}</b>'
            f"{_e(status.value)}</div>"
        )
    yield f'<div class="tile"><b>{len(accounts)}</b>accounts</div>'
    yield f'<div class="tile"><b>{len(found)}</b>causes to fix</div></div>'
    if fixes is None:
        yield from _accounts_table(accounts, anchors, context)
    if every:
        yield from _by_rule_and_ou(every, context)
    if fixes is not None:  # a large page: the summaries first, then the failing accounts
        if found:
            yield from _by_cause(found)
        yield from _accounts_table(accounts, anchors, context, failing_only=True)
    yield from _not_scanned(context)
    yield "<h2>What to fix, most severe first</h2>"
    if not found:
        yield "<p>Every control holds in every account.</p>"
    placed: set[str] = set()

    def cards(level: list[Cause]) -> Iterator[str]:
        for group in _shared(level) if fixes is not None else [[c] for c in level]:
            cause = group[0]
            first = cause.account_id not in placed
            placed.add(cause.account_id)
            for other in group[1:]:  # each account's row links to its first card
                if other.account_id not in placed:
                    placed.add(other.account_id)
                    yield f'<span id="{anchors[other.account_id]}"></span>'
            anchor = anchors[cause.account_id] if first else ""
            yield from _card(cause, context, anchor, fixes, group)

    for severity in reversed(SEVERITIES):
        level = [c for c in found if c.severity == severity]
        if level:
            yield (
                f'<h3><span class="sevhead">{_e(severity)}</span> · {len(level)} '
                f"{'cause' if len(level) == 1 else 'causes'}</h3>"
            )
        yield from cards(level)
    yield from cards([c for c in found if c.severity not in SEVERITIES])
    if fixes is not None:
        yield from fixes.write()
        yield "<h2>Passing controls</h2>"
        yield (
            f"<p>{counts[Status.PASS]} findings pass, counted per rule and per OU above; "
            "`--format json` or the findings API lists each.</p>"
        )
    else:
        yield "<h2>Passing controls</h2>"
    for group in accounts.values() if fixes is None else ():
        passing = [f for f in group if f.status is Status.PASS]
        if not passing:
            continue
        yield (
            f"<details><summary>{_where(passing[0].account_id, passing[0].account_name, context)}"
            f': {len(passing)} of {len(group)} rules pass</summary><ul class="passing">'
        )
        yield from (
            f'<li>{_e(f.title)} <span class="rule">{_e(f.rule)}</span></li>' for f in passing
        )
        yield "</ul></details>"
    yield (
        "<footer>Each control holds when some chain from a multi-region trail to a confirmed "
        "subscriber that receives the alarm's message is whole: "
        f"{_e(', '.join(spec.link.value for spec in LINKS))}."
        "</footer></body></html>\n"
    )
