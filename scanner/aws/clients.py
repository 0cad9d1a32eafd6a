"""Botocore clients, created once and reused: the one place that builds them.

Why this module exists: creating a client is the expensive part of talking to AWS, a call on a
live client is cheap (1-3 ms). A new botocore session reloads every service model (~80 ms); a
new client builds an SSL context and loads the CA bundle on its first request (~60 ms CPU,
~1 MB). So:

* There is one base :class:`~aiobotocore.session.AioSession` per :class:`ClientPool` (one per
  scan, normally one per process). It resolves the base credentials through the default chain
  (environment, profile, web identity / IRSA, EKS Pod Identity, instance role).
* Every other identity (a hub or member role) gets a light session that *shares the base
  session's data loader* (so no model is loaded twice) and whose credential provider returns
  that identity's refreshable credentials (so botocore re-signs with fresh keys mid-scan).
  aioboto3 wraps exactly these sessions and adds resources, which we do not use: we talk to
  aiobotocore directly and keep one dependency fewer in the typed boundary.
* Clients are keyed by ``(identity, region, service)`` and live until the identity is released
  (the end of that account's scan) or the pool closes.
* Every client uses :class:`_SharedSSLSession`, which builds the SSL context once per process
  instead of once per client.

aiobotocore has no type information: ``Any`` stays inside this module and :mod:`.gateway`;
the rest of the package sees :class:`Client` and :class:`Identity`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiobotocore.config import AioConfig  # type: ignore[import-untyped, unused-ignore]
from aiobotocore.httpsession import AIOHTTPSession  # type: ignore[import-untyped, unused-ignore]
from aiobotocore.session import AioSession  # type: ignore[import-untyped, unused-ignore]
from botocore.httpsession import create_urllib3_context, get_cert_path  # type: ignore[import-untyped, unused-ignore]

from scanner.model.arns import arn_partition

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """How every client is built; the retry settings are botocore's own."""

    profile: str | None = None
    endpoint_url: str | None = None  # None: botocore's own resolution (AWS_ENDPOINT_URL, ...)
    retry_mode: str = "standard"  # standard | adaptive
    max_attempts: int = 5  # total attempts, the first one included
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_pool_connections: int = 10


@dataclass(eq=False, slots=True)
class Identity:
    """Who calls: an account and the credentials acting in it.

    ``credentials`` is ``None`` for the base identity (the session's default chain), else an
    aiobotocore credentials object (refreshable for assumed roles). ``key`` names the identity in
    the client pool: two identities with the same key share clients.
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


class _FixedCredentials:
    """A credential provider for a session: always the identity's (refreshable) credentials."""

    def __init__(self, credentials: Any) -> None:
        self._credentials = credentials

    async def load_credentials(self) -> Any:
        return self._credentials


@dataclass(eq=False)
class _IdentityClients:
    session: AioSession
    stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    clients: dict[tuple[str, str], asyncio.Future[Client]] = field(default_factory=dict)


class ClientPool:
    """Clients per ``(identity, region, service)``, created on first use, closed on release."""

    def __init__(self, options: ClientOptions | None = None) -> None:
        self.options = options or ClientOptions()
        self.base_session = AioSession(profile=self.options.profile)
        self.created = 0  # clients created so far (a figure for tests and benchmarks)
        self._identities: dict[str, _IdentityClients] = {}
        self._config = AioConfig(
            http_session_cls=_SharedSSLSession,
            retries={
                "mode": self.options.retry_mode,
                "total_max_attempts": self.options.max_attempts,
            },
            connect_timeout=self.options.connect_timeout,
            read_timeout=self.options.read_timeout,
            max_pool_connections=self.options.max_pool_connections,
        )

    async def base_credentials(self) -> Any:
        """The default chain's credentials, or ``None`` when it finds none."""
        return await self.base_session.get_credentials()

    def _session_for(self, identity: Identity) -> _IdentityClients:
        found = self._identities.get(identity.key)
        if found is None:
            if identity.credentials is None:
                session = self.base_session
            else:
                session = AioSession(profile=self.options.profile)
                loader = self.base_session.get_component("data_loader")
                session.register_component("data_loader", loader)
                session.register_component(
                    "credential_provider", _FixedCredentials(identity.credentials)
                )
            found = self._identities[identity.key] = _IdentityClients(session)
        return found

    async def client(self, identity: Identity, region: str, service: str) -> Client:
        entry = self._session_for(identity)
        key = (region, service)
        future = entry.clients.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            entry.clients[key] = future
            try:
                context = entry.session.create_client(
                    service,
                    region_name=region,
                    endpoint_url=self.options.endpoint_url,
                    config=self._config,
                )
                raw = await entry.stack.enter_async_context(context)
            except BaseException as error:
                del entry.clients[key]
                future.set_exception(error)
                future.exception()  # retrieved: later waiters re-raise it themselves
                raise
            self.created += 1
            future.set_result(Client(raw, identity, region, service))
        return await asyncio.shield(future)

    async def release(self, identity: Identity) -> None:
        """Close every client of the identity (the account's scan is over)."""
        entry = self._identities.pop(identity.key, None)
        if entry is not None:
            await entry.stack.aclose()

    async def close(self) -> None:
        while self._identities:
            _, entry = self._identities.popitem()
            await entry.stack.aclose()
