"""The probe front: a small process that owns the daemon's port and answers the probes itself.

Why a process: the daemon collects on its event loop while worker threads evaluate, write the
state and render responses, and under CPython's GIL a thread that only wants to answer a probe
waits behind them. Measured at 1,000 accounts (``bench/soak.py``): /healthz p99 100-130 ms and
up to 230 ms, with the GIL passing between two busy threads while the loop's thread waited its
turn (a waiting thread is not served first), and a collection of a large heap stops every
thread. No switch interval or thread layout bounds that; another interpreter does. Kubernetes
restarts a daemon whose liveness probe outlasts its timeout, so the probes must not depend on
what the daemon is busy with, only on whether it is alive.

How it works:

* The daemon binds the listening socket(s) itself (a bad or busy address fails at once, in the
  daemon, with one line), serves its whole application on a private Unix socket, and starts
  this module as a child (``python -m scanner.daemon.front``) that inherits the listening
  sockets, with a pipe on its standard input and one on its standard output.
* The daemon writes one JSON line on that pipe at every change of its health and at least every
  second: the status and text /healthz and /readyz give now, numbered. The front answers the
  probes from memory and acknowledges each line on standard output with its number, so
  :meth:`Front.sync` can wait until the front answers what the daemon last said.
* A daemon that has said nothing for ``stale_after`` seconds is hung (its event loop has not run
  a one-second timer for that long): both probes then say 503 and why, so liveness still
  catches a daemon that stopped working.
* Every other request (``/metrics``, ``/api/...``) is forwarded to the Unix socket as it came
  (method, path, query, headers, body) and the response streamed back as it was sent: a
  compressed body stays compressed, ``Accept`` negotiation and the bearer token are the
  daemon's. A daemon that does not answer gives 502.
* The end of standard input (the daemon exited, even killed with -9) ends the front. SIGINT
  from a terminal is the daemon's to handle. A front that dies is started again on the same
  sockets (:meth:`Front.watch`); connections wait in the kernel's queue meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog
from aiohttp import ClientError, ClientSession, ClientTimeout, UnixConnector, web
from yarl import URL

log = structlog.get_logger("scanner.daemon")

PROBES = ("/healthz", "/readyz")
STALE_AFTER = 30.0  # seconds without a word from the daemon before the probes say it is hung
HEARTBEAT = 1.0  # the daemon repeats its answers at least this often
RESTART_DELAY = 1.0  # before a front that died is started again
FIRST_WORD = 10.0  # the front waits this long for the daemon's first answers before serving
CHUNK = 64 * 1024
# Hop-by-hop headers (RFC 9110 7.6.1) and those each side sets for itself.
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "date",
        "server",
    }
)

Answers = Mapping[str, tuple[int, str]]  # probe path -> (status, text)


# ------------------------------------------------------------------------------ the front's side


class Probes:
    """What the front answers for /healthz and /readyz, as the daemon last said it."""

    def __init__(self, stale_after: float = STALE_AFTER, now: float | None = None) -> None:
        self.stale_after = stale_after
        self.answers: dict[str, tuple[int, str]] = {
            "/healthz": (200, "starting\n"),
            "/readyz": (503, "starting\n"),
        }
        self.heard = time.monotonic() if now is None else now
        self.number = 0

    def update(self, line: bytes, now: float | None = None) -> int:
        """Apply one line of the daemon's; the line's number (0: not one we understand)."""
        try:
            message = json.loads(line)
            number = int(message["n"])
            answers = {path: (int(message[path][0]), str(message[path][1])) for path in PROBES}
        except (ValueError, KeyError, TypeError, IndexError):
            return 0
        self.answers = answers
        self.number = number
        self.heard = time.monotonic() if now is None else now
        return number

    def answer(self, path: str, now: float | None = None) -> tuple[int, str]:
        silent = (time.monotonic() if now is None else now) - self.heard
        if silent > self.stale_after:
            return 503, f"the daemon has not reported for {silent:.0f} s: its event loop is stuck\n"
        return self.answers[path]


PROBES_KEY: web.AppKey[Probes] = web.AppKey("probes", Probes)
SESSION_KEY: web.AppKey[ClientSession] = web.AppKey("session", ClientSession)


async def _probe(request: web.Request) -> web.Response:
    status, text = request.app[PROBES_KEY].answer(request.path)
    return web.Response(status=status, text=text)


async def _forward(request: web.Request) -> web.StreamResponse:
    """The request to the daemon's own server, the response streamed back as it was sent."""
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED]
    response: web.StreamResponse | None = None
    try:
        async with request.app[SESSION_KEY].request(
            request.method,
            URL("http://daemon" + request.raw_path, encoded=True),  # the path as it came
            headers=headers,
            data=request.content if request.body_exists else None,
            allow_redirects=False,
            # Only what the client sent: no Accept-Encoding it did not ask for.
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        ) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in _NOT_FORWARDED:
                    response.headers.add(key, value)
            if upstream.content_length is not None:
                response.content_length = upstream.content_length
            await response.prepare(request)
            async for chunk in upstream.content.iter_chunked(CHUNK):
                await response.write(chunk)
            await response.write_eof()
            return response
    except (ClientError, TimeoutError) as err:
        if response is not None and response.prepared:
            raise  # the status is sent: the client sees the connection end early
        why = str(err) or type(err).__name__
        return web.Response(status=502, text=f"the daemon did not answer: {why}\n")


async def _serve(fds: Iterable[int], upstream: str, stale_after: float) -> None:
    loop = asyncio.get_running_loop()
    probes = Probes(stale_after)
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    acks = sys.stdout.buffer

    def hear(line: bytes) -> None:
        if number := probes.update(line):
            acks.write(b"%d\n" % number)
            acks.flush()

    app = web.Application()
    app[PROBES_KEY] = probes
    # No total timeout: a large page may take a while to render; the daemon bounds its own work.
    app[SESSION_KEY] = session = ClientSession(
        connector=UnixConnector(path=upstream),
        auto_decompress=False,
        timeout=ClientTimeout(total=None, sock_connect=10),
    )
    for path in PROBES:
        app.router.add_get(path, _probe)
    app.router.add_route("*", "/{tail:.*}", _forward)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    try:
        await runner.setup()
        # The daemon says its answers as it starts us: serve once they are known.
        with contextlib.suppress(TimeoutError):
            first = await asyncio.wait_for(reader.readline(), FIRST_WORD)
            if not first:
                return  # the daemon is gone already
            hear(first)
        for fd in fds:
            await web.SockSite(runner, socket.socket(fileno=fd)).start()
        async for line in reader:  # until the daemon closes the pipe (or dies)
            hear(line)
    finally:
        await session.close()
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """``python -m scanner.daemon.front --fd N [--fd M] --upstream SOCKET``."""
    parser = argparse.ArgumentParser(prog="python -m scanner.daemon.front")
    parser.add_argument("--fd", type=int, action="append", required=True)
    parser.add_argument(
        "--upstream", required=True, help="the daemon's Unix socket (@name: an abstract one)"
    )
    parser.add_argument("--stale-after", type=float, default=STALE_AFTER)
    parser.add_argument("--log-format", default="json")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the daemon's to handle
    from scanner.daemon import logs

    logs.configure(args.log_format, "warning")
    with contextlib.suppress(BrokenPipeError):  # the daemon went away first
        upstream = "\0" + args.upstream[1:] if args.upstream.startswith("@") else args.upstream
        asyncio.run(_serve(args.fd, upstream, args.stale_after))
    return 0


# ----------------------------------------------------------------------------- the daemon's side


def bind(host: str, port: int, backlog: int = 512) -> list[socket.socket]:
    """Listening sockets for ``host:port`` (every address the host has, as asyncio would bind;
    with port 0, the first only, so there is one port to tell); raises OSError."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    seen: set[tuple[int, object]] = set()
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in infos:
            if (family, address) in seen or (port == 0 and sockets):
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def private_socket_path() -> tuple[str, Path | None]:
    """Where the daemon serves the front: an abstract Unix socket on Linux (no file, works on a
    read-only filesystem), else a socket file in a new private directory (returned to remove)."""
    if sys.platform.startswith("linux"):
        return f"\0scanner-{os.getpid()}-{secrets.token_hex(8)}", None
    directory = Path(tempfile.mkdtemp(prefix="scanner-"))
    return str(directory / "http.sock"), directory


def _child_environment() -> dict[str, str]:
    """The daemon's environment, and where this package is when it is not installed (a source
    checkout): an installed package is found anyway, and its site-packages must not be put
    before the standard library, as PYTHONPATH would."""
    root = str(Path(__file__).resolve().parents[2])
    paths = sysconfig.get_paths()
    installed = {str(Path(paths[key]).resolve()) for key in ("purelib", "platlib")}
    env = dict(os.environ)
    if root not in installed:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (root, env.get("PYTHONPATH"))))
    return env


@dataclass
class _Said:
    number: int = 0
    answers: Answers | None = None
    at: float = 0.0


class Front:
    """The front process as the daemon sees it: started, told, watched, stopped."""

    def __init__(
        self,
        sockets: list[socket.socket],
        upstream: str,
        *,
        log_format: str = "json",
        stale_after: float = STALE_AFTER,
    ) -> None:
        self.sockets = sockets
        self.upstream = upstream
        self.log_format = log_format
        self.stale_after = stale_after
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._said = _Said()
        self._acked = 0
        self._ack = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def start(self) -> None:
        """Start the front process; what was last said is said again to it."""
        env = _child_environment()
        fds = [s.fileno() for s in self.sockets]
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scanner.daemon.front",
            *(arg for fd in fds for arg in ("--fd", str(fd))),
            "--upstream",
            self.upstream.replace("\0", "@", 1),  # an abstract socket's name, as ss(8) shows it
            "--stale-after",
            str(self.stale_after),
            "--log-format",
            self.log_format,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            pass_fds=fds,
            env=env,
        )
        self.starts += 1
        self._acked = 0
        self._reader = asyncio.create_task(self._read_acks(self.process))
        if self._said.answers is not None:
            self.say(self._said.answers, force=True)

    async def _read_acks(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            with contextlib.suppress(ValueError):
                self._acked = max(self._acked, int(line))
                self._ack.set()

    def say(self, answers: Answers, *, force: bool = False) -> None:
        """Tell the front what the probes answer now (sent when it changed, or once a second)."""
        said = self._said
        now = time.monotonic()
        if not force and answers == said.answers and now - said.at < HEARTBEAT:
            return
        said.number += 1
        said.answers, said.at = dict(answers), now
        process = self.process
        if process is None or process.stdin is None or process.returncode is not None:
            return
        line = {"n": said.number, **{path: list(answers[path]) for path in PROBES}}
        with contextlib.suppress(ConnectionError, RuntimeError):  # it died: watch() restarts it
            process.stdin.write(json.dumps(line).encode() + b"\n")

    async def sync(self, timeout: float = 10.0) -> bool:
        """Wait until the front answers what was said last; False if it did not in time or
        exited."""
        deadline = time.monotonic() + timeout
        while self._acked < self._said.number:
            process = self.process
            remaining = deadline - time.monotonic()
            if remaining <= 0 or process is None or process.returncode is not None:
                return False
            self._ack.clear()
            acked = asyncio.ensure_future(self._ack.wait())
            exited = asyncio.ensure_future(process.wait())
            try:
                await asyncio.wait(
                    {acked, exited}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                acked.cancel()
                exited.cancel()
        return True

    async def watch(self) -> None:
        """Start the front again whenever it dies (until :meth:`close`): after a second, twice
        as long each time it died within a minute of starting, at most a minute."""
        delay = 0.0
        while not self._closing:
            process = self.process
            if process is None:
                return
            started = time.monotonic()
            code = await process.wait()
            if self._closing:
                return
            lived = time.monotonic() - started
            delay = min(max(RESTART_DELAY, 2 * delay), 60.0) if lived < 60 else RESTART_DELAY
            log.error("front_exited", returncode=code, restarting_in=delay)
            await asyncio.sleep(delay)
            if not self._closing:
                await self.start()

    async def close(self, grace: float = 2.0) -> None:
        """Stop the front (the end of its input), then close the listening sockets."""
        self._closing = True
        process = self.process
        if process is not None and process.returncode is None:
            if process.stdin is not None:
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for sock in self.sockets:
            sock.close()


__all__ = ["Answers", "Front", "Probes", "bind", "main", "private_socket_path"]


if __name__ == "__main__":
    sys.exit(main())
