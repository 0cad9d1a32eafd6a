"""Botocore clients, created once per ``(region, service)`` and shared by every identity.

Why this module exists: creating a client is the expensive part of talking to AWS (10-25 ms of
CPU: the service model, the endpoint rules, ~100-700 API methods, a copy of the event emitter,
an HTTP connection pool), a call on a live client is cheap (1-3 ms). A scan of 1,000 accounts
in 17 regions made ~20 clients per account, 20,000 in all: most of its CPU and memory. So:

* There is one base :class:`~aiobotocore.session.AioSession` per :class:`ClientPool` (one per
  scan). It resolves the base credentials through the default chain (environment, profile, web
  identity / IRSA, EKS Pod Identity, instance role).
* A client is built once per ``(region, service)`` for the whole scan and signs every request
  with the credentials of *whoever calls*: its credentials object is a proxy reading the
  identity that :func:`acting` set in the calling task's context (a :class:`~contextvars.
  ContextVar`; every request, and every retry, is signed in the task that made the call). The
  gateway sets it around each call, so an identity is never a property of a client, only of a
  call. A request made with no identity set fails (``NoCredentialsError``); it never falls
  back to another identity's keys.
* Nothing else in a client depends on the identity for the services we call: endpoints are per
  region (no account-based endpoints: those exist for DynamoDB only), and the HTTP connection
  pool is per endpoint. Connections are therefore kept alive across accounts.
* Every client uses :class:`_SharedSSLSession`, which builds the SSL context once per process.
* botocore makes one attempt per call: retries are the gateway's (:mod:`.gateway`), which
  sees, counts and paces every attempt, and whose budget is per call, not per client.
* A call on a live client was itself ~1 ms of CPU in isolation (more in a scan), all in
  botocore and aiohttp, paid 2.75 times per account. The clients drop a quarter of it: work
  done per request whose answer never changes, keeping every request byte for byte
  (bench/README.md, "The request pipeline"). The User-Agent header is built once per client
  and set of features (:class:`_RememberedUserAgent`), AWS's ISO 8601 timestamps are parsed
  without dateutil (:func:`_parse_timestamp`), both through the session's components
  (``user_agent_creator``, ``response_parser_factory``). SigV4 signs without preparing the
  request twice over (:class:`_SigV4Auth`), the one place that reaches into botocore: each
  client's request signer is made a :class:`_RequestSigner`. tests/e2e/test_request_pipeline.py
  fails if botocore stops using any of them or if a signature differs from botocore's own.

aiobotocore has no type information: ``Any`` stays inside this module and :mod:`.gateway`;
the rest of the package sees :class:`Client` and :class:`Identity`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import re
import ssl
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any, Protocol, runtime_checkable

import aiohttp
from aiobotocore.config import AioConfig  # type: ignore[import-untyped, unused-ignore]
from aiobotocore.httpsession import AIOHTTPSession  # type: ignore[import-untyped, unused-ignore]
from aiobotocore.session import AioSession  # type: ignore[import-untyped, unused-ignore]
from aiobotocore.signers import AioRequestSigner  # type: ignore[import-untyped, unused-ignore]
from botocore.auth import (  # type: ignore[import-untyped, unused-ignore]
    SIGNED_HEADERS_BLACKLIST,
    SigV4Auth,
    _host_from_url,
)
from botocore.compat import HTTPHeaders  # type: ignore[import-untyped, unused-ignore]
from botocore.context import get_context  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import NoCredentialsError  # type: ignore[import-untyped, unused-ignore]
from botocore.httpsession import create_urllib3_context, get_cert_path  # type: ignore[import-untyped, unused-ignore]
from botocore.parsers import DEFAULT_TIMESTAMP_PARSER  # type: ignore[import-untyped, unused-ignore]
from botocore.useragent import UserAgentString  # type: ignore[import-untyped, unused-ignore]

from scanner.aws.answers import check_answer
from scanner.model.arns import arn_partition

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_POOL_CONNECTIONS = 64  # per (region, service) client, shared by every account


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """How every client is built. Retries are the gateway's: botocore makes one attempt."""

    profile: str | None = None
    endpoint_url: str | None = None  # None: botocore's own resolution (AWS_ENDPOINT_URL, ...)
    # botocore's mode with one attempt: "adaptive" keeps its client-side rate limiter, which
    # slows a (region, service) client for every account once any of them is throttled.
    retry_mode: str = "standard"
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_pool_connections: int = DEFAULT_POOL_CONNECTIONS


@runtime_checkable
class Renewable(Protocol):
    """Credentials that can be replaced on demand (an assumed role: assume it again).

    ``generation`` changes at every renewal; :meth:`renew` renews only if it is still the one
    given, so that many calls failing with the same expired keys re-assume the role once.
    """

    @property
    def generation(self) -> int: ...

    async def renew(self, generation: int) -> None: ...


@dataclass(eq=False, slots=True)
class Identity:
    """Who calls: an account and the credentials acting in it.

    ``credentials`` is a botocore credentials object (anything with an async
    ``get_frozen_credentials``; :class:`Renewable` for assumed roles); ``None`` until the base
    identity is resolved. ``key`` names the identity (``base``, ``role:<account>``).
    """

    key: str
    account_id: str
    arn: str
    credentials: Any = None

    @property
    def partition(self) -> str:
        return arn_partition(self.arn) or "aws"


@dataclass(eq=False, slots=True)
class Client:
    """A live botocore client and where it acts; ``raw`` is the untyped aiobotocore client."""

    raw: Any
    identity: Identity
    region: str
    service: str

    @property
    def account_id(self) -> str:
        return self.identity.account_id


_SSL_CONTEXTS: dict[object, ssl.SSLContext] = {}


class _SharedSSLSession(AIOHTTPSession):  # type: ignore[misc]
    """aiobotocore's HTTP session, with the SSL context built once per CA bundle, not per client.

    Falls back to the original behaviour for proxies and client certificates.
    """

    def _create_connector(self, proxy_url: str | None) -> aiohttp.TCPConnector:
        if proxy_url or self._cert_file or not self._verify:
            return super()._create_connector(proxy_url)  # type: ignore[no-any-return]
        ca_certs = get_cert_path(self._verify)
        context = _SSL_CONTEXTS.get(ca_certs)
        if context is None:
            context = create_urllib3_context()
            if ca_certs:
                context.load_verify_locations(ca_certs, None, None)
            _SSL_CONTEXTS[ca_certs] = context
        return aiohttp.TCPConnector(
            limit=self._max_pool_connections, ssl=context, **self._connector_args
        )


class _RememberedUserAgent(UserAgentString):  # type: ignore[misc]
    """botocore's User-Agent header, built once per client and set of features.

    botocore rebuilds the header twice for every request (when it serialises the request, and
    again once it is created, to include the features the call registered): ~15 string
    components sanitised character by character, 10% of a call's CPU. The text depends only on
    the session, the client's config and those features, so it is remembered per client (each
    client gets its own copy through :meth:`with_client_config`) and per set of features: the
    very string botocore would build, built once.
    """

    _MAX_REMEMBERED = 64  # sets of features per client; a handful occur

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._forget()

    def _forget(self) -> None:
        self._remembered: dict[tuple[frozenset[str], frozenset[str]], str] = {}

    def set_session_config(self, *args: Any, **kwargs: Any) -> Any:
        self._forget()
        return super().set_session_config(*args, **kwargs)

    def set_client_features(self, features: Any) -> None:
        self._forget()
        super().set_client_features(features)

    def with_client_config(self, client_config: Any) -> Any:
        copied = super().with_client_config(client_config)  # a shallow copy: a memory of its own
        copied._forget()
        return copied

    def to_string(self) -> str:
        context = get_context()
        key = (
            frozenset(self._client_features or ()),
            frozenset(context.features) if context is not None else frozenset(),
        )
        remembered = self._remembered
        text = remembered.get(key)
        if text is None:
            text = str(super().to_string())
            if len(remembered) < self._MAX_REMEMBERED:
                remembered[key] = text
        return text


# What AWS's XML and query protocols send: UTC, seconds, at most microseconds.
_ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z\Z")


def _parse_timestamp(value: Any) -> Any:
    """botocore's timestamp parser, without dateutil's general parser for AWS's usual form.

    ``2026-12-07T17:21:41Z`` costs 30-130 us through dateutil (AssumeRole's Expiration: 4% of a
    member's calls' CPU), 2 us here. Same instant, same ``isoformat()``; anything else (epoch
    numbers, offsets, RFC 822) is botocore's own parser's.
    """
    if isinstance(value, str) and _ISO_UTC.match(value):
        return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)
    return DEFAULT_TIMESTAMP_PARSER(value)


@functools.lru_cache(maxsize=256)
def _host(url: str) -> str:
    """The Host a request to ``url`` is signed for (a URL parse and an IPv6 test, per URL)."""
    return str(_host_from_url(url))


class _SigV4Auth(SigV4Auth):  # type: ignore[misc]
    """botocore's SigV4, without preparing the request three times to sign it.

    botocore's :class:`~botocore.auth.SigV4Auth` selects the signed headers twice per request
    (for the canonical request, then for the Authorization header), parsing the URL for the
    Host each time, and hashes the payload through ``request.body``, which prepares the whole
    request (URL, headers, body) only to read the body: together ~8% of a call's CPU. Here the
    headers are selected once per signing, the Host is remembered per URL and the body is
    prepared alone, by the request's own preparer. The bytes signed are the same:
    tests/e2e/test_request_pipeline.py compares every signature with botocore's.
    """

    _selected: tuple[object, Any] | None = None  # (request, its headers to sign)

    def add_auth(self, request: Any) -> None:
        self._selected = None
        super().add_auth(request)

    def headers_to_sign(self, request: Any) -> Any:
        selected = self._selected
        if selected is not None and selected[0] is request:
            return selected[1]
        header_map = HTTPHeaders()
        for name, value in request.headers.items():
            lname = name.lower()
            if lname not in SIGNED_HEADERS_BLACKLIST:
                header_map[lname] = value
        if "host" not in header_map:
            header_map["host"] = _host(request.url)
        self._selected = (request, header_map)
        return header_map

    def payload(self, request: Any) -> str:
        if self._is_streaming_checksum_payload(request) or not self._should_sha256_sign_payload(
            request
        ):
            return str(super().payload(request))
        body = request._request_preparer._prepare_body(request)  # what request.body prepares
        if isinstance(body, str):
            body = body.encode("utf-8")
        if body and hasattr(body, "seek"):  # a stream: botocore reads it in chunks
            return str(super().payload(request))
        return sha256(body or b"").hexdigest()


class _RequestSigner(AioRequestSigner):  # type: ignore[misc]
    """aiobotocore's request signer, signing SigV4 requests with :class:`_SigV4Auth`."""

    async def get_auth_instance(self, *args: Any, **kwargs: Any) -> Any:
        auth = await super().get_auth_instance(*args, **kwargs)
        if type(auth) is SigV4Auth:
            auth.__class__ = _SigV4Auth
        return auth


def _sign_faster(client: Any) -> None:
    """Make the client's request signer a :class:`_RequestSigner`: the instance botocore
    registered for its ``request-created`` event keeps its state, only its class changes.
    Another signer (a future aiobotocore's) is left as it is: slower, never wrong."""
    signer = getattr(client, "_request_signer", None)
    if type(signer) is AioRequestSigner:
        signer.__class__ = _RequestSigner


_ACTING: contextvars.ContextVar[Identity] = contextvars.ContextVar("scanner_aws_identity")


@contextlib.contextmanager
def acting(identity: Identity) -> Iterator[None]:
    """Requests made in this block (in this task) are signed as ``identity``."""
    token = _ACTING.set(identity)
    try:
        yield
    finally:
        _ACTING.reset(token)


class _CallerCredentials:
    """The credentials of every shared client: those of the identity acting in this task."""

    method = "scanner-identity"

    def _current(self) -> Any:
        identity = _ACTING.get(None)
        if identity is None or identity.credentials is None:
            raise NoCredentialsError()
        return identity.credentials

    async def get_frozen_credentials(self) -> Any:
        return await self._current().get_frozen_credentials()

    async def get_account_id(self) -> str | None:
        identity = _ACTING.get(None)
        return (identity.account_id or None) if identity is not None else None

    def get_deferred_property(self, name: str) -> Callable[[], Awaitable[Any]]:
        return getattr(self, f"get_{name}")  # type: ignore[no-any-return]


class _CallerCredentialProvider:
    """The shared session's credential provider: always :class:`_CallerCredentials`."""

    def __init__(self) -> None:
        self._credentials = _CallerCredentials()

    async def load_credentials(self) -> _CallerCredentials:
        return self._credentials


class ClientPool:
    """Clients per ``(region, service)``, created on first use, closed with the pool."""

    def __init__(self, options: ClientOptions | None = None) -> None:
        self.options = options or ClientOptions()
        self.base_session = AioSession(profile=self.options.profile)
        self.created = 0  # clients created so far (a figure for tests and benchmarks)
        self._session: AioSession | None = None  # built with the first client
        self._stack = contextlib.AsyncExitStack()
        self._clients: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self._loaded: dict[str, asyncio.Future[None]] = {}
        self._config = AioConfig(
            http_session_cls=_SharedSSLSession,
            retries={"mode": self.options.retry_mode, "total_max_attempts": 1},
            connect_timeout=self.options.connect_timeout,
            read_timeout=self.options.read_timeout,
            max_pool_connections=self.options.max_pool_connections,
        )

    async def base_credentials(self) -> Any:
        """The default chain's credentials, or ``None`` when it finds none."""
        return await self.base_session.get_credentials()

    def _clients_session(self) -> AioSession:
        """The clients' session: the base session's data loader (no model is loaded twice),
        the calling identity's credentials."""
        if self._session is None:
            session = AioSession(profile=self.options.profile)
            session.register_component(
                "data_loader", self.base_session.get_component("data_loader")
            )
            session.register_component("credential_provider", _CallerCredentialProvider())
            session.register_component(
                "user_agent_creator", _RememberedUserAgent.from_environment()
            )
            session.get_component("response_parser_factory").set_parser_defaults(
                timestamp_parser=_parse_timestamp
            )
            session.register("before-parse", check_answer)  # see scanner.aws.answers
            self._session = session
        return self._session

    async def _models(self, service: str) -> None:
        """Load the service's model files in a worker thread, once (the loader caches them).

        Parsing them is most of a first client's cost (~250 ms for the first service of a
        process, with the partitions); on the event loop it would stall whatever else the
        process serves (the daemon's probes), so the first client of each service waits here.
        """
        loading = self._loaded.get(service)
        if loading is None:
            loader = self.base_session.get_component("data_loader")

            def load() -> None:
                for name in ("partitions", "sdk-default-configuration", "endpoints"):
                    loader.load_data(name)
                for kind in ("service-2", "endpoint-rule-set-1"):
                    loader.load_service_model(service, kind)

            loading = self._loaded[service] = asyncio.ensure_future(asyncio.to_thread(load))
        await asyncio.shield(loading)

    async def _raw(self, region: str, service: str) -> Any:
        key = (region, service)
        future = self._clients.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._clients[key] = future
            try:
                await self._models(service)
                context = self._clients_session().create_client(
                    service,
                    region_name=region,
                    endpoint_url=self.options.endpoint_url,
                    config=self._config,
                )
                raw = await self._stack.enter_async_context(context)
                _sign_faster(raw)
            except BaseException as error:
                del self._clients[key]
                future.set_exception(error)
                future.exception()  # retrieved: later waiters re-raise it themselves
                raise
            self.created += 1
            future.set_result(raw)
        return await asyncio.shield(future)

    async def client(self, identity: Identity, region: str, service: str) -> Client:
        """A client of ``service`` in ``region`` acting as ``identity`` (through the gateway)."""
        return Client(await self._raw(region, service), identity, region, service)

    async def close(self) -> None:
        self._clients.clear()
        await self._stack.aclose()
