"""One botocore client per (region, service) serves every identity: each call is signed as its
caller, concurrently, and a request made with no identity acting is refused, never signed with
someone else's keys. Through moto's server, which tells accounts apart by their keys."""

from __future__ import annotations

import asyncio

import pytest
from botocore.exceptions import NoCredentialsError
from e2e import emulated_org as org

from scanner.aws.clients import ClientPool
from scanner.aws.credentials import Credentials
from scanner.aws.gateway import Caller


def test_one_client_signs_each_concurrent_call_as_its_caller(aws: str) -> None:
    ids = org.organization("alpha", "beta")

    async def scenario() -> list[str]:
        pool = ClientPool()
        caller = Caller()
        credentials = Credentials(pool, caller, home_region="us-east-1")
        try:
            identities = [
                await credentials.for_account(ids["alpha"]),
                await credentials.for_account(ids["beta"]),
                await credentials.caller_identity(),
            ]
            clients = [await pool.client(i, "us-east-1", "sts") for i in identities]
            assert len({id(c.raw) for c in clients}) == 1  # one botocore client for all three
            answers = await asyncio.gather(
                *(caller.call(c, "GetCallerIdentity") for _ in range(4) for c in clients)
            )
            with pytest.raises(NoCredentialsError):  # outside the gateway nobody is acting
                await clients[0].raw.get_caller_identity()
            return [str(a["Account"]) for a in answers]
        finally:
            await pool.close()

    accounts = asyncio.run(scenario())
    assert accounts == [ids["alpha"], ids["beta"], org.MANAGEMENT] * 4
