"""Every command-line input checked before any work: one line naming the problem, exit 2.

Why here and not where the value is used: a scan that fails on its last step (an unwritable
``--output``) or silently scans nothing (``--ous not-an-ou``) wastes minutes of API calls and
says nothing useful. So each option has a syntax check (argparse ``type=`` functions below), and
what needs outside knowledge is checked as soon as that knowledge is at hand: botocore's region
list and the AWS config's profiles before the first call, the organization's accounts and OUs
right after it is listed (:func:`check_selection`), before any account is entered.

botocore is imported lazily, only by the checks of commands that call AWS.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.errors import UsageError
from scanner.model.arns import OU_OR_ROOT_ID

if TYPE_CHECKING:
    from scanner.aws.organization import Organization

ACCOUNT_ID = re.compile(r"[0-9]{12}")
# Organizations' own syntax: a root is r-xxxx, an OU ou-xxxx-xxxxxxxx.
OU_ID = OU_OR_ROOT_ID
REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
SHOWN = 5  # names quoted in one error line; the rest are counted


def quoted(names: Iterable[str]) -> str:
    """``'a', 'b' and 3 more``: a list that fits on one line whatever its length."""
    listed = list(dict.fromkeys(names))
    shown = ", ".join(repr(n[:60]) for n in listed[:SHOWN])
    return shown + (f" and {len(listed) - SHOWN} more" if len(listed) > SHOWN else "")


def names(text: str) -> tuple[str, ...]:
    """A comma-separated list option: ``us-east-1,eu-west-1``."""
    parts = tuple(part.strip() for part in text.split(","))
    if not all(parts):
        raise argparse.ArgumentTypeError(f"empty name in list {text!r}")
    return parts


def _matching(pattern: re.Pattern[str], what: str) -> argparse._ActionType:
    def parse(text: str) -> tuple[str, ...]:
        parts = names(text)
        bad = [p for p in parts if not pattern.fullmatch(p)]
        if bad:
            raise argparse.ArgumentTypeError(f"not {what}: {quoted(bad)}")
        return parts

    return parse


def account_id(text: str) -> str:
    """One account id: 12 digits."""
    if not ACCOUNT_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"not a 12-digit account id: {text[:60]!r}")
    return text


account_ids = _matching(ACCOUNT_ID, "a 12-digit account id")
ou_ids = _matching(OU_ID, "an OU id (ou-xxxx-xxxxxxxx) or root id (r-xxxx)")
region_names = _matching(REGION_NAME, "a region name (like eu-west-1)")


def rate(text: str) -> tuple[str, float]:
    """A ``--rate-limit`` value: ``service=requests per second``, checked as the daemon's
    configuration checks ``limits.rates``."""
    from scanner.daemon.config.checks import rates

    service, equals, number = text.partition("=")
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    if not equals or not service.strip() or math.isnan(value):
        raise argparse.ArgumentTypeError(f"expected SERVICE=N (requests per second), got {text!r}")
    problem = rates({service.strip(): value})
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return service.strip(), value


def duration(text: str) -> float:
    """A duration option (``--stuck-after 12h``, ``--patience 10m``) in seconds, written and
    bounded as the daemon's configuration writes them: positive, at most a year."""
    from scanner.daemon.config.checks import duration_problem, parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    problem = "must be more than 0" if seconds <= 0 else duration_problem(seconds)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
    return seconds


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region of every partition in botocore's endpoint data."""
    from botocore.loaders import Loader

    endpoints = Loader().load_data("endpoints")
    return frozenset(r for p in endpoints["partitions"] for r in p.get("regions", {}))


def check_regions(*lists: Collection[str]) -> None:
    known = known_regions()
    unknown = [r for regions in lists for r in regions if r not in known]
    if unknown:
        raise UsageError(f"unknown region {quoted(unknown)} (not in any AWS partition)")


def check_aws_profile(profile: str | None) -> None:
    """An AWS profile (the option, else ``AWS_PROFILE``) that no config file defines fails now,
    in one line, rather than as botocore's ProfileNotFound deep inside the first call."""
    from botocore.session import Session

    session = Session(profile=profile)
    name = session.profile  # the option, else what the environment names, else None
    if name is None:
        return
    available = session.available_profiles
    if name not in available:
        known = ", ".join(sorted(available)) or "none defined"
        where = "" if profile is not None else " (from the environment)"
        raise UsageError(f"unknown AWS profile {name!r}{where} (profiles: {known})")


def check_directory(option: str, path: str | None) -> None:
    """``--output-dir DIR`` can hold files: a writable directory, or one that can be made in a
    writable existing parent."""
    if path is None:
        return
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{option} {path}: not a directory")
    existing = next(p for p in (target, *target.parents) if p.exists())
    if not (existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)):
        raise UsageError(f"{option} {path}: cannot write there")


def check_writable(option: str, path: str | None) -> None:
    """``--output FILE`` can be written: an existing writable file, or a writable directory's."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{option} {path}: is a directory")
    if target.exists():
        ok = os.access(target, os.W_OK)
    else:
        parent = target.parent
        ok = parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)
    if not ok:
        raise UsageError(f"{option} {path}: cannot write there")


def check_selection(
    organization: Organization,
    accounts: Mapping[str, Collection[str]],
    ous: Mapping[str, Collection[str]],
) -> None:
    """Account and OU ids given per option must exist in the listed organization."""
    members = {a.id for a in organization.accounts}
    units = {ou for a in organization.accounts for ou in a.ou_ids}
    for option, ids in accounts.items():
        missing = [i for i in ids if i not in members]
        if missing:
            raise UsageError(f"{option}: not in the organization: {quoted(missing)}")
    for option, ids in ous.items():
        missing = [i for i in ids if i not in units]
        if missing:
            raise UsageError(f"{option}: no account of the organization is under {quoted(missing)}")
