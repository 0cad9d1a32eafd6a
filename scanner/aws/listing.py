"""The organization's listing as a file: written by ``scan --save-listing`` and ``accounts list``,
read by ``scan --accounts-from``, so a scan can run without calling Organizations at all.

Organizations tolerates little traffic, and a throttled listing can leave a scan with nothing
(issue: no report at all when Organizations is throttled): a listing saved on a calm day lets
the scan go on. The file is the :class:`~scanner.aws.organization.Organization` in the model's
JSON codec, under a ``format`` key naming this layout, with the parents the listing could not
read (``incomplete``) kept: a scan from a partial listing says it is partial.

Reading checks everything before any work: the layout, the fields' types, 12-digit account ids,
at least one account; any problem is one :class:`~scanner.errors.UsageError` line naming the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from scanner.aws.organization import Organization
from scanner.errors import InventoryError, UsageError
from scanner.model.codec import decode, encode

FORMAT = "scanner.organization-listing/1"
_ACCOUNT_ID = re.compile(r"\d{12}")


def listing_to_json(organization: Organization) -> dict[str, Any]:
    """The listing as JSON data, accounts sorted by id."""
    return {"format": FORMAT, **encode(organization)}


def listing_from_json(data: object, source: str = "listing") -> Organization:
    """The listing the data hold; :class:`UsageError` naming ``source`` and the problem."""
    if not isinstance(data, dict):
        raise UsageError(f"{source} is not an organization listing: expected a JSON object")
    if data.get("format") != FORMAT:
        raise UsageError(
            f"{source} is not an organization listing: format must be {FORMAT!r} "
            "(write one with 'scanner accounts list --output FILE' or 'scanner scan "
            "--organization --save-listing FILE')"
        )
    fields = {key: value for key, value in data.items() if key != "format"}
    try:
        organization = decode(Organization, fields)
    except InventoryError as err:
        raise UsageError(f"invalid organization listing {source}: {err}") from None
    ids = [a.id for a in organization.accounts]
    if organization.management_account_id is not None:
        ids.append(organization.management_account_id)
    bad = next((i for i in ids if not _ACCOUNT_ID.fullmatch(i)), None)
    if bad is not None:
        raise UsageError(f"invalid organization listing {source}: {bad!r} is not a 12-digit id")
    if not organization.accounts:
        raise UsageError(f"organization listing {source} holds no account: nothing to scan")
    return organization


def read_listing(path: Path) -> Organization:
    """The listing saved in ``path``; one :class:`UsageError` line for any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        why = err.strerror or err
        raise UsageError(f"cannot read organization listing {path}: {why}") from None
    except UnicodeDecodeError as err:
        why = err.reason
        raise UsageError(f"organization listing {path} is not UTF-8 text: {why}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(
            f"organization listing {path} is not valid JSON: line {err.lineno} column "
            f"{err.colno}: {err.msg}"
        ) from None
    except RecursionError:
        raise UsageError(f"organization listing {path} is nested too deeply") from None
    return listing_from_json(data, str(path))


__all__ = ["FORMAT", "listing_from_json", "listing_to_json", "read_listing"]
