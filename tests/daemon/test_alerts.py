"""Alert delivery over real HTTP to local receivers: signed webhooks, Slack, Alertmanager v2."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import random
import sqlite3
import time
from collections.abc import AsyncIterator, MutableMapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import web

from scanner.daemon.alerts import AlertDispatcher, backoff, redact_url, scrub
from scanner.daemon.config import (
    AlertmanagerConfig,
    AlertsConfig,
    RetryConfig,
    SlackConfig,
    WebhookConfig,
)
from scanner.daemon.state import StateStore, iso
from scanner.daemon.transitions import Transition
from scanner.evaluate import evaluate
from scanner.model import Finding, Status
from scanner.testing import MEMBER_ACCOUNT_ID, healthy_account, single_account, with_trail

RULE = "unauthorized-api-calls"
SECRET = "webhook-shared-secret-5e3f"
FAST = RetryConfig(initial=0.01, max=0.05, give_up_after=3600.0)


@functools.cache
def real_finding(broken: bool) -> Finding:
    """A finding as the evaluator makes it: PASS, or FAIL with the trail stopped."""
    account = healthy_account(rules=[RULE])
    if broken:
        account = with_trail(account, is_logging=False)
    return next(f for f in evaluate(single_account(account)) if f.rule == RULE)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local HTTP receiver; answers ``statuses`` in turn (then 200), echoing the path on error."""

    statuses: list[int] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    url: str = ""
    hang: float = 0.0  # seconds to sit on each request before answering

    async def handle(self, request: web.Request) -> web.Response:
        got = Received(request.path_qs, dict(request.headers), await request.read())
        self.requests.append(got)
        await asyncio.sleep(self.hang)
        status = self.statuses.pop(0) if self.statuses else 200
        if status >= 300:
            return web.Response(
                status=status, text=f"cannot take {request.path_qs}", headers=self.headers
            )
        self.accepted.append(got)
        return web.Response(status=status, text="ok")


@asynccontextmanager
async def serving(*receivers: Receiver) -> AsyncIterator[None]:
    runners = []
    for receiver in receivers:
        app = web.Application()
        app.router.add_post("/{tail:.*}", receiver.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        receiver.url = f"http://{host}:{port}"
        runners.append(runner)
    try:
        yield
    finally:
        for runner in runners:
            await runner.cleanup()


@dataclass
class Daemon:
    """The store and the dispatcher, scanning one finding at a time as the service does."""

    store: StateStore
    alerts: AlertsConfig

    def scan(self, status: Status) -> list[Transition]:
        finished = datetime.now(UTC)
        return self.store.record_scan(
            [real_finding(status is Status.FAIL)],
            {MEMBER_ACCOUNT_ID: "workload"},
            started=finished - timedelta(seconds=1),
            finished=finished,
            error_after_scans=3,
            targets=self.alerts.targets,
        )


def webhook(receiver: Receiver, secret_file: Path, name: str = "hook") -> WebhookConfig:
    return WebhookConfig(name=name, url=f"{receiver.url}/hook", secret_file=str(secret_file))


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret"
    path.write_text(SECRET + "\n")
    return path


def test_the_webhook_is_signed_and_carries_finding_previous_state_link_and_fix(
    secret_file: Path,
) -> None:
    async def main() -> None:
        receiver = Receiver()
        async with serving(receiver):
            alerts = AlertsConfig(webhooks=(webhook(receiver, secret_file),), retry=FAST)
            with StateStore.open(":memory:") as store:
                daemon = Daemon(store, alerts)
                async with AlertDispatcher(store, alerts) as dispatcher:
                    daemon.scan(Status.PASS)
                    (t,) = daemon.scan(Status.FAIL)
                    report = await dispatcher.deliver_pending()
                    assert (report.sent, report.retried, report.abandoned) == (1, 0, 0)
                    assert (await dispatcher.deliver_pending()).sent == 0
        (got,) = receiver.requests
        assert got.path == "/hook"
        expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
        assert got.headers["X-Scanner-Signature"] == expected
        assert got.headers["Idempotency-Key"] == t.key
        assert got.headers["X-Scanner-Event"] == "failed"
        body = got.json()
        assert body["idempotency_key"] == t.key
        assert (body["event"], body["from"], body["to"]) == ("failed", "PASS", "FAIL")
        assert body["account"] == {"id": MEMBER_ACCOUNT_ID, "name": "workload"}
        assert body["rule"] == RULE
        assert body["finding"] == real_finding(True).to_json()
        assert body["previous"] == {"status": "PASS", "finding": real_finding(False).to_json()}
        assert body["broken_link"]["link"] == "logging"
        assert body["broken_link"]["failure_means"] == "no event is recorded at all"
        assert "is not logging" in body["broken_link"]["detail"]
        assert "aws cloudtrail start-logging" in body["remediation"]["cli"]
        assert body["summary"].startswith("FAILING: Unauthorized API calls")

    asyncio.run(main())


def test_slack_gets_a_readable_message(tmp_path: Path) -> None:
    async def main() -> None:
        receiver = Receiver()
        async with serving(receiver):
            env = {"SLACK_URL": f"{receiver.url}/services/T000/B000/slacktokensecret"}
            alerts = AlertsConfig(slack=(SlackConfig(name="chat", url_env="SLACK_URL"),))
            with StateStore.open(":memory:") as store:
                daemon = Daemon(store, alerts)
                async with AlertDispatcher(store, alerts, environ=env) as dispatcher:
                    daemon.scan(Status.PASS)
                    daemon.scan(Status.FAIL)
                    daemon.scan(Status.PASS)
                    assert (await dispatcher.deliver_pending()).sent == 2
        failed, resolved = (r.json()["text"] for r in receiver.accepted)
        assert receiver.accepted[0].path == "/services/T000/B000/slacktokensecret"
        lines = failed.splitlines()
        assert lines[0] == (
            ":red_circle: *FAILING: Unauthorized API calls (unauthorized-api-calls, medium)"
            " in account workload (222222222222)*"
        )
        assert lines[1].startswith('now FAIL (was PASS): trail "management-events" is not logging')
        assert lines[2] == (
            'Broken link: logging: trail "management-events" is not logging (stopped)'
            " (no event is recorded at all)"
        )
        assert lines[3] == "Fix:"
        assert any("Start logging" in line for line in lines[4:])
        assert resolved.splitlines()[0].startswith(":large_green_circle: *RESOLVED: Unauth")
        assert "Broken link" not in resolved

    asyncio.run(main())


def test_alertmanager_gets_every_failing_control_each_scan_then_its_resolution() -> None:
    async def main() -> None:
        first, second = Receiver(), Receiver()
        async with serving(first, second):
            alerts = AlertsConfig(
                alertmanager=(
                    AlertmanagerConfig(name="am-1", url=first.url),
                    AlertmanagerConfig(name="am-2", url=f"{second.url}/api/v2/alerts"),
                )
            )
            with StateStore.open(":memory:") as store:
                daemon = Daemon(store, alerts)
                async with AlertDispatcher(store, alerts, alertmanager_validity=600) as dispatcher:
                    scans = []
                    for status in (Status.PASS, Status.FAIL, Status.FAIL, Status.PASS):
                        daemon.scan(status)
                        scan = store.last_scan()
                        assert scan is not None
                        scans.append(scan.finished)
                        await dispatcher.deliver_pending()

        def timeless(requests: list[Received]) -> list[list[dict[str, Any]]]:
            return [[{**a, "endsAt": None} for a in r.json()] for r in requests]

        assert timeless(first.requests) == timeless(second.requests)  # endsAt: at sending
        assert [r.path for r in first.requests + second.requests] == ["/api/v2/alerts"] * 6
        firing, again, resolved = ([*r.json()] for r in first.requests)
        labels = {
            "alertname": "ScannerControlFailing",
            "account_id": MEMBER_ACCOUNT_ID,
            "rule": RULE,
            "severity": "medium",
        }
        for batch in (firing, again, resolved):
            assert len(batch) == 1
            assert batch[0]["labels"] == labels
            assert batch[0]["startsAt"] == iso(scans[1])  # when it began to fail
        assert "Unauthorized API calls" in firing[0]["annotations"]["summary"]
        assert firing[0]["annotations"]["broken_link"] == "logging"
        for batch in (firing, again):
            ends = datetime.fromisoformat(batch[0]["endsAt"])
            assert datetime.now(UTC) + timedelta(seconds=500) < ends  # valid until re-sent
        assert resolved[0]["endsAt"] == iso(scans[3])  # when it was seen passing

    asyncio.run(main())


def test_a_receiver_refusing_for_a_while_gets_every_alert_once_after(secret_file: Path) -> None:
    async def main() -> None:
        hook, chat = Receiver(statuses=[503] * 4), Receiver(statuses=[502, 500, 503, 504, 429])
        async with serving(hook, chat):
            alerts = AlertsConfig(
                webhooks=(webhook(hook, secret_file),),
                slack=(SlackConfig(name="chat", url=f"{chat.url}/slack"),),
                retry=FAST,
            )
            path = str(secret_file.parent / "state.db")
            stop = asyncio.Event()
            with StateStore.open(path) as store:
                daemon = Daemon(store, alerts)
                dispatcher = AlertDispatcher(store, alerts)
                loop = asyncio.create_task(dispatcher.run(stop))
                keys = []
                for status in (Status.PASS, Status.FAIL, Status.PASS, Status.FAIL, Status.PASS):
                    keys += [t.key for t in daemon.scan(status)]
                    dispatcher.notify()
                    await asyncio.sleep(0.01)
                # Generous: each delivery commits to SQLite, slow on a busy disk; what is
                # asserted is what arrives, not how fast.
                async with asyncio.timeout(60):
                    while len(hook.accepted) < 4 or len(chat.accepted) < 4:
                        await asyncio.sleep(0.01)
                stop.set()
                await loop
                await dispatcher.aclose()
            assert len(keys) == 4
            assert [r.headers["Idempotency-Key"] for r in hook.accepted] == keys  # in order
            assert len(hook.requests) == 8  # four refusals, then each once
            assert len(chat.requests) == 9
            texts = [r.json()["text"].split("*")[1].split(":")[0] for r in chat.accepted]
            assert texts == ["FAILING", "RESOLVED", "FAILING", "RESOLVED"]
            # a restart on the same state sends nothing again
            with StateStore.open(path) as store:
                async with AlertDispatcher(store, alerts) as again:
                    assert (await again.deliver_pending()).sent == 0
                    assert Daemon(store, alerts).scan(Status.PASS) == []
                    assert (await again.deliver_pending()).sent == 0
            assert (len(hook.requests), len(chat.requests)) == (8, 9)

    asyncio.run(main())


def test_stopping_interrupts_a_hanging_delivery_and_keeps_the_message(
    secret_file: Path,
) -> None:
    async def main() -> None:
        receiver = Receiver(hang=30.0)
        async with serving(receiver):
            alerts = AlertsConfig(webhooks=(webhook(receiver, secret_file),), retry=FAST)
            with StateStore.open(":memory:") as store:
                daemon = Daemon(store, alerts)
                daemon.scan(Status.PASS)
                (t,) = daemon.scan(Status.FAIL)
                stop = asyncio.Event()
                async with AlertDispatcher(store, alerts) as dispatcher:
                    loop = asyncio.create_task(dispatcher.run(stop))
                    async with asyncio.timeout(5):
                        while not receiver.requests:
                            await asyncio.sleep(0.01)
                    stop.set()
                    async with asyncio.timeout(1):
                        await loop
                assert [i.key for i in store.pending("hook", now=time.time())] == [t.key]

    asyncio.run(main())


@pytest.mark.parametrize("interruption", ["stopped-while-sending", "refused-once"])
def test_a_slack_message_retried_after_a_restart_is_the_same_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interruption: str
) -> None:
    """The receiver got the message but the daemon stopped before recording it (or the
    receiver failed once); after a restart on the same state, and an upgrade that rewords
    messages, the retry's body is byte for byte the first one's."""
    from scanner.daemon import messages
    from scanner.daemon.transitions import Kind

    path = str(tmp_path / "state.db")

    async def main() -> None:
        hanging = interruption == "stopped-while-sending"
        chat = Receiver(hang=30.0) if hanging else Receiver(statuses=[503])
        async with serving(chat):
            alerts = AlertsConfig(slack=(SlackConfig(name="chat", url=f"{chat.url}/slack"),))
            with StateStore.open(path) as store:
                daemon = Daemon(store, alerts)
                daemon.scan(Status.PASS)
                (transition,) = daemon.scan(Status.FAIL)
                stop = asyncio.Event()
                async with AlertDispatcher(store, alerts) as dispatcher:
                    loop = asyncio.create_task(dispatcher.run(stop))
                    async with asyncio.timeout(5):
                        while not chat.requests:
                            await asyncio.sleep(0.01)
                    stop.set()
                    async with asyncio.timeout(2):
                        await loop
            chat.hang = 0.0
            monkeypatch.setitem(
                messages.WORDING, Kind.FAILED, messages.Wording(":x:", "NOW WORDED OTHERWISE")
            )
            assert "NOW WORDED OTHERWISE" in messages.slack_text(transition)
            with StateStore.open(path) as store:
                later = time.time() + 3600  # past any backoff of the refusal
                assert len(store.pending("chat", now=later)) == 1
                async with AlertDispatcher(store, alerts, clock=lambda: later) as again:
                    assert (await again.deliver_pending()).sent == 1
        first, retried = chat.requests
        assert retried.body == first.body
        assert json.loads(first.body)["text"].startswith(":red_circle: *FAILING: ")
        assert chat.accepted[-1].body == first.body

    asyncio.run(main())


def test_retry_after_is_honoured(secret_file: Path) -> None:
    async def main() -> None:
        receiver = Receiver(statuses=[429], headers={"Retry-After": "2"})
        async with serving(receiver):
            alerts = AlertsConfig(webhooks=(webhook(receiver, secret_file),), retry=FAST)
            with StateStore.open(":memory:") as store:
                daemon = Daemon(store, alerts)
                async with AlertDispatcher(store, alerts) as dispatcher:
                    daemon.scan(Status.PASS)
                    daemon.scan(Status.FAIL)
                    report = await dispatcher.deliver_pending()
                    assert report.retried == 1
                    assert report.next_due is not None
                    assert 1.5 < report.next_due - time.time() <= 2.0
                    assert (await dispatcher.deliver_pending()).sent == 0  # not due yet

    asyncio.run(main())


def test_a_refusal_for_good_is_abandoned_and_the_next_message_goes(secret_file: Path) -> None:
    async def main() -> list[MutableMapping[str, Any]]:
        receiver = Receiver(statuses=[400])
        async with serving(receiver):
            alerts = AlertsConfig(webhooks=(webhook(receiver, secret_file),), retry=FAST)
            with StateStore.open(":memory:") as store, structlog.testing.capture_logs() as logs:
                daemon = Daemon(store, alerts)
                async with AlertDispatcher(store, alerts) as dispatcher:
                    daemon.scan(Status.PASS)
                    daemon.scan(Status.FAIL)
                    daemon.scan(Status.PASS)
                    report = await dispatcher.deliver_pending()
                    assert (report.sent, report.abandoned) == (1, 1)
                    assert dispatcher.totals == {("hook", "abandoned"): 1, ("hook", "sent"): 1}
        assert [r.json()["event"] for r in receiver.accepted] == ["resolved"]
        return logs

    logs = asyncio.run(main())
    (abandoned,) = [e for e in logs if e["event"] == "alert abandoned"]
    assert abandoned["reason"] == "refused"
    assert abandoned["error"] == "HTTP 400: cannot take [redacted]"
    assert abandoned["log_level"] == "error"


def test_a_message_undelivered_past_give_up_after_is_abandoned(secret_file: Path) -> None:
    async def main() -> None:
        receiver = Receiver()
        async with serving(receiver):
            alerts = AlertsConfig(webhooks=(webhook(receiver, secret_file),), retry=FAST)
            with StateStore.open(":memory:") as store:
                daemon = Daemon(store, alerts)
                daemon.scan(Status.PASS)
                daemon.scan(Status.FAIL)
                later = lambda: time.time() + 3601  # noqa: E731
                async with AlertDispatcher(store, alerts, clock=later) as dispatcher:
                    report = await dispatcher.deliver_pending()
                    assert (report.sent, report.abandoned) == (0, 1)
        assert receiver.requests == []

    asyncio.run(main())


def test_secrets_never_appear_in_logs_or_in_the_state(tmp_path: Path, secret_file: Path) -> None:
    slack_token = "T0SECRET/B0SECRET/xoxbSuperSecretSlackToken"
    query_token = "queryTokenVerySecret42"

    async def main() -> list[MutableMapping[str, Any]]:
        hook, chat = Receiver(statuses=[503, 503]), Receiver(statuses=[503, 403])
        async with serving(hook, chat):
            env = {"SLACK": f"{chat.url}/services/{slack_token}"}
            alerts = AlertsConfig(
                webhooks=(
                    WebhookConfig(
                        name="hook",
                        url=f"{hook.url}/in?token={query_token}",
                        secret_file=str(secret_file),
                    ),
                    WebhookConfig(
                        name="down",  # nothing listens there: connection refused
                        url=f"http://127.0.0.1:9/x?token={query_token}",
                        secret_file=str(secret_file),
                    ),
                ),
                slack=(SlackConfig(name="chat", url_env="SLACK"),),
                retry=FAST,
            )
            store = StateStore.open(tmp_path / "state.db")
            daemon = Daemon(store, alerts)
            with structlog.testing.capture_logs() as logs:
                async with AlertDispatcher(store, alerts, environ=env) as dispatcher:
                    daemon.scan(Status.PASS)
                    daemon.scan(Status.FAIL)
                    for _ in range(4):
                        await dispatcher.deliver_pending()
                        await asyncio.sleep(0.06)
            store.close()
            assert len(hook.accepted) == 1
        return logs

    logs = asyncio.run(main())
    events = {e["event"] for e in logs}
    assert {"alert delivered", "alert delivery failed, will retry", "alert abandoned"} <= events
    text = repr(logs)
    assert "hook" in text and "chat" in text and "down" in text and "127.0.0.1" in text
    db = sqlite3.connect(tmp_path / "state.db")
    stored = repr(db.execute("SELECT * FROM outbox").fetchall())
    db.close()
    assert "HTTP 503" in stored
    for secret in (SECRET, slack_token, "xoxbSuperSecretSlackToken", query_token):
        assert secret not in text
        assert secret not in stored


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    retry = RetryConfig(initial=5.0, max=600.0)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 5), (2, 10), (3, 20), (7, 320), (8, 600), (30, 600)]:
        delays = [backoff(attempt, retry, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 4  # jittered, not fixed


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T0/B0/XyZ", "https://hooks.slack.com/..."),
        ("http://user:pw@am.example:9093/", "http://am.example:9093"),
        ("http://am:9093", "http://am:9093"),
        ("https://example.com?token=abc", "https://example.com/..."),
        ("http://[::1]:8080/a", "http://[::1]:8080/..."),
        ("http://[bad", "[redacted]"),
    ],
)
def test_redacted_urls_keep_only_scheme_host_and_port(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_scrub_replaces_longest_secrets_first() -> None:
    secrets: Sequence[str] = ["http://h/a/secretpath?q=1", "/a/secretpath", "q=1", "abc"]
    text = "failed http://h/a/secretpath?q=1 and /a/secretpath"
    assert scrub(text, secrets) == "failed [redacted] and [redacted]"
