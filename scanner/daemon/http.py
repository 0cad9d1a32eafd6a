"""The daemon's HTTP endpoints (aiohttp): metrics, health, readiness and the findings API.

* ``/metrics``: the Prometheus text format of :class:`~scanner.daemon.metrics.Metrics`.
* ``/healthz``: 200 while the scheduler loop runs and no scan is stuck past its deadline
  (a liveness probe: restarting the process is the cure for anything else).
* ``/readyz``: 200 once the state is loaded with findings or a scan has completed, so a
  restarted daemon is ready at once with what it knew, a new one after its first scan.
* ``/api/v1/findings``: this shard's current findings as JSON, filtered by ``account``,
  ``rule`` and ``status`` (each may repeat). When a bearer token is configured (a file or an
  environment variable) ``/api/`` requires ``Authorization: Bearer <token>``, compared in
  constant time and read at each request so a rotated secret file takes effect at once.

The handlers only read: the service owns the state, and nothing here can start a scan.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from scanner.daemon.metrics import CONTENT_TYPE
from scanner.daemon.scheduler import Service
from scanner.model import Finding, Status

SERVICE: web.AppKey[Service] = web.AppKey("service", Service)
TOKEN: web.AppKey[Callable[[], str | None]] = web.AppKey("token")

_FILTERS = {"account": "account_id", "rule": "rule", "status": "status"}


def _selected(findings: Iterable[Finding], query: dict[str, list[str]]) -> list[Finding]:
    out = []
    for finding in findings:
        if all(
            not wanted or str(getattr(finding, attribute)) in wanted
            for attribute, wanted in ((_FILTERS[k], v) for k, v in query.items())
        ):
            out.append(finding)
    return out


def _query(request: web.Request) -> dict[str, list[str]]:
    unknown = sorted(set(request.query) - set(_FILTERS))
    if unknown:
        raise web.HTTPBadRequest(
            text=f"unknown parameter {unknown[0]!r}; known: {', '.join(_FILTERS)}\n"
        )
    query = {key: request.query.getall(key) for key in _FILTERS if key in request.query}
    statuses = {s.upper() for s in query.get("status", [])}
    bad = sorted(statuses - {s.value for s in Status})
    if bad:
        raise web.HTTPBadRequest(text=f"unknown status {bad[0]!r}; known: PASS, FAIL, ERROR\n")
    if statuses:
        query["status"] = sorted(statuses)
    return query


@web.middleware
async def _bearer(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        token = request.app[TOKEN]()
        if token is not None:
            given = request.headers.get("Authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                value.strip().encode(), token.encode()
            ):
                raise web.HTTPUnauthorized(
                    text="a bearer token is required\n",
                    headers={"WWW-Authenticate": 'Bearer realm="scanner"'},
                )
    response: web.StreamResponse = await handler(request)
    return response


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[SERVICE].metrics.exposition()
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


async def _healthz(request: web.Request) -> web.Response:
    if request.app[SERVICE].alive():
        return web.Response(text="ok\n")
    return web.Response(status=503, text="the scheduler loop is not running\n")


async def _readyz(request: web.Request) -> web.Response:
    if request.app[SERVICE].health.ready:
        return web.Response(text="ready\n")
    return web.Response(status=503, text="no state loaded and no scan completed yet\n")


async def _findings(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    selected = _selected(service.findings(), _query(request))
    last = service.metrics.state.last_success
    return web.json_response(
        {
            "shard": {"ordinal": service.shard.ordinal, "total": service.shard.total},
            "last_successful_scan": last,
            "count": len(selected),
            "findings": [f.to_json() for f in selected],
        }
    )


def make_app(service: Service, token: Callable[[], str | None] = lambda: None) -> web.Application:
    """The application; ``token()`` gives the bearer token /api/ requires (None: none)."""
    app = web.Application(middlewares=[_bearer])
    app[SERVICE] = service
    app[TOKEN] = token
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/api/v1/findings", _findings)
    return app


@dataclass
class Server:
    """A started server; ``port`` is the bound one (useful with port 0)."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def close(self) -> None:
        await self.runner.cleanup()


async def start(app: web.Application, host: str, port: int) -> Server:
    """Serve ``app`` on ``host:port`` (port 0: a free one); raises OSError if it cannot bind."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    bound = runner.addresses[0]
    return Server(runner, host, int(bound[1]))


__all__ = ["Server", "make_app", "start"]
