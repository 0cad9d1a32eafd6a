"""Who we are in each account: the base identity, an optional hub role, a member role per account.

Theory of operation:

* The base identity is whatever the default credential chain of the one base session resolves
  (environment, profile, web identity / IRSA, EKS Pod Identity, instance role). No credentials
  at all is a :class:`ScanError`: the scan cannot run.
* With ``role_arn``, the hub role is assumed first from the base identity, and every member
  role is assumed from the hub.
* The account the calling identity (base, or hub) lives in is scanned with that identity itself,
  never through a member role: normally that is the organization's management account. Every
  other account is entered by ``arn:<partition>:iam::<account>:role/<member_role_name>``, with
  ``external_id`` when given.
* Assumed credentials are aiobotocore refreshable credentials: botocore asks them for keys on
  every request, and they call AssumeRole again (through :class:`~scanner.aws.gateway.Caller`,
  so the call is throttled and counted) when fewer than 15 minutes remain, which matters for role
  chaining (sessions capped at one hour) and long scans.
* Identities are cached per account for the scan, failures too: an account whose role cannot be
  assumed costs one AssumeRole, and the :class:`~scanner.aws.gateway.CallFailed` it raised is
  raised again to every later asker (the account is reported with that error, the scan goes on).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiobotocore.credentials import AioRefreshableCredentials  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import BotoCoreError  # type: ignore[import-untyped, unused-ignore]

from scanner.aws.clients import ClientPool, Identity
from scanner.aws.gateway import Caller, CallFailed
from scanner.aws_defaults import DEFAULT_MEMBER_ROLE
from scanner.errors import ScanError
from scanner.model.arns import arn_account, role_arn

SESSION_NAME = "cloudtrail-monitoring-scanner"
ROLE_SESSION_SECONDS = 3600  # the cap for chained roles


def _expiry(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


class Credentials:
    """Identities per account, created once per scan and shared by every collector."""

    def __init__(
        self,
        pool: ClientPool,
        caller: Caller,
        *,
        home_region: str,
        role_arn: str | None = None,
        member_role_name: str = DEFAULT_MEMBER_ROLE,
        external_id: str | None = None,
    ) -> None:
        self.pool = pool
        self.caller = caller
        self.home_region = home_region
        self.role_arn = role_arn
        self.member_role_name = member_role_name
        self.external_id = external_id
        self._caller_identity: asyncio.Future[Identity] | None = None
        self._accounts: dict[str, asyncio.Future[Identity]] = {}

    async def caller_identity(self) -> Identity:
        """The base identity, or the hub role assumed from it; raises :class:`ScanError`."""
        if self._caller_identity is None:
            self._caller_identity = asyncio.ensure_future(self._resolve_caller())
        return await asyncio.shield(self._caller_identity)

    async def _resolve_caller(self) -> Identity:
        try:
            credentials = await self.pool.base_credentials()
        except (BotoCoreError, ValueError) as error:  # an unknown profile, a bad setting
            raise ScanError(f"cannot load the AWS credentials: {error}") from None
        if credentials is None:
            raise ScanError(
                "no AWS credentials found (environment, profile, web identity, container or "
                "instance role)"
            )
        base = Identity(key="base", account_id="", arn="")
        client = await self.pool.client(base, self.home_region, "sts")
        try:
            who = await self.caller.call(client, "GetCallerIdentity")
        except CallFailed as failed:
            raise ScanError(f"the AWS credentials do not work: {failed}") from None
        base.account_id = str(who["Account"])
        base.arn = str(who["Arn"])
        if self.role_arn is None:
            return base
        try:
            return await self._assume(base, self.role_arn, base.account_id, external_id=None)
        except CallFailed as failed:
            raise ScanError(f"cannot assume the hub role {self.role_arn}: {failed}") from None

    async def for_account(self, account_id: str) -> Identity:
        """The identity acting in the account; raises :class:`CallFailed` (sts AssumeRole)."""
        future = self._accounts.get(account_id)
        if future is None:
            future = asyncio.ensure_future(self._resolve_account(account_id))
            self._accounts[account_id] = future
        return await asyncio.shield(future)

    async def _resolve_account(self, account_id: str) -> Identity:
        me = await self.caller_identity()
        if account_id == me.account_id:
            return me
        arn = role_arn(account_id, self.member_role_name, me.partition)
        return await self._assume(me, arn, account_id, external_id=self.external_id)

    async def _assume(
        self, source: Identity, role_arn: str, key: str, external_id: str | None
    ) -> Identity:
        params: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": SESSION_NAME,
            "DurationSeconds": ROLE_SESSION_SECONDS,
        }
        if external_id:
            params["ExternalId"] = external_id
        refresh = self._refresher(source, role_arn, params, key)
        metadata, assumed_arn = await self._assume_once(source, role_arn, params, key)
        credentials = AioRefreshableCredentials.create_from_metadata(
            metadata, refresh_using=refresh, method="assume-role"
        )
        account_id = arn_account(assumed_arn)
        return Identity(
            key=f"role:{key}", account_id=account_id, arn=assumed_arn, credentials=credentials
        )

    async def _assume_once(
        self, source: Identity, role_arn: str, params: dict[str, Any], charge_to: str
    ) -> tuple[dict[str, str], str]:
        """One AssumeRole, counted for the account entered (the hub: for the caller's)."""
        client = await self.pool.client(source, self.home_region, "sts")
        response = await self.caller.call(
            client, "AssumeRole", resource=role_arn, charge_to=charge_to, **params
        )
        keys = response["Credentials"]
        metadata = {
            "access_key": str(keys["AccessKeyId"]),
            "secret_key": str(keys["SecretAccessKey"]),
            "token": str(keys["SessionToken"]),
            "expiry_time": _expiry(keys["Expiration"]),
        }
        return metadata, str(response["AssumedRoleUser"]["Arn"])

    def _refresher(
        self, source: Identity, role_arn: str, params: dict[str, Any], key: str
    ) -> Callable[[], Awaitable[dict[str, str]]]:
        async def refresh() -> dict[str, str]:
            metadata, _ = await self._assume_once(source, role_arn, params, key)
            return metadata

        return refresh
