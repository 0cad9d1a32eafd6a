"""The words of a transition: the generic webhook's document and the Slack message.

Pure and deterministic (no clock, no state but the transition), and apart from delivery
(:mod:`.alerts`) so the state can render a message when it enqueues it: a Slack message is
rendered once, stored in its outbox row (:meth:`.state.StateStore.record_scan`), and every
attempt, after a restart or an upgrade too, sends that same text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scanner.daemon.transitions import Kind, Transition
from scanner.model import LINK_SPECS, Finding, LinkStatus, encode_object

WEBHOOK_VERSION = 1  # the generic webhook document's "version"

# --------------------------------------------------------------------------------------------
# Words (data first): how each kind of transition reads in a message.


@dataclass(frozen=True, slots=True)
class Wording:
    emoji: str  # Slack short code; Slack-compatible receivers render it too
    label: str


WORDING: dict[Kind, Wording] = {
    Kind.FAILED: Wording(":red_circle:", "FAILING"),
    Kind.RESOLVED: Wording(":large_green_circle:", "RESOLVED"),
    Kind.ERRORED: Wording(":warning:", "CANNOT BE JUDGED"),
    Kind.RECOVERED: Wording(":large_blue_circle:", "JUDGED AGAIN"),
    Kind.ACCOUNT_APPEARED: Wording(":heavy_plus_sign:", "ACCOUNT APPEARED"),
    Kind.ACCOUNT_DISAPPEARED: Wording(":heavy_minus_sign:", "ACCOUNT DISAPPEARED"),
}


def _broken_link(finding: Finding | None) -> dict[str, Any] | None:
    if finding is None or finding.broken_link is None:
        return None
    spec = LINK_SPECS[finding.broken_link]
    out: dict[str, Any] = {
        "link": spec.link.value,
        "checks": spec.checks,
        "failure_means": spec.failure_means,
    }
    for result in finding.chain:
        if result.link is finding.broken_link and result.status is not LinkStatus.OK:
            out.update(encode_object(result))
            break
    return out


def headline(t: Transition) -> str:
    """One line: what happened, to which control, in which account."""
    words = WORDING[t.kind]
    account = f"account {t.account_name} ({t.account_id})" if t.account_name else t.account_id
    finding = t.finding or t.previous
    if t.rule is None or finding is None:
        return f"{words.label}: {account}"
    return f"{words.label}: {finding.title} ({t.rule}, {finding.severity}) in {account}"


def webhook_body(t: Transition) -> dict[str, Any]:
    """The generic webhook's JSON document for one transition."""
    finding = t.finding or t.previous
    return {
        "version": WEBHOOK_VERSION,
        "idempotency_key": t.key,
        "event": t.kind.value,
        "summary": headline(t),
        "detail": t.detail,
        "scan": t.scan,
        "at": t.at,
        "account": {"id": t.account_id, "name": t.account_name},
        "rule": t.rule,
        "title": finding.title if finding and t.rule else None,
        "severity": finding.severity if finding and t.rule else None,
        "from": t.from_status.value if t.from_status else None,
        "to": t.to_status.value if t.to_status else None,
        "finding": t.finding.to_json() if t.finding else None,
        "previous": {
            "status": t.from_status.value if t.from_status else None,
            "finding": t.previous.to_json() if t.previous else None,
        },
        "broken_link": _broken_link(t.finding),
        "remediation": dict(t.finding.remediation) if t.finding else {},
    }


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(t: Transition) -> str:
    """A readable message: headline, what changed, the broken link, the first fix steps."""
    lines = [f"{WORDING[t.kind].emoji} *{_slack_escape(headline(t))}*"]
    if t.detail:
        lines.append(_slack_escape(t.detail))
    broken = _broken_link(t.finding)
    if broken is not None and t.to_status is not None and t.to_status.value == "FAIL":
        where = f": {broken['detail']}" if broken.get("detail") else ""
        lines.append(
            _slack_escape(f"Broken link: {broken['link']}{where} ({broken['failure_means']})")
        )
    fix = (t.finding.remediation.get("console", "") if t.finding else "").strip().splitlines()
    if fix and t.to_status is not None and t.to_status.value == "FAIL":
        lines.append("Fix:\n" + _slack_escape("\n".join(fix[:6])))
    return "\n".join(lines)


__all__ = ["WEBHOOK_VERSION", "WORDING", "Wording", "headline", "slack_text", "webhook_body"]
