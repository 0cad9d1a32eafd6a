"""Telling receivers: render an outbox message for its target, deliver it, retry, never leak.

This module decides nothing about *what* to tell (:mod:`.transitions` did, :mod:`.state` keeps
it); it renders each outbox message for its kind of target and delivers it at least once:

* **generic webhook**: a JSON body (the finding, the previous state, the broken link, the
  remediation) signed ``X-Scanner-Signature: sha256=<hex HMAC-SHA256(secret, body)>``, with the
  transition's idempotency key in the ``Idempotency-Key`` header and the body;
* **Slack-compatible incoming webhook**: ``{"text": ...}``, a readable message
  (:mod:`.messages`), rendered when the transition is enqueued and kept in its outbox row;
* **Alertmanager API v2**: ``POST <url>/api/v2/alerts`` with the whole batch of the scan (one
  alert per failing (account, rule), labels ``alertname``, ``account_id``, ``rule``,
  ``severity``); firing alerts get ``endsAt`` = send time + ``alertmanager_validity``, so an
  alert the daemon stops re-sending (it died) expires on its own, as Prometheus does it; resolved
  ones carry the ``endsAt`` of the scan that saw them pass.

Rendering is deterministic: a retried message is byte-for-byte the same body with the same key.
A Slack message, which carries no key a receiver could drop a duplicate by, is not even
rendered again: a retry (after a restart, an upgrade that reworded messages) sends the text the
outbox row holds, so a person who sees it twice sees the same message twice. Rows enqueued by
a scanner that stored no text are rendered at send time, as before.

What a receiver can count on, per kind: a webhook gets each transition at least once on the
wire and exactly once as seen by a receiver that drops a repeated ``Idempotency-Key``; Slack
gets it at least once, a repeat being the same text; Alertmanager gets the whole firing set
after every scan while anything fails, idempotent by its labels.

Delivery (:class:`AlertDispatcher`): each target is drained in enqueue order, targets in
parallel. 2xx marks the message sent. A 408, 425, 429 or 5xx, a timeout or a connection error
is retried after an exponential backoff with jitter (or ``Retry-After`` if longer), and the
target's later messages wait behind it; any other status is a refusal for good (the message is
abandoned, logged, and the next one goes). A message still undelivered ``give_up_after`` its
creation is abandoned. Redirects are not followed (a signed body goes where it was configured).

Secrets: webhook secrets and Slack URLs are read from their file or variable at each send (a
rotated secret needs no restart) and never stored or logged. Logs name the target and its URL
reduced to scheme, host and port (:func:`redact_url`); every error text is scrubbed of the
URL's path, query and credentials and of the secret before it is logged or stored.

Use::

    dispatcher = AlertDispatcher(store, config.alerts, alertmanager_validity=3 * interval)
    task = asyncio.create_task(dispatcher.run(stop))  # the retry loop
    ...  # after each store.record_scan(...):
    dispatcher.notify()
    ...
    stop.set(); await task; await dispatcher.aclose()

:meth:`AlertDispatcher.deliver_pending` runs one pass by hand (tests, or without ``run``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import structlog

from scanner.daemon.config import (
    AlertmanagerConfig,
    AlertsConfig,
    RetryConfig,
    SlackConfig,
    WebhookConfig,
)
from scanner.daemon.messages import slack_text, webhook_body
from scanner.daemon.state import OutboxItem, StateStore, Target, iso
from scanner.daemon.transitions import AlertmanagerAlert

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Scanner-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Scanner-Event"
ALERTNAME = "ScannerControlFailing"
ALERTMANAGER_PATH = "/api/v2/alerts"

RETRY_STATUSES = frozenset({408, 425, 429})  # and every 5xx
REDACTED = "[redacted]"


# --------------------------------------------------------------------------------------------
# Rendering (pure; the words of a transition are :mod:`.messages`').


def signature(secret: bytes, body: bytes) -> str:
    """The ``X-Scanner-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def encode_body(document: object) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces): the signed bytes are reproducible."""
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def alertmanager_alerts(
    alerts: Sequence[AlertmanagerAlert], now: float, validity: float
) -> list[dict[str, Any]]:
    """The body of ``POST /api/v2/alerts``: firing alerts valid for ``validity`` seconds."""
    until = iso(datetime.fromtimestamp(now + validity, UTC))
    out = []
    for a in alerts:
        annotations = {
            "summary": f"{a.title} is not monitored in account {a.account_name} ({a.account_id})",
            "description": a.reason,
            "account_name": a.account_name,
        }
        if a.broken_link:
            annotations["broken_link"] = a.broken_link
        out.append(
            {
                "labels": {
                    "alertname": ALERTNAME,
                    "account_id": a.account_id,
                    "rule": a.rule,
                    "severity": a.severity,
                },
                "annotations": annotations,
                "startsAt": a.starts_at,
                "endsAt": a.ends_at or until,
            }
        )
    return out


# --------------------------------------------------------------------------------------------
# Secrets out of sight.


def redact_url(url: str) -> str:
    """``https://hooks.example.com/…``: scheme, host and port only, safe for logs."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return REDACTED
    if ":" in host:
        host = f"[{host}]"
    rest = "/..." if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}{port}{rest}"


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret fragment (longest first) replaced by ``[redacted]``."""
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _url_secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [url, parts.query, parts.password or "", parts.username or ""]
    if parts.path not in ("", "/"):
        found.append(parts.path)
        found.extend(segment for segment in parts.path.split("/") if len(segment) >= 8)
    return found


# --------------------------------------------------------------------------------------------
# Backoff.


def backoff(attempt: int, retry: RetryConfig, rng: random.Random) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, capped, half of it jittered."""
    ceiling: float = min(retry.max, retry.initial * 2.0 ** max(attempt - 1, 0))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def _retry_after(value: str | None, retry: RetryConfig) -> float | None:
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value.strip()), retry.give_up_after)


# --------------------------------------------------------------------------------------------
# Delivery.


@dataclass(frozen=True, slots=True)
class _Request:
    url: str
    body: bytes
    headers: dict[str, str]
    secrets: list[str]


@dataclass(frozen=True, slots=True)
class _Result:
    outcome: str  # sent | retry | refused
    error: str = ""
    retry_after: float | None = None


@dataclass(slots=True)
class Delivery:
    """What one pass did, per outcome, and when the earliest waiting message is due."""

    sent: int = 0
    retried: int = 0
    abandoned: int = 0
    next_due: float | None = None


class AlertDispatcher:
    """Drains the store's outbox into the configured targets; see the module docstring."""

    def __init__(
        self,
        store: StateStore,
        alerts: AlertsConfig,
        *,
        environ: Mapping[str, str] | None = None,
        alertmanager_validity: float = 3600.0,
        timeout: float = 10.0,
        idle: float = 60.0,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._targets: tuple[Target, ...] = alerts.targets
        self._retry = alerts.retry
        self._environ = environ
        self._validity = alertmanager_validity
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._idle = idle
        self._clock = clock
        self._rng = rng or random.Random()
        self._session: aiohttp.ClientSession | None = None
        self._pass = asyncio.Lock()
        self._wake = asyncio.Event()
        self._totals: Counter[tuple[str, str]] = Counter()

    @property
    def totals(self) -> dict[tuple[str, str], int]:
        """Cumulative (target name, sent|retried|refused|abandoned) -> count, for metrics."""
        return dict(self._totals)

    def notify(self) -> None:
        """New messages were enqueued: wake :meth:`run` now rather than at its next timer."""
        self._wake.set()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> AlertDispatcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver, then sleep until the next message is due, a :meth:`notify`, or ``stop``.

        ``stop`` interrupts a pass at once (a receiver that hangs cannot hold up a shutdown):
        the message in flight stays pending and goes again, same key, after the restart.
        """
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                self._wake.clear()
                delivering = asyncio.ensure_future(self.deliver_pending())
                await asyncio.wait((delivering, stopping), return_when=asyncio.FIRST_COMPLETED)
                if not delivering.done():
                    delivering.cancel()
                    await asyncio.gather(delivering, return_exceptions=True)
                    return
                report = Delivery()
                try:
                    report = delivering.result()
                except Exception as err:  # the loop must outlive any one bad pass
                    log.error("alert delivery pass failed", error=type(err).__name__)
                delay = self._idle
                if report.next_due is not None:
                    delay = min(max(report.next_due - self._clock(), 0.0), self._idle)
                waking = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait(
                        (waking, stopping), timeout=delay, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    waking.cancel()
        finally:
            stopping.cancel()

    async def deliver_pending(self) -> Delivery:
        """One pass over every target: send what is due, in order, until a target fails."""
        async with self._pass:
            reports = await asyncio.gather(*(self._drain(t) for t in self._targets))
        total = Delivery()
        for r in reports:
            total.sent += r.sent
            total.retried += r.retried
            total.abandoned += r.abandoned
            if r.next_due is not None:
                due = [r.next_due] if total.next_due is None else [total.next_due, r.next_due]
                total.next_due = min(due)
        return total

    async def _drain(self, target: Target) -> Delivery:
        report = Delivery()
        items = await asyncio.to_thread(self._store.pending, target.name, self._clock())
        for item in items:
            now = self._clock()
            if now - item.created > self._retry.give_up_after:
                await self._abandon(target, item, item.last_error or "never delivered", "expired")
                report.abandoned += 1
                continue
            result = await self._send(target, item)
            now = self._clock()
            if result.outcome == "sent":
                await asyncio.to_thread(self._store.mark_sent, item.id, now)
                self._totals[(target.name, "sent")] += 1
                report.sent += 1
                log.info(
                    "alert delivered",
                    target=target.name,
                    message_kind=item.kind,
                    key=item.key,
                    attempts=item.attempts + 1,
                )
            elif result.outcome == "refused":
                await self._abandon(target, item, result.error, "refused")
                report.abandoned += 1
            else:
                delay = max(
                    backoff(item.attempts + 1, self._retry, self._rng), result.retry_after or 0.0
                )
                await asyncio.to_thread(self._store.mark_failed, item.id, now + delay, result.error)
                self._totals[(target.name, "retried")] += 1
                report.retried += 1
                log.warning(
                    "alert delivery failed, will retry",
                    target=target.name,
                    url=_where(target),
                    key=item.key,
                    attempts=item.attempts + 1,
                    retry_in_seconds=round(delay, 3),
                    error=result.error,
                )
                break
        report.next_due = await asyncio.to_thread(self._store.next_attempt, target.name)
        return report

    async def _abandon(self, target: Target, item: OutboxItem, error: str, why: str) -> None:
        await asyncio.to_thread(self._store.mark_abandoned, item.id, self._clock(), error)
        self._totals[(target.name, "abandoned")] += 1
        log.error(
            "alert abandoned",
            target=target.name,
            url=_where(target),
            key=item.key,
            reason=why,
            attempts=item.attempts + 1,
            error=error,
        )

    def _request(self, target: Target, item: OutboxItem) -> _Request:
        if isinstance(target, AlertmanagerConfig):
            body = encode_body(alertmanager_alerts(item.alerts(), self._clock(), self._validity))
            url = target.url.rstrip("/")
            if not url.endswith(ALERTMANAGER_PATH):
                url += ALERTMANAGER_PATH
            return _Request(url, body, {"Content-Type": "application/json"}, _url_secrets(url))
        transition = item.transition()
        if isinstance(target, SlackConfig):
            url = target.read_url(self._environ)
            text = item.payload.get("text")  # rendered when enqueued
            body = encode_body({"text": text if isinstance(text, str) else slack_text(transition)})
            return _Request(url, body, {"Content-Type": "application/json"}, _url_secrets(url))
        secret = target.read_secret(self._environ)
        body = encode_body(webhook_body(transition))
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(secret, body),
            IDEMPOTENCY_HEADER: item.key,
            EVENT_HEADER: transition.kind.value,
        }
        url = target.read_url(self._environ)
        secrets = [*_url_secrets(url), secret.decode(errors="replace")]
        return _Request(url, body, headers, secrets)

    async def _send(self, target: Target, item: OutboxItem) -> _Result:
        try:
            request = self._request(target, item)
        except (OSError, ValueError) as err:  # a secret file or variable gone missing
            return _Result("retry", f"cannot read the target's secret: {type(err).__name__}")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(
                request.url, data=request.body, headers=request.headers, allow_redirects=False
            ) as response:
                status = response.status
                text = (await response.text(errors="replace"))[:200]
                retry_after = _retry_after(response.headers.get("Retry-After"), self._retry)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as err:
            message = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            return _Result("retry", scrub(message, request.secrets))
        if 200 <= status < 300:
            return _Result("sent")
        error = scrub(f"HTTP {status}: {' '.join(text.split())}".rstrip(": "), request.secrets)
        if status in RETRY_STATUSES or status >= 500:
            return _Result("retry", error, retry_after)
        return _Result("refused", error)


def _where(target: Target) -> str:
    """The target's URL for logs: redacted, and a Slack URL kept elsewhere is not even read."""
    if target.url:
        return redact_url(target.url)
    assert isinstance(target, SlackConfig | WebhookConfig)
    return f"(URL from {target.url_file or target.url_env})"
