"""``--format html``: one self-contained page, checked as text and rendered by a real browser.

The browser is Debian's Chromium, headless (``.ci/install-chromium.sh`` installs it on CI). Off
CI a machine without it skips the rendering test with the reason; on CI (``CI=true``) a missing
browser fails the test instead, so the check cannot silently stop running.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report.report_demo import SCANNED_AT, Demo
from tools import CHROMIUM_SCRIPT, require_tool

from scanner.catalog import SEVERITIES, load_catalog
from scanner.evaluate import evaluate
from scanner.model import ACCOUNT_SUSPENDED, Finding, Link, LinkStatus, Status
from scanner.report import render, summaries
from scanner.report.causes import causes, severity_rank
from scanner.report.context import ReportContext, focus
from scanner.report.html_page import write_html
from scanner.testing import organization


class Resources(HTMLParser):
    """Every tag and every attribute that could make the page load something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.references: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.references += [v or "" for k, v in attrs if k in ("href", "src", "srcset", "action")]


def page(demo_report: Demo) -> str:
    return render("html", demo_report.findings, demo_report.context)


def test_the_page_loads_nothing_from_anywhere(demo_report: Demo) -> None:
    text = page(demo_report)
    parser = Resources()
    parser.feed(text)
    assert not parser.tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert parser.references and all(ref.startswith("#") for ref in parser.references)
    assert "url(" not in text and "@import" not in text


def test_the_summary_counts_every_status_and_lists_every_account(demo_report: Demo) -> None:
    text = page(demo_report)
    for status in Status:
        count = sum(f.status is status for f in demo_report.findings)
        assert f"<b>{count}</b>{status.value}</div>" in text
    for account_id in {f.account_id for f in demo_report.findings}:
        assert f"<td>{account_id}</td>" in text or f">{account_id}</a></td>" in text


def cards(text: str) -> list[tuple[str, str]]:
    """Each card of the page: (its status, its HTML)."""
    return re.findall(r'<article class="finding (\w+)"[^>]*>(.*?)</article>', text, re.S)


def card_of(text: str, account_id: str, *needles: str) -> str:
    """The one card of the account that holds every needle."""
    (card,) = [
        c
        for _, c in cards(text)
        if f"<b>{account_id}</b>" in c and all(needle in c for needle in needles)
    ]
    return card


def test_a_broken_chain_shows_each_link_the_pattern_the_missed_events_once_and_the_fix(
    demo_report: Demo,
) -> None:
    finding = next(f for f in demo_report.findings if len(f.missed_events) > 1)
    text = page(demo_report)
    card = card_of(text, finding.account_id, html.escape(finding.reason))
    for result in finding.chain:
        assert f'<span class="link">{result.link}</span>' in card
    assert '<li class="broken"><span class="link">filter</span>' in card
    # The pattern judged, then each missed event once in the whole page (no gaps list beside).
    (pattern,) = finding.patterns
    assert card.index(f"<pre>{html.escape(pattern)}</pre>") < card.index("Events it misses")
    for event in finding.missed_events:
        assert text.count(html.escape(json.dumps(event))) == 1
    assert "What it misses" not in card
    assert html.escape(finding.remediation["console"]) in card


def test_one_card_per_cause_naming_every_rule_it_breaks(demo_report: Demo) -> None:
    """A cause is one account's broken link on one resource: its rules share one card."""
    text = page(demo_report)
    expected: dict[tuple[str, str, str], set[str]] = {}
    for finding in demo_report.findings:
        if finding.status is Status.PASS:
            continue
        link = focus(finding)
        key = (
            (finding.account_id, str(link.link), link.resource)
            if link
            else (finding.account_id, "", finding.reason)
        )
        expected.setdefault(key, set()).add(finding.rule)
    found = cards(text)
    assert len(found) == len(expected)
    # The pending subscription of qa-sandbox: one card for its nine rules, not nine cards.
    pending = [f for f in demo_report.findings if f.broken_link is Link.SUBSCRIBER]
    account = pending[0].account_id
    card = card_of(text, account, "has no confirmed subscription")
    assert f"{len(pending)} rules: topic " in card
    assert all(f'<span class="rule">{f.rule}</span>' in card for f in pending)
    assert sum(f"<b>{account}</b>" in c for _, c in found) == 1
    # billing-staging: nine rules at the organization trail's log group are one cause too.
    billing = [f for f in demo_report.findings if f.account_name == "billing-staging"]
    failing = [f for f in billing if f.status is Status.FAIL]
    assert sum(f"<b>{billing[0].account_id}</b>" in c for _, c in found) == 1
    assert f"{len(failing)} rules: none of the 9 metric filters" in text


def test_causes_come_most_severe_first(demo_report: Demo) -> None:
    text = page(demo_report)
    levels = re.findall(r'<h3><span class="sevhead">(\w+)</span>', text)
    assert levels == [s for s in reversed(SEVERITIES) if s in levels]
    assert levels[0] == "high"  # the demo has no critical failure
    found = causes(demo_report.findings)
    ranks = [severity_rank(c.severity) for c in found]
    assert ranks == sorted(ranks, reverse=True)
    # The cards follow that order (each card names its account first).
    order = [re.findall(r"<b>(\d+)</b>", c)[0] for _, c in cards(text)]
    assert order == [c.account_id for c in found]


def test_a_grouped_fix_names_every_rule_it_repairs(demo_report: Demo) -> None:
    """With the evaluator's plans, and read back from JSON without them."""
    stopped = [f for f in demo_report.findings if f.broken_link is Link.LOGGING]
    assert len(stopped) > 1
    read_back = [Finding.from_json(json.loads(json.dumps(f.to_json()))) for f in stopped]
    for findings in (stopped, read_back):
        text = render("html", findings, demo_report.context)
        ((_, card),) = cards(text)
        fix = card[card.index("Fix: one for all") :]
        fix = fix[: fix.index("</pre>")]
        assert all(f.rule in fix for f in stopped), fix
        assert card.count("Start logging") == 1
    # The fix of billing-staging is given both ways, grouped way by way, shorter first.
    billing = [
        f
        for f in demo_report.findings
        if f.account_name == "billing-staging" and f.status is Status.FAIL
    ]
    text = render("html", billing, demo_report.context)
    ((_, card),) = cards(text)
    either = re.search(r"# Either fix the chain of (.*?) \((\d+) changes\)", card)
    other = re.search(r"# Or fix the chain of (.*?) \((\d+) changes\)", card)
    assert either and other
    assert "organization trail" in either.group(1) and "its own trail" in other.group(1)
    assert int(either.group(2)) <= int(other.group(2))
    assert all(f.rule in card for f in billing)


def test_an_error_card_says_what_to_do(demo_report: Demo) -> None:
    text = page(demo_report)
    error = demo_report.first(Status.ERROR)
    card = card_of(text, error.account_id, "badge ERROR")
    guide = card[card.index('<p class="guide">') :]
    assert "Deploy the scanner&#x27;s member role" in guide
    assert "organization.external_id" in guide and "ExternalId" in guide
    for status, card in cards(text):
        if status == "ERROR":
            assert '<p class="guide"><b>What to do:</b>' in card


def test_an_unread_resource_is_an_error_with_the_failed_call(demo_report: Demo) -> None:
    finding = demo_report.first(Status.FAIL)
    link = focus(finding)
    assert link is not None
    unread = dataclasses.replace(
        finding,
        status=Status.ERROR,
        broken_link=None,
        chain=tuple(
            dataclasses.replace(r, status=LinkStatus.UNKNOWN) if r.link is link.link else r
            for r in finding.chain
        ),
        remediation={},
    )
    text = render("html", [unread], demo_report.context)
    assert f"could not read the {link.link} link" in text
    assert "Grant the member role the read call that failed" in text


def test_the_summaries_by_rule_and_ou_and_the_accounts_not_scanned(demo_report: Demo) -> None:
    text = page(demo_report)
    by_rule = text[text.index("<h2>By rule (accounts)</h2>") : text.index("<h2>By OU")]
    for row in summaries.by_rule(demo_report.findings):
        cells = "".join(
            f'<td class="n">{row.counts[s]}</td>' for s in (Status.FAIL, Status.ERROR, Status.PASS)
        )
        assert f'<span class="rule">{row.rule}</span></td><td>{row.severity}</td>{cells}' in by_rule
    by_ou = text[text.index("<h2>By OU (findings)</h2>") :]
    for ou in summaries.by_ou(demo_report.findings, demo_report.inventory):
        assert f"<td>{html.escape(ou.ou)}</td>" in by_ou
    suspended = [a for a in demo_report.inventory.accounts if a.status == ACCOUNT_SUSPENDED]
    assert suspended
    not_scanned = text[text.index("<h2>Not scanned</h2>") :]
    for account in suspended:
        assert f"<td>{account.id}</td><td>{html.escape(account.name)}</td>" in not_scanned
        assert "suspended: not scanned" in not_scanned


def test_what_an_account_owner_wrote_is_escaped(demo_report: Demo) -> None:
    finding = dataclasses.replace(
        demo_report.first(Status.FAIL), account_name="<script>alert(1)</script>"
    )
    text = render("html", [finding], demo_report.context)
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def chromium() -> str:
    return require_tool("chromium", CHROMIUM_SCRIPT, "chromium-browser")


def png_facts(data: bytes) -> tuple[int, int, int]:
    """Width, height and how many distinct byte values the pixel data holds (stdlib only)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, width, height, pixels = 8, 0, 0, b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            pixels += body
        offset += 12 + length
    return width, height, len(set(zlib.decompress(pixels)))


@pytest.mark.slow
def test_chromium_renders_the_demo_report(demo_report: Demo, tmp_path: Path) -> None:
    browser = chromium()
    report = tmp_path / "report.html"
    report.write_text(page(demo_report), encoding="utf-8")
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file(), done.stderr[-2000:]
    width, height, distinct = png_facts(shot.read_bytes())
    assert (width, height) == (1280, 2000)
    assert distinct > 64, "the screenshot is blank"  # a blank page holds a handful of values


# A large organization's page (LARGE_REPORT accounts and more): summaries, failing accounts,
# one card for a resource that fails many accounts, each fix written once.


def large_page(findings: list[Finding], context: ReportContext) -> str:
    return "".join(write_html(findings, context, large=1))


def test_a_large_page_lists_failing_accounts_only_and_writes_each_fix_once(
    demo_report: Demo,
) -> None:
    text = large_page(demo_report.findings, demo_report.context)
    small = page(demo_report)
    assert len(text) < len(small)
    by_account: dict[str, set[Status]] = {}
    for finding in demo_report.findings:
        by_account.setdefault(finding.account_id, set()).add(finding.status)
    table = text[text.index("<h2>Accounts with a FAIL or ERROR</h2>") : text.index("<h2>What")]
    assert text.index("<h2>By rule") < text.index("<h2>By cause") < text.index("Accounts with")
    for account, statuses in by_account.items():
        assert (f">{account}<" in table) == (statuses != {Status.PASS}), account
    assert "Passing controls" in text and '<ul class="passing">' not in text
    # Every fix once, each card's links resolve, no fix text left inside a card.
    fixes = re.findall(r'<details id="(fix-\d+)">.*?<pre>(.*?)</pre>', text, re.S)
    assert fixes and len({body for _, body in fixes}) == len(fixes)
    ids = set(re.findall(r'id="([^"]+)"', text))
    assert set(re.findall(r'href="#([^"]+)"', text)) <= ids
    for status, card in cards(text):
        assert not any(body in card for _, body in fixes)
        assert status != "FAIL" or re.search(r'href="#fix-\d+"', card), card[:200]
    # The by-cause table counts the accounts of each broken resource.
    assert "<h2>By cause (accounts)</h2>" in text


def test_a_resource_of_the_management_account_failing_every_member_is_one_card() -> None:
    inventory = organization(12, rules=["iam-policy-changes"])
    catalog = load_catalog()
    context = ReportContext.of(catalog, catalog.profile(), inventory, SCANNED_AT)
    findings = evaluate(inventory)
    text = large_page(findings, context)
    members = [a.id for a in inventory.accounts[1:]]
    shared = [c for _, c in cards(text) if "12 accounts:" in c]
    assert shared, "no card shared by the members"
    for card in shared:
        assert card.count('href="#fix-') == 1
        assert " and 2 more" in card  # ten named, the rest counted
    # Each member row of the accounts table still links to a card anchor.
    for member in members:
        assert f'id="account-{member}"' in text or f'href="#account-{member}"' not in text
    rows = re.findall(r"<tr><td><span class=\"badge FAIL\">FAIL</span></td>.*?</tr>", text)
    assert any('<td class="n">13</td>' in row for row in rows)  # members and the management
    # The small page gives each member its own cards.
    small = "".join(write_html(findings, context))
    assert len(cards(small)) > len(cards(text))
