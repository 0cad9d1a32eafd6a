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
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from html import escape

from scanner.catalog import SEVERITIES
from scanner.evaluate import SKIPPED_ACCOUNT_STATUSES
from scanner.model import LINKS, Finding, Link, LinkStatus, Status
from scanner.report import summaries
from scanner.report.causes import Cause, causes, error_guidance, grouped_fix
from scanner.report.context import ReportContext

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


def _fix(cause: Cause) -> Iterator[str]:
    """One fix for the cause when there is one (naming every rule), else each rule's own."""
    console, cli = grouped_fix(cause, "console"), grouped_fix(cause, "cli")
    failing = [f for f in cause.findings if f.remediation]
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


def _card(cause: Cause, context: ReportContext, anchor: str) -> Iterator[str]:
    status = str(cause.status)
    count = len(cause.findings)
    rules = f"{count} rules: " if count > 1 else ""
    ident = f' id="{anchor}"' if anchor else ""
    yield f'<article class="finding {status}"{ident}>'
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
    yield from _fix(cause)
    yield "</article>"


def _accounts_table(
    accounts: dict[str, list[Finding]], anchors: dict[str, str], context: ReportContext
) -> Iterator[str]:
    yield "<h2>Accounts</h2><table><tr><th>Account</th><th>Name</th><th>OU path</th>"
    yield '<th class="n">PASS</th><th class="n">FAIL</th><th class="n">ERROR</th></tr>'
    for account_id, group in accounts.items():
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


def write_html(findings: Iterable[Finding], context: ReportContext) -> Iterator[str]:
    """The whole page (the summary at the top needs every finding first)."""
    every = list(findings)
    accounts: dict[str, list[Finding]] = {}
    for finding in every:
        accounts.setdefault(finding.account_id, []).append(finding)
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
    yield from _accounts_table(accounts, anchors, context)
    if every:
        yield from _by_rule_and_ou(every, context)
    yield from _not_scanned(context)
    yield "<h2>What to fix, most severe first</h2>"
    if not found:
        yield "<p>Every control holds in every account.</p>"
    placed: set[str] = set()
    for severity in reversed(SEVERITIES):
        level = [c for c in found if c.severity == severity]
        if level:
            yield (
                f'<h3><span class="sevhead">{_e(severity)}</span> · {len(level)} '
                f"{'cause' if len(level) == 1 else 'causes'}</h3>"
            )
        for cause in level:
            first = cause.account_id not in placed
            placed.add(cause.account_id)
            yield from _card(cause, context, anchors[cause.account_id] if first else "")
    other = [c for c in found if c.severity not in SEVERITIES]
    for cause in other:
        first = cause.account_id not in placed
        placed.add(cause.account_id)
        yield from _card(cause, context, anchors[cause.account_id] if first else "")
    yield "<h2>Passing controls</h2>"
    for group in accounts.values():
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
