"""The front process that owns the daemon's port: probes answered whatever the daemon does, every
other request forwarded as it came and answered as the daemon sent it."""

from __future__ import annotations

import asyncio
import gzip
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from daemon.polling import run, until
from yarl import URL

from scanner.daemon.front import Probes
from scanner.daemon.front_control import Front, bind, private_socket_path
from scanner.daemon.http import start_unix

READY = {"/healthz": (200, "ok\n"), "/readyz": (200, "ready\n")}
RESTORING = {"/healthz": (200, "ok\n"), "/readyz": (503, "restoring the state\n")}


def test_the_front_says_the_daemon_is_hung_when_it_stops_reporting() -> None:
    probes = Probes(stale_after=30, now=0.0)
    assert probes.answer("/readyz", now=1.0) == (503, "starting\n")
    assert probes.update(b'{"n": 7, "/healthz": [200, "ok\\n"], "/readyz": [200, "ready\\n"]}', 5)
    assert probes.answer("/healthz", now=34.0) == (200, "ok\n")
    status, text = probes.answer("/healthz", now=36.0)
    assert (status, text) == (
        503,
        "the daemon has not reported for 31 s: its event loop is stuck\n",
    )
    assert probes.answer("/readyz", now=36.0)[0] == 503


@pytest.mark.parametrize("line", [b"", b"nonsense", b'{"n": 1}', b'{"n": 2, "/healthz": 3}'])
def test_a_line_the_front_does_not_understand_changes_nothing(line: bytes) -> None:
    probes = Probes(now=0.0)
    assert probes.update(line, now=1.0) == 0
    assert probes.answer("/healthz", now=1.0) == (200, "starting\n")


async def _echo(request: web.Request) -> web.Response:
    """A stand-in for the daemon's application: says what it received."""
    if request.headers.get("Authorization") != "Bearer s3cret":
        raise web.HTTPUnauthorized(
            text="a bearer token is required\n", headers={"WWW-Authenticate": 'Bearer realm="x"'}
        )
    body = f"{request.method} {request.raw_path} accept={request.headers.get('Accept')}\n".encode()
    body += await request.read()
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        return web.Response(body=gzip.compress(body), headers={"Content-Encoding": "gzip"})
    return web.Response(body=body, content_type="text/plain")


async def _slow(request: web.Request) -> web.Response:
    time.sleep(2.0)  # the daemon's loop busy: nothing else runs on it meanwhile
    return web.Response(text="done\n")


@dataclass
class Running:
    front: Front
    url: str
    daemon: web.AppRunner


@asynccontextmanager
async def running(stale_after: float = 30.0) -> AsyncIterator[Running]:
    app = web.Application()
    app.router.add_route("*", "/slow", _slow)
    app.router.add_route("*", "/{tail:.*}", _echo)
    upstream, _ = private_socket_path()
    daemon = await start_unix(app, upstream)
    front = Front(bind("127.0.0.1", 0), upstream, stale_after=stale_after)
    front.say(RESTORING)
    await front.start()
    assert await front.sync()
    watcher = asyncio.create_task(front.watch())
    host, port = front.address
    try:
        yield Running(front, f"http://{host}:{port}", daemon)
    finally:
        await front.close()
        watcher.cancel()
        await daemon.cleanup()


async def get(url: str, **headers: str) -> tuple[int, bytes, dict[str, str]]:
    async with (
        aiohttp.ClientSession(auto_decompress=False) as http,
        http.get(
            URL(url, encoded=True), headers=headers, skip_auto_headers=("Accept-Encoding",)
        ) as r,
    ):
        return r.status, await r.read(), dict(r.headers)


def test_probes_are_what_the_daemon_said_last() -> None:
    async def scenario() -> None:
        async with running() as r:
            assert (await get(f"{r.url}/readyz"))[:2] == (503, b"restoring the state\n")
            assert (await get(f"{r.url}/healthz"))[:2] == (200, b"ok\n")
            r.front.say(READY)
            assert await r.front.sync()
            assert (await get(f"{r.url}/readyz"))[:2] == (200, b"ready\n")

    run(scenario())


def test_other_requests_reach_the_daemon_as_sent_and_come_back_as_answered() -> None:
    async def scenario() -> None:
        async with running() as r:
            url = f"{r.url}/api/v1/findings?status=FAIL&ou=Workloads%2FProd"
            status, body, headers = await get(url)
            assert status == 401 and headers["WWW-Authenticate"] == 'Bearer realm="x"'
            token = {"Authorization": "Bearer s3cret"}
            status, body, headers = await get(url, Accept="application/openmetrics-text", **token)
            assert status == 200 and "Content-Encoding" not in headers  # none asked, none given
            assert body == (
                b"GET /api/v1/findings?status=FAIL&ou=Workloads%2FProd "
                b"accept=application/openmetrics-text\n"
            )
            status, body, headers = await get(
                f"{r.url}/metrics", **token, **{"Accept-Encoding": "gzip"}
            )
            assert headers["Content-Encoding"] == "gzip"  # compressed by the daemon, passed as is
            assert gzip.decompress(body) == b"GET /metrics accept=*/*\n"
            async with (
                aiohttp.ClientSession() as http,
                http.post(f"{r.url}/anything", data=b"payload", headers=token) as response,
            ):
                assert await response.read() == b"POST /anything accept=*/*\npayload"

    run(scenario())


def test_probes_are_answered_while_the_daemons_loop_is_busy() -> None:
    """The daemon's event loop blocked for two seconds: a probe sent meanwhile does not wait for
    it (it would take 1.7 s; it takes milliseconds, under a second on any machine)."""

    async def scenario() -> None:
        async with running() as r:
            timings: list[float] = []

            def probe() -> None:
                time.sleep(0.3)  # once the daemon's loop is blocked
                started = time.monotonic()
                with urllib.request.urlopen(f"{r.url}/healthz", timeout=5) as response:
                    assert response.status == 200
                timings.append(time.monotonic() - started)

            prober = threading.Thread(target=probe)
            prober.start()
            assert (await get(f"{r.url}/slow"))[1] == b"done\n"
            await asyncio.to_thread(prober.join)
            assert timings and timings[0] < 1.0, timings

    run(scenario())


def test_a_daemon_that_stops_reporting_is_reported_hung_and_one_that_is_gone_gives_502() -> None:
    async def scenario() -> None:
        async with running(stale_after=0.5) as r:
            await asyncio.sleep(0.7)  # nobody reports in this test: as a hung daemon would not
            status, body, _ = await get(f"{r.url}/healthz")
            assert status == 503 and body.startswith(b"the daemon has not reported for")
            await r.daemon.cleanup()
            status, body, _ = await get(f"{r.url}/metrics")
            assert status == 502 and body.startswith(b"the daemon did not answer")

    run(scenario())


def test_a_front_that_dies_is_started_again_on_the_same_port() -> None:
    async def scenario() -> None:
        async with running() as r:
            r.front.say(READY)
            assert await r.front.sync()
            assert r.front.process is not None
            first = r.front.process.pid
            os.kill(first, signal.SIGKILL)
            await until(lambda: r.front.process is not None and r.front.process.pid != first, 10)
            assert await r.front.sync()
            assert (await get(f"{r.url}/readyz"))[:2] == (200, b"ready\n")  # said again
            assert r.front.starts == 2  # the daemon's scanner_http_front_restarts_total: 1

    run(scenario())


DAEMON = """
import asyncio, sys
from aiohttp import web
from scanner.daemon.front_control import Front, bind, private_socket_path
from scanner.daemon.http import start_unix

async def main():
    upstream, _ = private_socket_path()
    await start_unix(web.Application(), upstream)
    front = Front(bind("127.0.0.1", 0), upstream)
    front.say({"/healthz": (200, "ok\\n"), "/readyz": (200, "ready\\n")})
    await front.start()
    print(front.process.pid, front.address[1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def test_the_front_ends_when_its_daemon_is_killed() -> None:
    daemon = subprocess.Popen(
        [sys.executable, "-c", DAEMON], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert daemon.stdout is not None
        pid, port = map(int, daemon.stdout.readline().split())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            assert r.status == 200
        daemon.kill()  # -9: no clean-up of its own
        daemon.wait()
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}") and _state(pid) != "Z":
            assert time.monotonic() < deadline, "the front outlived its daemon"
            time.sleep(0.05)
    finally:
        if daemon.poll() is None:
            daemon.kill()
        daemon.communicate()


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_a_daemon_whose_front_cannot_start_stops_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from scanner.cli.serve import _run, demo_config

    cfg = demo_config(
        "http://127.0.0.1:9",
        {"state": {"path": str(tmp_path / "s.db")}},
        listen="127.0.0.1:0",
    )
    monkeypatch.setattr(sys, "executable", "/bin/false")  # the front's interpreter fails at once
    started = time.monotonic()
    assert _run(cfg) == 2
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        "scanner: error: cannot listen on 127.0.0.1:0: "
        "the HTTP front process did not start (exit status 1)"
    )


def test_the_daemon_restarts_its_front_and_counts_it(tmp_path: Path) -> None:
    from scanner.aws import CollectResult
    from scanner.cli.serve import demo_config
    from scanner.daemon.lifecycle import Daemon

    async def never(options: object) -> CollectResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    cfg = demo_config(
        "http://127.0.0.1:9",
        {"state": {"path": str(tmp_path / "s.db")}},
        listen="127.0.0.1:0",
    )

    async def scenario() -> None:
        async with Daemon(cfg, collect_fn=never) as daemon:
            front = daemon.front
            assert front is not None and front.process is not None
            first = front.process.pid
            os.kill(first, signal.SIGKILL)
            await until(lambda: front.process is not None and front.process.pid != first, 10)
            assert await front.sync()
            status, body, _ = await get(f"{daemon.url}/metrics")
            assert status == 200
            assert b"scanner_http_front_restarts_total 1.0" in body
            assert (await get(f"{daemon.url}/healthz"))[:2] == (200, b"ok\n")

    run(scenario())
