"""The accounts to scan: the organization's tree, walked top-down, then filtered.

Why top-down: Organizations allows very little concurrency (one request in flight, a few per
second). Walking from the root (ListRoots, then per parent ListOrganizationalUnitsForParent and
ListAccountsForParent) costs ``1 + 2 x (1 + number of OUs)`` requests whatever the number of
accounts, and yields every account's OU path and the OU names on the way; ListAccounts plus
ListParents per account would cost one request per account and per OU level.

The walk yields accounts page by page (:func:`walk_organization`), so a scan can start on the
first accounts while Organizations' low quota paces the rest (listing 1,000 accounts takes about
half a minute); each account arrives with its OU path. DescribeOrganization comes first: it names
the management account, whose organization trails are collected before any member.

A failed Organizations call fails the listing (:class:`~scanner.aws.credentials.ScanError`):
a partial list of accounts would silently drop accounts from the report.

Accounts not ACTIVE (SUSPENDED, PENDING_CLOSURE, CLOSED) are kept with their status so the
caller reports them, and never scanned. Filters: ``include_*`` keeps only the accounts named or
under the OUs named (the union of the two when both are given), ``exclude_*`` drops them;
exclusion wins.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass

from scanner.aws.clients import Client
from scanner.aws.gateway import Caller, CallFailed
from scanner.errors import ScanError
from scanner.model import ACCOUNT_ACTIVE

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


def _status(account: dict[str, object]) -> str:
    # ``State`` (ACTIVE | SUSPENDED | PENDING_CLOSURE | CLOSED) supersedes ``Status``.
    return str(account.get("State") or account.get("Status") or ACCOUNT_ACTIVE)


@dataclass(frozen=True, slots=True)
class Described:
    """What DescribeOrganization says before any account is listed."""

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


async def walk_organization(caller: Caller, client: Client) -> AsyncIterator[list[OrgAccount]]:
    """Every account of the organization with its OU path, a page at a time, depth first;
    raises :class:`ScanError` (a partial list would silently drop accounts)."""
    try:
        roots = await caller.paginate(client, "ListRoots", "Roots")
        # Depth-first over (parent id, ids from the root, names below the root).
        stack: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
            (str(root["Id"]), (str(root["Id"]),), ()) for root in roots
        ]
        while stack:
            parent, ids, names = stack.pop()
            async for listed in caller.pages(
                client, "ListAccountsForParent", "Accounts", resource=parent, ParentId=parent
            ):
                yield [
                    OrgAccount(str(a["Id"]), str(a.get("Name") or a["Id"]), _status(a), ids, names)
                    for a in listed
                ]
            units = await caller.paginate(
                client,
                "ListOrganizationalUnitsForParent",
                "OrganizationalUnits",
                resource=parent,
                ParentId=parent,
            )
            stack.extend(
                (str(u["Id"]), (*ids, str(u["Id"])), (*names, str(u.get("Name") or u["Id"])))
                for u in reversed(units)
            )
    except CallFailed as failed:
        raise _failed(failed) from None


async def list_organization(caller: Caller, client: Client) -> Organization:
    """Every account of the organization with its OU path; raises :class:`ScanError`."""
    described = await describe_organization(caller, client)
    accounts = [a async for page in walk_organization(caller, client) for a in page]
    return Organization(
        id=described.id,
        management_account_id=described.management_account_id,
        accounts=tuple(sorted(accounts, key=lambda a: a.id)),
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
