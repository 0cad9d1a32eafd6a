"""The accounts to scan: the organization's tree, walked top-down, then filtered.

Why top-down: Organizations allows very little concurrency (one request in flight, a few per
second). Walking from the root (ListRoots, then per parent ListOrganizationalUnitsForParent and
ListAccountsForParent, 20 accounts a page) costs ``1 + 1 + number of OUs`` requests plus one per
page of accounts (57 for 1,000 accounts in 3 OUs), and yields every account's OU path and the OU
names on the way; ListAccounts plus ListParents per account would cost one request per account
and per OU level.

The walk yields accounts page by page (:func:`open_organization`), so a scan can start on the
first accounts while Organizations' low quota paces the rest (listing 1,000 accounts takes about
half a minute); each account arrives with its OU path. ListRoots comes first: the root's ARN names
the management account, whose organization trails are collected before any member, so no request
of the quota goes to DescribeOrganization (asked only if an ARN does not say).

ListRoots (and DescribeOrganization, when asked) failing fails the listing
(:class:`~scanner.errors.ScanError`): nothing would be known. A parent (root or OU) whose
accounts or child OUs cannot be listed does not: the walk records the failed call (naming the
parent) in ``gaps`` and goes on, so the accounts that were listed are scanned and the report
says, parent by parent, what it could not list (:attr:`Organization.incomplete`) — a partial
list never silently drops accounts. The whole walk's retries share one budget, the scan's
patience: a listing throttled for good still ends, with what it has, within it.

Accounts not ACTIVE (SUSPENDED, PENDING_CLOSURE, CLOSED) are kept with their status so the
caller reports them, and never scanned. Filters: ``include_*`` keeps only the accounts named or
under the OUs named (the union of the two when both are given), ``exclude_*`` drops them;
exclusion wins.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import Any

from scanner.aws.clients import Client
from scanner.aws.gateway import Caller, CallFailed
from scanner.errors import ScanError
from scanner.evaluate import Listed
from scanner.model import ACCOUNT_ACTIVE, CollectionError

# The Organizations endpoint of each partition (a global service with one home region).
ORGANIZATIONS_REGION = {
    "aws": "us-east-1",
    "aws-us-gov": "us-gov-west-1",
    "aws-cn": "cn-northwest-1",
}


@dataclass(frozen=True, slots=True)
class OrgAccount:
    id: str
    name: str
    status: str = ACCOUNT_ACTIVE
    ou_ids: tuple[str, ...] = ()  # root first
    ou_names: tuple[str, ...] = ()  # the OU names below the root, top first

    @property
    def active(self) -> bool:
        return self.status == ACCOUNT_ACTIVE


@dataclass(frozen=True, slots=True)
class Organization:
    id: str | None
    management_account_id: str | None
    accounts: tuple[OrgAccount, ...]
    # The listing calls that failed for good, each naming its parent (``resource``): accounts
    # under those parents may be missing from ``accounts``.
    incomplete: tuple[CollectionError, ...] = ()

    def listed(self) -> tuple[Listed, ...] | None:
        """Every account as a suppression may name it; ``None`` when the listing is incomplete
        (an account or OU missing from it may exist: what matches nothing is unknown)."""
        if self.incomplete:
            return None
        return tuple(Listed(a.id, a.ou_names, a.ou_ids) for a in self.accounts)


def _status(account: dict[str, object]) -> str:
    # ``State`` (ACTIVE | SUSPENDED | PENDING_CLOSURE | CLOSED) supersedes ``Status``.
    return str(account.get("State") or account.get("Status") or ACCOUNT_ACTIVE)


@dataclass(frozen=True, slots=True)
class Described:
    """The organization's id and management account, known before any account is listed."""

    id: str | None
    management_account_id: str | None


def _failed(failed: CallFailed) -> ScanError:
    return ScanError(f"cannot list the organization's accounts: {failed}")


async def describe_organization(caller: Caller, client: Client) -> Described:
    """The organization's id and management account; raises :class:`ScanError`."""
    try:
        described = await caller.call(client, "DescribeOrganization")
    except CallFailed as failed:
        raise _failed(failed) from None
    organization = described["Organization"]
    return Described(
        id=str(organization.get("Id") or "") or None,
        management_account_id=str(organization.get("MasterAccountId") or "") or None,
    )


def described_by(roots: list[Any]) -> Described | None:
    """The organization's id and management account as its root's ARN names them
    (``arn:aws:organizations::<management>:root/<organization>/<root>``); ``None`` when the
    ARN does not say (DescribeOrganization then does)."""
    for root in roots:
        parts = str(root.get("Arn") or "").split(":", 5)
        if len(parts) == 6 and parts[2] == "organizations" and parts[4].isdigit():
            kind, _, rest = parts[5].partition("/")
            organization = rest.split("/")[0]
            if kind == "root" and organization.startswith("o-"):
                return Described(id=organization, management_account_id=parts[4])
    return None


async def open_organization(
    caller: Caller, client: Client, gaps: list[CollectionError] | None = None
) -> tuple[Described, AsyncIterator[list[OrgAccount]]]:
    """The organization described, and its accounts with their OU paths, a page at a time,
    depth first. ListRoots comes first: its ARN names the management account (DescribeOrganization
    is asked only when it does not), so the quota's first request already starts the walk.

    ListRoots failing raises :class:`ScanError`. A parent whose accounts or child OUs cannot be
    listed is appended to ``gaps`` (the failed call) and the walk goes on; without ``gaps`` it
    raises :class:`ScanError`. Every retry of the walk falls within the caller's patience from
    its start."""
    deadline = time.monotonic() + caller.retry.patience
    try:
        roots = await caller.paginate(client, "ListRoots", "Roots", deadline=deadline)
    except CallFailed as failed:
        raise _failed(failed) from None
    described = described_by(roots) or await describe_organization(caller, client)
    return described, _walk(caller, client, roots, deadline, gaps)


async def _walk(
    caller: Caller,
    client: Client,
    roots: list[Any],
    deadline: float,
    gaps: list[CollectionError] | None,
) -> AsyncIterator[list[OrgAccount]]:
    def missing(failed: CallFailed) -> None:
        if gaps is None:
            raise _failed(failed) from None
        gaps.append(failed.error)

    # Depth-first over (parent id, ids from the root, names below the root).
    stack: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
        (str(root["Id"]), (str(root["Id"]),), ()) for root in roots
    ]
    while stack:
        parent, ids, names = stack.pop()
        try:
            async for listed in caller.pages(
                client,
                "ListAccountsForParent",
                "Accounts",
                resource=parent,
                deadline=deadline,
                ParentId=parent,
            ):
                yield [
                    OrgAccount(str(a["Id"]), str(a.get("Name") or a["Id"]), _status(a), ids, names)
                    for a in listed
                ]
        except CallFailed as failed:
            missing(failed)
        try:
            units = await caller.paginate(
                client,
                "ListOrganizationalUnitsForParent",
                "OrganizationalUnits",
                resource=parent,
                deadline=deadline,
                ParentId=parent,
            )
        except CallFailed as failed:
            missing(failed)
            continue
        stack.extend(
            (str(u["Id"]), (*ids, str(u["Id"])), (*names, str(u.get("Name") or u["Id"])))
            for u in reversed(units)
        )


async def list_organization(caller: Caller, client: Client) -> Organization:
    """Every account of the organization with its OU path, and the parents it could not list;
    raises :class:`ScanError` when nothing can be listed."""
    gaps: list[CollectionError] = []
    described, pages = await open_organization(caller, client, gaps)
    accounts = [a async for page in pages for a in page]
    return Organization(
        id=described.id,
        management_account_id=described.management_account_id,
        accounts=tuple(sorted(accounts, key=lambda a: a.id)),
        incomplete=tuple(gaps),
    )


def select(
    accounts: Collection[OrgAccount],
    *,
    include_accounts: Collection[str] = (),
    exclude_accounts: Collection[str] = (),
    include_ous: Collection[str] = (),
    exclude_ous: Collection[str] = (),
) -> list[OrgAccount]:
    """The accounts the filters keep, in the given order."""

    def included(account: OrgAccount) -> bool:
        if not include_accounts and not include_ous:
            return True
        return account.id in include_accounts or any(ou in include_ous for ou in account.ou_ids)

    def excluded(account: OrgAccount) -> bool:
        return account.id in exclude_accounts or any(ou in exclude_ous for ou in account.ou_ids)

    return [a for a in accounts if included(a) and not excluded(a)]
