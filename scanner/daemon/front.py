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
  :meth:`.front_control.Front.sync` can wait until the front answers what the daemon last said.
* A daemon that has said nothing for ``stale_after`` seconds is hung (its event loop has not run
  a one-second timer for that long): both probes then say 503 and why, so liveness still
  catches a daemon that stopped working.
* Every other request (``/metrics``, ``/api/...``) is forwarded to the Unix socket as it came
  (method, path, query, headers, body) and the response streamed back as it was sent: a
  compressed body stays compressed, ``Accept`` negotiation and the bearer token are the
  daemon's. A daemon that does not answer gives 502.
* The end of standard input (the daemon exited, even killed with -9) ends the front. SIGINT
  from a terminal is the daemon's to handle. A front that dies is started again on the same
  sockets (:meth:`.front_control.Front.watch`); connections wait in the kernel's queue meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import sys
import time
from collections.abc import Iterable, Mapping

from aiohttp import ClientError, ClientSession, ClientTimeout, UnixConnector, web
from yarl import URL

PROBES = ("/healthz", "/readyz")
STALE_AFTER = 30.0  # seconds without a word from the daemon before the probes say it is hung
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


__all__ = ["PROBES", "STALE_AFTER", "Answers", "Probes", "main"]


if __name__ == "__main__":
    sys.exit(main())
