"""The daemon's HTTP endpoints (aiohttp): metrics, health, readiness and the findings API.

* ``/metrics``: :class:`~scanner.daemon.metrics.Metrics` in the format the scraper's
  ``Accept`` asks for (OpenMetrics or the classic text, prometheus_client's own negotiation),
  gzipped when ``Accept-Encoding`` allows it.
* ``/healthz``: 200 while the state is restored or the scheduler loop runs and no scan is
  stuck past its deadline (a liveness probe: restarting the process is the cure for anything
  else).
* ``/readyz``: 200 once the state is restored with findings or a scan has completed; the port
  opens before the restore, so probes are answered (503) while a large state loads.
* ``/api/v1/findings``: this shard's current findings as JSON, a page at a time (``limit``, and
  the opaque ``cursor`` of the ``next`` link), filtered by ``account``, ``rule``, ``status``,
  ``severity`` and ``ou`` (an OU path and everything below it; each may repeat). ``rule``,
  ``status`` and ``severity`` speak the command line's vocabulary through its own parsers
  (:mod:`scanner.evaluate.vocabulary`): comma-separated lists, ``status=all``, ``severity=high+``
  (high and above; ``high%2B`` too). ``rule`` is a rule id or a control id read in the daemon's
  profile, as ``--rules`` reads it: an unknown or ambiguous one, or a rule the profile does not
  hold, like an unknown status or severity, is a 400 naming the valid ones, not an empty page.
  When a bearer
  token is configured (a file or an environment variable) ``/api/`` requires ``Authorization:
  Bearer <token>``, compared in constant time and read at each request so a rotated secret file
  takes effect at once.
  A page's findings keep their own fields (account, rule, status, suppression) and name their
  verdict by id (what findings of many accounts share: reason, broken link, patterns, missed
  events, notes, control ids, the chain's and the fix's ids); the page lists the ones it names
  once, in ``verdicts``, ``chains`` (id: links) and ``fixes`` (id: the fix in every format);
  ``detail=full`` embeds them in each finding instead (:mod:`scanner.report.compact`; its
  ``expand`` turns a compact page into the full one). The ``next`` link keeps the filters and
  the detail.

Probes must answer within 100 ms whatever the daemon does: ``scanner serve`` puts this
application behind a front process (:mod:`.front`) that answers /healthz and /readyz itself,
from :func:`probe_answers` as the daemon reports them, and forwards the rest here. Nothing
proportional to the organization runs on the event loop either: rendering the metrics,
selecting and serialising a page of findings and compressing happen in a worker thread.

The handlers only read: the service owns the state, and nothing here can start a scan.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import gzip
import hmac
import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp import web
from prometheus_client.exposition import gzip_accepted

from scanner.catalog import load_catalog
from scanner.daemon.metrics import AccountView
from scanner.daemon.scheduler import Service
from scanner.errors import InputError
from scanner.evaluate.vocabulary import parse_severities, parse_statuses, split_names
from scanner.model import Finding
from scanner.report.compact import COMPACT, DETAILS, FULL

T = TypeVar("T")
SERVICE: web.AppKey[Service] = web.AppKey("service", Service)
RENDERER: web.AppKey[ThreadPoolExecutor] = web.AppKey("renderer", ThreadPoolExecutor)
TOKEN: web.AppKey[Callable[[], str | None]] = web.AppKey("token")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_FILTERS = ("account", "rule", "status", "severity", "ou")
_PAGING = ("limit", "cursor", "detail")


@dataclass(frozen=True)
class Query:
    """A validated findings request: the filters (empty: any), the page size, where to start."""

    filters: Mapping[str, frozenset[str]]
    limit: int = DEFAULT_LIMIT
    after: tuple[str, str] | None = None  # the (account_id, rule) the previous page ended at
    detail: str = COMPACT  # full: each finding with its verdict, chain and fix inline

    def matches(self, finding: Finding, accounts: Mapping[str, AccountView]) -> bool:
        f = self.filters
        if "ou" in f:
            view = accounts.get(finding.account_id)
            path = view.organizational_unit if view else ""
            if not any(path == ou or path.startswith(ou + "/") for ou in f["ou"]):
                return False
        return (
            ("account" not in f or finding.account_id in f["account"])
            and ("rule" not in f or finding.rule in f["rule"])
            and ("status" not in f or finding.status.value in f["status"])
            and ("severity" not in f or finding.severity in f["severity"])
        )


def _bad(text: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=text + "\n")


def encode_cursor(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _decode_cursor(text: str) -> tuple[str, str]:
    try:
        key = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise _bad("cursor: not one this server gave; start again without it") from None
    if not (isinstance(key, list) and len(key) == 2 and all(isinstance(k, str) for k in key)):
        raise _bad("cursor: not one this server gave; start again without it")
    return key[0], key[1]


def parse_query(
    params: Mapping[str, str], getall: Callable[[str], list[str]], profile: str | None = None
) -> Query:
    """The request's query string checked: one line naming the first problem, as a 400.

    ``rule`` values become rule ids, read in ``profile`` (the daemon's) as the CLI reads them.
    """
    unknown = sorted(set(params) - {*_FILTERS, *_PAGING})
    if unknown:
        known = ", ".join((*_FILTERS, *_PAGING))
        raise _bad(f"unknown parameter {unknown[0]!r}; known: {known}")
    given = {key: getall(key) for key in _FILTERS if key in params}
    filters = {key: frozenset(values) for key, values in given.items()}
    try:  # the command line's vocabulary (--rules, --status, --severity), read by its code
        if "rule" in given:
            rules = load_catalog().find_rules(split_names(given["rule"]), profile)
            filters["rule"] = frozenset(rule.id for rule in rules)
        if "status" in given:
            filters["status"] = frozenset(s.value for s in parse_statuses(given["status"]))
        if "severity" in given:
            # An unencoded '+' in a query string arrives as a space (form encoding), and no
            # severity holds a space: ``?severity=high+`` means what ``--severity high+`` does.
            plus = [value.replace(" ", "+") for value in given["severity"]]
            filters["severity"] = parse_severities(plus)
    except InputError as err:
        raise _bad(str(err)) from None
    if "ou" in filters:
        filters["ou"] = frozenset(ou.strip("/") for ou in filters["ou"])
    limit = DEFAULT_LIMIT
    if "limit" in params:
        text = params["limit"]
        if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
            raise _bad(f"limit: a whole number from 1 to {MAX_LIMIT}, not {text!r}")
        limit = int(text)
    after = _decode_cursor(params["cursor"]) if "cursor" in params else None
    detail = params.get("detail", COMPACT)
    if detail not in DETAILS:
        raise _bad(f"detail: {' or '.join(DETAILS)}, not {detail!r}")
    return Query(filters, limit, after, detail)


def findings_page(service: Service, query: Query, path: str) -> bytes:
    """One page of the findings API as JSON bytes (worker-thread work: the first page of a
    filter tests every finding, the next ones bisect what it selected).

    Compact (the default): the findings name their verdict by id, and the page's ``verdicts``,
    ``chains`` and ``fixes`` hold the ones its findings name, each once; ``detail=full``: each
    finding carries everything (see :mod:`scanner.report.compact`)."""
    picture = service.metrics.state.picture  # one consistent scan, whatever happens meanwhile
    findings, accounts = picture.findings, picture.accounts
    selected = picture.encoded.selection(
        frozenset(query.filters.items()),
        lambda: [f for f in findings.values() if query.matches(f, accounts)],
    )
    first = 0 if query.after is None else bisect.bisect_right(selected, query.after, key=_pair)
    page = selected[first : first + query.limit]
    remaining = len(selected) - first - len(page)
    following = None
    if remaining > 0:
        params: list[tuple[str, str]] = [
            (k, v) for k in _FILTERS for v in sorted(query.filters.get(k, ()))
        ]
        params += [("limit", str(query.limit)), ("cursor", encode_cursor(_pair(page[-1])))]
        if query.detail != COMPACT:
            params.append(("detail", query.detail))
        following = f"{path}?{urlencode(params)}"
    head = {
        "shard": {"ordinal": service.shard.ordinal, "total": service.shard.total},
        "last_successful_scan": service.metrics.state.last_success,
        "count": len(page),
        "remaining": remaining,
        "next": following,
    }
    # The verdicts, chains and fixes this page names, each encoded once for it (the picture
    # keeps their ids), and each finding's own few fields.
    encoded = picture.encoded.page()
    start = json.dumps(head, separators=(",", ":"))[:-1]
    if query.detail == FULL:
        items = ",".join(encoded.full_text(finding) for finding in page)
        return (start + f',"findings":[{items}]}}').encode()
    texts = [encoded.compact_text(finding) for finding in page]
    items = ",".join(t.text for t in texts)
    tables = encoded.tables_text(t.verdict for t in texts)
    return (start + f',"findings":[{items}],{tables}}}').encode()


def _pair(finding: Finding) -> tuple[str, str]:
    """A finding's place in the API's order, and its cursor."""
    return finding.account_id, finding.rule


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


def _off_loop(request: web.Request, work: Callable[[], T]) -> asyncio.Future[T]:
    """Run a render in the application's one render thread.

    One thread, not the default pool: every thread running Python competes with the event
    loop's for the GIL, and each extra contender can cost the loop a switch interval per
    handover; big responses queue behind each other instead, probes do not.
    """
    return asyncio.get_running_loop().run_in_executor(request.app[RENDERER], work)


def _maybe_gzip(request: web.Request, body: bytes) -> tuple[bytes, bool]:
    """Compress (in the calling worker thread) when the client accepts gzip."""
    if gzip_accepted(request.headers.get("Accept-Encoding", "")):
        return gzip.compress(body, compresslevel=5), True
    return body, False


async def _metrics(request: web.Request) -> web.Response:
    metrics = request.app[SERVICE].metrics
    accept = request.headers.get("Accept", "")

    def render() -> tuple[bytes, bool, str]:
        body, content_type = metrics.negotiate(accept)
        return (*_maybe_gzip(request, body), content_type)

    body, zipped, content_type = await _off_loop(request, render)
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    response.headers["Vary"] = "Accept, Accept-Encoding"
    if zipped:
        response.headers["Content-Encoding"] = "gzip"
    return response


def probe_answers(service: Service) -> dict[str, tuple[int, str]]:
    """What /healthz and /readyz answer now: (status, text) by path; the daemon's own server
    and its front process (:mod:`.front`) give the same."""
    health = service.health
    if service.alive():
        healthz = (200, "ok\n")
    elif health.loop_running:
        healthz = (503, "a scan is stuck past schedule.deadline\n")
    else:
        healthz = (503, "the scheduler loop is not running\n")
    if health.ready:
        readyz = (200, "ready\n")
    elif health.restoring:
        readyz = (503, "restoring the state\n")
    else:
        readyz = (503, "no state loaded and no scan completed yet\n")
    return {"/healthz": healthz, "/readyz": readyz}


async def _probe(request: web.Request) -> web.Response:
    status, text = probe_answers(request.app[SERVICE])[request.path]
    return web.Response(status=status, text=text)


async def _findings(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    query = parse_query(request.query, request.query.getall, service.config.rules.profile)

    def render() -> tuple[bytes, bool]:
        return _maybe_gzip(request, findings_page(service, query, request.path))

    body, zipped = await _off_loop(request, render)
    response = web.Response(body=body, content_type="application/json")
    response.headers["Vary"] = "Accept-Encoding"
    if zipped:
        response.headers["Content-Encoding"] = "gzip"
    return response


def make_app(service: Service, token: Callable[[], str | None] = lambda: None) -> web.Application:
    """The application; ``token()`` gives the bearer token /api/ requires (None: none)."""
    app = web.Application(middlewares=[_bearer])
    app[SERVICE] = service
    app[TOKEN] = token
    app[RENDERER] = renderer = ThreadPoolExecutor(1, thread_name_prefix="scanner-http")

    async def close_renderer(app: web.Application) -> None:
        renderer.shutdown(wait=False, cancel_futures=True)

    app.on_cleanup.append(close_renderer)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _probe)
    app.router.add_get("/readyz", _probe)
    app.router.add_get("/api/v1/findings", _findings)
    return app


def url_of(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 address in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@dataclass
class Server:
    """A started server; ``port`` is the bound one (useful with port 0)."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        return url_of(self.host, self.port)

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_unix(app: web.Application, path: str) -> web.AppRunner:
    """Serve ``app`` on the Unix socket ``path`` (the daemon's, behind its front process)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    try:
        await web.UnixSite(runner, path).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner


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


__all__ = [
    "Query",
    "Server",
    "encode_cursor",
    "findings_page",
    "make_app",
    "parse_query",
    "probe_answers",
    "start",
    "start_unix",
    "url_of",
]
