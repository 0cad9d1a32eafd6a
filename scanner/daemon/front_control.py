"""The daemon's side of its front process (:mod:`.front`): bind the port, start the front
with the listening sockets, tell it the probes' answers, restart it if it dies, stop it.

Why apart from :mod:`.front`: that module is what runs in the front process, and must stay
small; this one is the daemon's handle on it, used by :mod:`.lifecycle`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from scanner.daemon.front import PROBES, STALE_AFTER, Answers

log = structlog.get_logger("scanner.daemon")

HEARTBEAT = 1.0  # the daemon repeats its answers at least this often
RESTART_DELAY = 1.0  # before a front that died is started again


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
        if process.stdin.is_closing():  # it died, not yet reaped: watch() restarts it
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
        if process is not None and process.stdin is not None:
            process.stdin.close()
        if process is not None and process.returncode is None:
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


__all__ = ["Front", "bind", "private_socket_path"]
