"""``--format html``: one self-contained page to hand to whoever owns the broken accounts.

Self-contained means one file that shows the same anywhere, offline: the CSS is inline, there is
no script, no font, image or stylesheet fetched, no link that leaves the page. It opens with the
summary (counts, the accounts with their OU paths), then every FAIL and ERROR grouped by account:
each link of the chain with its resource, the events a filter misses, the gaps, and the fix
(console steps open, the AWS CLI folded). An account that could not be entered at all is said
once, not once per rule. The rules that pass close the page, folded per account.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from html import escape

from scanner.model import LINKS, Finding, Link, LinkStatus, Status
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
td.n { text-align: right; font-variant-numeric: tabular-nums; width: 56px; }
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
"""

_MARK = {LinkStatus.OK: "ok", LinkStatus.BROKEN: "broken", LinkStatus.UNKNOWN: "unknown"}


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _anchor(account_id: str) -> str:
    return f"account-{''.join(c for c in account_id if c.isalnum())}"


def _account_title(finding: Finding, context: ReportContext) -> str:
    path = "/".join(context.ou_path(finding.account_id))
    where = f' <span class="rule">{_e(path)}</span>' if path else ""
    return f"{_e(finding.account_id)} {_e(finding.account_name)}{where}"


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


def _missed(finding: Finding) -> Iterator[str]:
    if finding.missed_events:
        yield '<div class="label">Events the filter misses</div>'
        events = "\n".join(json.dumps(e, ensure_ascii=False) for e in finding.missed_events)
        yield f"<pre>{_e(events)}</pre>"
    if finding.gaps:
        yield '<div class="label">Gaps</div><ul>'
        yield from (f"<li>{_e(gap)}</li>" for gap in finding.gaps)
        yield "</ul>"


def _fix(finding: Finding) -> Iterator[str]:
    console, cli = finding.remediation.get("console"), finding.remediation.get("cli")
    if console:
        yield f'<div class="label">Fix</div><pre>{_e(console)}</pre>'
    if cli:
        yield f"<details><summary>Fix with the AWS CLI</summary><pre>{_e(cli)}</pre></details>"


def _finding(finding: Finding, context: ReportContext) -> Iterator[str]:
    controls = ", ".join(c.label for c in context.controls_of(finding))
    status = str(finding.status)
    yield f'<article class="finding {status}">'
    yield (
        f'<h4><span class="badge {status}">{status}</span> {_e(finding.title)} '
        f'<span class="rule">{_e(finding.rule)}</span> '
        f'<span class="sev">· {_e(finding.severity)}</span>'
        + (f' <span class="controls">· {_e(controls)}</span>' if controls else "")
        + "</h4>"
    )
    yield f'<p class="reason">{_e(finding.reason)}</p>'
    yield from _chain(finding)
    yield from _missed(finding)
    yield from _fix(finding)
    yield "</article>"


def _shared(finding: Finding) -> bool:
    """Whether the cause is one for every rule: a trail link (or a failed call), not a filter."""
    link = finding.broken_link
    return link is None or link.position < Link.FILTER.position


def _grouped(group: Sequence[Finding], context: ReportContext) -> Iterator[str]:
    """An account's failing findings; those broken for one same reason are shown as one card.

    Nine rules failing because the trail stopped logging is one problem with one fix: the card
    names the rules and shows the fix once; each rule's own chain stays a click away. From the
    filter on, each rule needs its own fix, so each keeps its own card even if the words match.
    """
    by_reason: dict[tuple[Status, str], list[Finding]] = {}
    for finding in group:
        key = (finding.status, finding.reason if _shared(finding) else finding.rule)
        by_reason.setdefault(key, []).append(finding)
    for (status, _), same in by_reason.items():
        if len(same) == 1:
            yield from _finding(same[0], context)
            continue
        yield f'<article class="finding {status}">'
        yield (
            f'<h4><span class="badge {status}">{status}</span> {len(same)} rules, one cause</h4>'
            f'<p class="reason">{_e(same[0].reason)}</p><ul class="passing">'
        )
        yield from (f'<li>{_e(f.title)} <span class="rule">{_e(f.rule)}</span></li>' for f in same)
        yield "</ul>"
        yield from _fix(same[0])
        yield "<details><summary>Each rule's chain</summary>"
        for finding in same:
            yield from _finding(finding, context)
        yield "</details></article>"


def _unreachable(group: Sequence[Finding]) -> str | None:
    """The one reason every rule of an account is an ERROR for, if there is exactly one."""
    reasons = {f.reason for f in group}
    if len(reasons) == 1 and all(f.status is Status.ERROR for f in group):
        return reasons.pop()
    return None


def _summary(
    accounts: dict[str, list[Finding]], counts: Counter[Status], context: ReportContext
) -> Iterator[str]:
    yield '<div class="tiles">'
    for status in Status:
        yield (
            f'<div class="tile {status.value.lower()}"><b>{counts[status]}</b>'
            f"{_e(status.value)}</div>"
        )
    yield f'<div class="tile"><b>{len(accounts)}</b>accounts</div></div>'
    yield "<h2>Accounts</h2><table><tr><th>Account</th><th>Name</th><th>OU path</th>"
    yield '<th class="n">PASS</th><th class="n">FAIL</th><th class="n">ERROR</th></tr>'
    for account_id, group in accounts.items():
        tally = Counter(f.status for f in group)
        bad = tally[Status.FAIL] + tally[Status.ERROR]
        name = _e(account_id)
        cell = f'<a href="#{_anchor(account_id)}">{name}</a>' if bad else name
        yield (
            f"<tr><td>{cell}</td><td>{_e(group[0].account_name)}</td>"
            f"<td>{_e('/'.join(context.ou_path(account_id)) or '-')}</td>"
            + "".join(f'<td class="n">{tally[s]}</td>' for s in Status)
            + "</tr>"
        )
    yield "</table>"


def write_html(findings: Iterable[Finding], context: ReportContext) -> Iterator[str]:
    """The whole page (the summary at the top needs every finding first)."""
    accounts: dict[str, list[Finding]] = {}
    for finding in findings:
        accounts.setdefault(finding.account_id, []).append(finding)
    counts = Counter(f.status for group in accounts.values() for f in group)
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
    yield from _summary(accounts, counts, context)
    failing = {
        account_id: [f for f in group if f.status is not Status.PASS]
        for account_id, group in accounts.items()
    }
    yield "<h2>Failing controls</h2>"
    if not any(failing.values()):
        yield "<p>Every control holds in every account.</p>"
    for account_id, group in failing.items():
        if not group:
            continue
        yield f'<h3 id="{_anchor(account_id)}">{_account_title(group[0], context)}</h3>'
        reason = _unreachable(accounts[account_id])
        if reason is not None:
            yield (
                f'<article class="finding ERROR"><h4><span class="badge ERROR">ERROR</span> '
                f'all {len(group)} rules</h4><p class="reason">{_e(reason)}</p></article>'
            )
            continue
        yield from _grouped(group, context)
    yield "<h2>Passing controls</h2>"
    for group in accounts.values():
        passing = [f for f in group if f.status is Status.PASS]
        if not passing:
            continue
        yield (
            f"<details><summary>{_account_title(passing[0], context)}: "
            f'{len(passing)} of {len(group)} rules pass</summary><ul class="passing">'
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
