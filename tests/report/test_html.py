"""``--format html``: one self-contained page, checked as text and rendered by a real browser.

The browser is Debian's Chromium, headless (``.ci/install-chromium.sh`` installs it on CI). Off
CI a machine without it skips the rendering test with the reason; on CI (``CI=true``) a missing
browser fails the test instead, so the check cannot silently stop running.
"""

from __future__ import annotations

import dataclasses
import html
import struct
import subprocess
import zlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report.report_demo import Demo
from tools import CHROMIUM_SCRIPT, require_tool

from scanner.model import Link, Status
from scanner.report import render


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


def test_a_broken_chain_shows_each_link_the_missed_events_and_the_fix(demo_report: Demo) -> None:
    finding = next(f for f in demo_report.findings if f.missed_events)
    text = page(demo_report)
    section = text[text.index(f'id="account-{finding.account_id}"') :]
    section = section[: section.index("<h3", 1)]
    assert html.escape(finding.reason) in section
    for result in finding.chain:
        assert f'<span class="link">{result.link}</span>' in section
    assert '<li class="broken"><span class="link">filter</span>' in section
    for event in finding.missed_events:
        assert html.escape(str(event["eventName"])) in section
    assert html.escape(finding.remediation["console"]) in section


def test_rules_broken_for_one_cause_are_one_card(
    demo_report: Demo,
) -> None:
    text = page(demo_report)
    stopped = [
        f for f in demo_report.findings if f.status is Status.FAIL and f.broken_link is Link.LOGGING
    ]
    assert f"{len(stopped)} rules, one cause" in text
    # The same words at the filter are nine different fixes: each rule keeps its own card.
    at_filter = [f for f in demo_report.findings if f.broken_link is Link.FILTER]
    reasons = Counter((f.account_id, f.reason) for f in at_filter)
    (account, reason), repeated = reasons.most_common(1)[0]
    assert repeated > 1
    section = text[text.index(f'id="account-{account}"') :]
    section = section[: section.index("<h3", 1)]
    assert "one cause" not in section
    assert section.count(f'<p class="reason">{html.escape(reason)}</p>') == repeated
    # The member whose role cannot be assumed: its errors share one failed call, said once.
    error = demo_report.first(Status.ERROR)
    errors = [f for f in demo_report.findings if f.account_id == error.account_id]
    section = text[text.index(f'id="account-{error.account_id}"') :]
    failing = sum(f.status is not Status.PASS for f in errors)
    if failing == len(errors):
        assert f"all {failing} rules" in section
    else:
        assert f"{failing} rules, one cause" in section
    assert section.count(html.escape(error.reason)) == 1 + failing  # the card, then each chain


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
