"""Options several commands share, and turning them into what the AWS layer takes.

Option names: ``--profile`` is the AWS profile wherever the command calls AWS (``scan``,
``remediate``), as in the AWS CLI; the rule profile is ``--rules-profile`` there. Commands that
never call AWS (``rules``, ``evaluate``, ``demo``) keep ``--profile`` as the short name of the
rule profile and accept ``--rules-profile`` too.

The AWS layer is imported only when a command calls AWS, so ``scanner rules`` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.cli.output import (
    Parser,
    ProgressBar,
)
from scanner.errors import InventoryError, UsageError
from scanner.model import Inventory
from scanner.report import FORMATS

if TYPE_CHECKING:
    from scanner.aws import CollectResult, ScanOptions


def names(text: str) -> tuple[str, ...]:
    """A comma-separated list option: ``us-east-1,eu-west-1``."""
    names = tuple(part.strip() for part in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"empty name in list {text!r}")
    return names


def rate(text: str) -> tuple[str, float]:
    """A ``--rate-limit`` value: ``service=requests per second``."""
    service, _, number = text.partition("=")
    try:
        rate = float(number)
    except ValueError:
        rate = 0.0
    if not service or not rate > 0:
        raise argparse.ArgumentTypeError(f"expected SERVICE=N with N > 0, got {text!r}")
    return service.strip(), rate


def scan_options_from(args: argparse.Namespace) -> ScanOptions:
    from scanner.aws import ScanOptions

    chosen = {"member_role_name": args.member_role_name} if args.member_role_name else {}
    return ScanOptions(
        organization=args.organization,
        role_arn=args.role_arn,
        external_id=args.external_id,
        regions=args.regions,
        exclude_regions=args.exclude_regions,
        include_accounts=args.accounts,
        exclude_accounts=args.exclude_accounts,
        include_ous=args.ous,
        exclude_ous=args.exclude_ous,
        profile=args.profile,
        rate_limits=dict(args.rate_limit),
        **chosen,
    )


def collect(options: ScanOptions) -> CollectResult:
    """Run the scan with a progress bar on a terminal; :class:`UsageError` if it cannot run."""
    from scanner.aws import ScanError, collect

    bar = ProgressBar.on_terminal(sys.stderr)
    try:
        return asyncio.run(collect(options, bar))
    except ScanError as err:
        raise UsageError(str(err)) from None
    finally:
        if bar is not None:
            bar.close()


def read_inventory(path: Path) -> Inventory:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot read inventory {path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise UsageError(f"inventory {path} is not UTF-8 text: {err.reason}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(
            f"inventory {path} is not valid JSON: line {err.lineno} column {err.colno}: {err.msg}"
        ) from None
    try:
        return Inventory.from_json(data)
    except InventoryError as err:
        raise UsageError(f"invalid inventory {path}: {err}") from None


def profile_option(sub: Parser) -> None:
    sub.add_argument(
        "--profile",
        metavar="PROFILE",
        help="rule profile (default: recommended); see 'scanner rules list'",
    )


def format_option(sub: Parser) -> None:
    sub.add_argument(
        "--format",
        choices=("table", "json", *FORMATS),
        default="table",
        help="table (default), json, or for other tools: "
        + "; ".join(f"{f.name}: {f.help}" for f in FORMATS.values()),
    )


def rules_profile_option(sub: Parser, *names: str, dest: str) -> None:
    sub.add_argument(
        *names,
        dest=dest,
        metavar="PROFILE",
        help="rule profile (default: recommended); see 'scanner rules list'",
    )


def scan_options(sub: Parser) -> None:
    """What to scan and as whom: the options ``scan`` and ``remediate`` share."""
    aws = sub.add_argument_group("what to scan, and as whom")
    aws.add_argument(
        "--organization",
        action="store_true",
        help="every account of the organization (default: the caller's own account)",
    )
    aws.add_argument("--role-arn", metavar="ARN", help="a hub role to assume first")
    aws.add_argument(
        "--member-role-name",
        metavar="NAME",
        help="the role assumed in each member account (default: "
        "OrganizationAccountAccessRole, the one AWS Organizations creates)",
    )
    aws.add_argument("--external-id", metavar="ID", help="external id of the member role")
    aws.add_argument("--profile", metavar="AWS_PROFILE", help="AWS profile of the base credentials")
    lists = (
        ("--regions", "only these regions (comma-separated)"),
        ("--exclude-regions", "not these regions"),
        ("--accounts", "only these account ids"),
        ("--exclude-accounts", "not these account ids"),
        ("--ous", "only accounts under these OU (or root) ids"),
        ("--exclude-ous", "not accounts under these OU ids"),
    )
    for option, text in lists:
        aws.add_argument(option, type=names, default=(), metavar="LIST", help=text)
    aws.add_argument(
        "--rate-limit",
        type=rate,
        action="append",
        default=[],
        metavar="SERVICE=N",
        help="requests per second per account, region and service (e.g. cloudtrail=5); "
        "repeatable; the defaults stay well under AWS's quotas",
    )
