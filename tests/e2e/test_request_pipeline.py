"""The requests the shared clients send are botocore's own, with less work per request.

:mod:`scanner.aws.clients` remembers the User-Agent header per client and parses AWS's ISO
timestamps itself (bench/README.md, "The request pipeline"). These tests hold what a user (and
AWS) sees: each request's header is the one botocore would build for it, each request is signed
as its caller, timestamps mean the same instant. They also fail loudly if botocore stops
honouring the hooks the clients use (its session components), rather than letting a scan
silently pay the old cost. Through moto's server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.useragent import UserAgentString
from botocore.utils import parse_timestamp
from e2e import emulated_org as org

from scanner.aws.clients import ClientPool, _parse_timestamp, _RequestSigner, _SigV4Auth
from scanner.aws.credentials import Credentials
from scanner.aws.gateway import Caller

ROLE_SESSION = "pipeline-test"


def _parts(header: str) -> list[object]:
    """The header's components; the features (``m/``) as a set, since botocore joins a set."""
    return [
        frozenset(part[2:].split(",")) if part.startswith("m/") else part
        for part in header.split(" ")
    ]


@dataclass
class Callers:
    """The management account's own identity and the roles of members alpha and beta, the
    caller they call through, and a pool whose clients no request has gone through yet."""

    identities: list[Any]
    caller: Caller
    fresh: ClientPool


@contextlib.asynccontextmanager
async def three_callers(ids: dict[str, str]) -> AsyncIterator[Callers]:
    pool, fresh = ClientPool(), ClientPool()
    caller = Caller()
    credentials = Credentials(pool, caller, home_region="us-east-1")
    try:
        identities = [
            await credentials.caller_identity(),
            await credentials.for_account(ids["alpha"]),
            await credentials.for_account(ids["beta"]),
        ]
        yield Callers(identities, caller, fresh)
    finally:
        await pool.close()
        await fresh.close()


def test_each_request_carries_the_user_agent_botocore_builds_built_once_per_client(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = org.organization("alpha", "beta")
    botocores_own = UserAgentString.to_string
    builds: list[str] = []

    def counted(self: Any) -> Any:
        text = botocores_own(self)
        builds.append(text)
        return text

    monkeypatch.setattr(UserAgentString, "to_string", counted)
    sent: list[tuple[str, str]] = []

    def capture(request: Any, **_: Any) -> None:
        # What botocore itself builds for this request, in the request's own context.
        header = request.headers["User-Agent"]  # bytes once the request is prepared
        sent.append(
            (header.decode() if isinstance(header, bytes) else header, botocores_own(creator))
        )

    creator: Any = None  # the client's, once made

    async def scenario() -> list[str]:
        async with three_callers(ids) as callers:
            builds.clear()
            # A client no request has gone through yet, shared by the three identities.
            clients = [
                await callers.fresh.client(i, "us-east-1", "sts") for i in callers.identities
            ]
            nonlocal creator
            creator = clients[0].raw._user_agent_creator
            clients[0].raw.meta.events.register("before-send.sts", capture)
            call = callers.caller.call
            answers = [await call(c, "GetCallerIdentity") for _ in range(3) for c in clients]
            return [str(a["Account"]) for a in answers]

    accounts = asyncio.run(scenario())
    # Every call signed as its caller, through one client.
    assert accounts == [org.MANAGEMENT, ids["alpha"], ids["beta"]] * 3
    assert len(sent) == 9
    for header, rebuilt in sent:
        assert _parts(header) == _parts(rebuilt)
        assert header.startswith("aiobotocore/") and "md/Botocore#" in header
    # botocore builds it twice per request (18 builds); here twice for all nine: once for the
    # features known when the request is serialised, once for those known after signing.
    assert len(builds) == 2, "botocore no longer uses the clients' user_agent_creator component"


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-07T17:21:41Z",
        "2026-12-07T17:21:41.5Z",
        "2026-12-07T17:21:41.123456Z",
        "2026-12-07T17:21:41+02:00",
        "2026-12-07T17:21:41.1234567Z",
        "Mon, 07 Dec 2026 17:21:41 GMT",
        "1796750501",
        "1796750501.25",
    ],
)
def test_a_timestamp_means_what_botocore_says_it_means(text: str) -> None:
    ours, botocores = _parse_timestamp(text), parse_timestamp(text)
    assert ours == botocores
    assert ours.isoformat() == botocores.isoformat()  # what the inventory keeps
    assert _parse_timestamp(1796750501.25) == parse_timestamp(1796750501.25)


def test_assumed_keys_expiry_is_parsed_by_the_fast_path(aws: str) -> None:
    ids = org.organization("alpha")

    async def scenario() -> Any:
        pool = ClientPool()
        caller = Caller()
        credentials = Credentials(pool, caller, home_region="us-east-1")
        try:
            me = await credentials.caller_identity()
            client = await pool.client(me, "us-east-1", "sts")
            return await caller.call(
                client,
                "AssumeRole",
                RoleArn=f"arn:aws:iam::{ids['alpha']}:role/{org.ROLE}",
                RoleSessionName=ROLE_SESSION,
            )
        finally:
            await pool.close()

    expiration = asyncio.run(scenario())["Credentials"]["Expiration"]
    assert isinstance(expiration, datetime)
    # datetime.UTC is ours; botocore's parser gives dateutil's tzlocal() or tzutc().
    assert expiration.tzinfo is UTC, "botocore no longer takes the parser factory's defaults"
    assert expiration > datetime.now(UTC)


# Query protocol (form body), JSON 1.1 (bytes body): what the scan calls, signed both ways.
CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("sts", "GetCallerIdentity", {}),
    ("cloudtrail", "DescribeTrails", {"includeShadowTrails": True}),
    ("logs", "DescribeMetricFilters", {"logGroupName": "org-trail", "limit": 50}),
    ("sns", "ListTopics", {}),
]


def test_each_request_is_signed_as_botocore_signs_it_as_its_caller(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = org.organization("alpha", "beta")
    frozen: dict[str, Any] = {}  # access key -> the identity's keys
    checked: list[tuple[str, str]] = []
    signed_here: list[str] = []
    add_auth = _SigV4Auth.add_auth

    def counted(self: Any, request: Any) -> None:
        signed_here.append(self._service_name)
        add_auth(self, request)

    monkeypatch.setattr(_SigV4Auth, "add_auth", counted)

    def resign(request: Any, **_: Any) -> None:
        """After our signer, botocore's own over the same request at the same instant."""
        ours = request.headers["Authorization"]
        scope = ours.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        key, region, service = scope[0], scope[2], scope[3]
        instant = datetime.strptime(request.context["timestamp"], SIGV4_TIMESTAMP)
        with mock.patch("botocore.auth.get_current_datetime", return_value=instant):
            SigV4Auth(frozen[key], service, region).add_auth(request)
        assert request.headers["Authorization"] == ours
        checked.append((key, service))

    async def scenario() -> list[str]:
        async with three_callers(ids) as callers:
            identities, caller = callers.identities, callers.caller
            for identity in identities:
                keys = await identity.credentials.get_frozen_credentials()
                frozen[keys.access_key] = keys
            signed_here.clear()
            accounts = []
            for service, operation, params in CALLS:
                clients = [await callers.fresh.client(i, "us-east-1", service) for i in identities]
                raw = clients[0].raw
                assert type(raw._request_signer) is _RequestSigner
                raw.meta.events.register(f"request-created.{service}", resign)
                for client in clients:
                    await caller.call(client, operation, **params)
                    if service == "sts":
                        who = await caller.call(client, "GetCallerIdentity")
                        accounts.append(str(who["Account"]))
            return accounts

    accounts = asyncio.run(scenario())
    assert accounts == [org.MANAGEMENT, ids["alpha"], ids["beta"]]
    services = [service for service, _, _ in CALLS]
    # Every request through the scanner's signer, as the caller, as botocore would have signed it.
    assert len(checked) == 15
    assert sorted({s for _, s in checked}) == sorted(services)
    assert {k for k, _ in checked} == set(frozen)
    assert sorted(signed_here) == sorted(s for _, s in checked), (
        "botocore no longer signs through the clients' _RequestSigner"
    )
