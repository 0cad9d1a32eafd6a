"""Options several commands share, and turning them into what the AWS layer takes.

The vocabulary, the same in every command:

* ``-r``/``--rules-profile``: the rule profile (``scanner rules profiles`` lists them);
* ``--aws-profile``: the AWS profile of the base credentials (``scan``, ``remediate``);
* ``--profile``: deprecated. It used to mean the rule profile in ``rules``, ``evaluate`` and
  ``demo`` but the AWS profile in ``scan`` and ``remediate``; it keeps that old meaning with a
  warning, and a rule profile's name given to the AWS one is refused (exit 2) instead of being
  sent to botocore.

The AWS layer is imported only when a command calls AWS, so ``scanner rules`` stays fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.catalog import load_catalog
from scanner.cli import running, validate
from scanner.cli.output import PROG, Parser, ProgressBar
from scanner.errors import InventoryError, UsageError
from scanner.model import Inventory
from scanner.report import FORMATS
from scanner.report.compact import COMPACT, DETAILS

if TYPE_CHECKING:
    from scanner.aws import CollectResult, ScanOptions
    from scanner.aws.gateway import CallStats


class _Deprecated(argparse.Action):
    """An old option name: still works, says once on stderr what replaces it."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        self.replacement: str = kwargs.pop("replacement")
        self.aws = bool(kwargs.pop("aws", False))
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        value = str(values)
        if self.aws and value in {p.name for p in load_catalog().profiles}:
            raise UsageError(
                f"{option_string} {value}: here {option_string} is the AWS profile and "
                f"{value!r} is a rule profile; use --rules-profile {value}"
            )
        print(
            f"{PROG}: warning: {option_string} is deprecated; use {self.replacement}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, value)


def rules_profile_option(sub: Parser, *, deprecated_profile: bool = False) -> None:
    """``-r/--rules-profile``; ``--profile`` too where it used to name the rule profile."""
    sub.add_argument(
        "-r",
        "--rules-profile",
        dest="rules_profile",
        metavar="PROFILE",
        help="rule profile (default: recommended); see 'scanner rules profiles'",
    )
    if deprecated_profile:
        sub.add_argument(
            "--profile",
            dest="rules_profile",
            action=_Deprecated,
            replacement="--rules-profile",
            help=argparse.SUPPRESS,
        )


def stuck_after_option(sub: Parser) -> None:
    """``--stuck-after``: when an alarm sitting in ALARM stops counting (``scan``, ``evaluate``,
    ``remediate``; the daemon's ``rules.stuck_after``)."""
    sub.add_argument(
        "--stuck-after",
        type=validate.duration,
        default=None,
        metavar="DURATION",
        help="an alarm in ALARM for longer than this before the scan cannot notify a new event "
        "(CloudWatch notifies on changes only): its chain breaks (default: 1d; e.g. 12h)",
    )


def stuck_after_hours(args: argparse.Namespace) -> float:
    """``--stuck-after`` in hours, the evaluator's unit (its default when not given)."""
    from scanner.evaluate import STUCK_AFTER_HOURS

    return STUCK_AFTER_HOURS if args.stuck_after is None else float(args.stuck_after) / 3600


def format_option(sub: Parser, *, report: bool = True) -> None:
    """``--format``: a report's formats (``scan``, ``demo``, ``evaluate``), else table or json."""
    if not report:
        sub.add_argument("--format", choices=("table", "json"), default="table")
        return
    sub.add_argument(
        "--format",
        choices=("table", "json", *FORMATS),
        default="table",
        help="table (default), json, or for other tools: "
        + "; ".join(f"{f.name}: {f.help}" for f in FORMATS.values()),
    )
    sub.add_argument(
        "--detail",
        choices=DETAILS,
        help="json and jsonl: 'compact' (default) writes each distinct verdict (reason, "
        "patterns, notes, ...), chain and fix once and the findings name them by id; 'full' "
        "embeds everything in every finding",
    )


# The formats whose shape --detail chooses (scanner.report.compact); the others are unchanged.
DETAILED_FORMATS = ("json", "jsonl")


def detail_of(args: argparse.Namespace) -> str:
    """``--detail``, checked against ``--format`` before any work (compact unless given)."""
    detail: str | None = getattr(args, "detail", None)
    if detail is None:
        return COMPACT
    if args.format not in DETAILED_FORMATS:
        raise UsageError(f"--detail applies to --format json and jsonl only, not {args.format}")
    return detail


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
    aws.add_argument(
        "--aws-profile", metavar="AWS_PROFILE", help="AWS profile of the base credentials"
    )
    aws.add_argument(
        "--profile",
        dest="aws_profile",
        action=_Deprecated,
        replacement="--aws-profile",
        aws=True,
        help=argparse.SUPPRESS,
    )
    lists = (
        ("--regions", validate.region_names, "only these regions (comma-separated)"),
        ("--exclude-regions", validate.region_names, "not these regions"),
        ("--accounts", validate.account_ids, "with --organization: only these account ids"),
        ("--exclude-accounts", validate.account_ids, "with --organization: not these accounts"),
        ("--ous", validate.ou_ids, "with --organization: only accounts under these OU/root ids"),
        ("--exclude-ous", validate.ou_ids, "with --organization: not accounts under these OUs"),
    )
    for option, parse, text in lists:
        aws.add_argument(option, type=parse, default=(), metavar="LIST", help=text)
    aws.add_argument(
        "--rate-limit",
        type=validate.rate,
        action="append",
        default=[],
        metavar="SERVICE=N",
        help="requests per second per account, region and service (e.g. cloudtrail=5; "
        "0.01 to 1000); repeatable; "
        "the defaults stay well under AWS's quotas",
    )
    aws.add_argument(
        "--patience",
        type=validate.duration,
        default=None,
        metavar="DURATION",
        help="how long a throttled Organizations or STS call keeps retrying before the scan "
        "gives up on it (default: 3m; large organizations: raise it)",
    )
    aws.add_argument(
        "--deep",
        action="store_true",
        help="read every account fully, even members whose every rule the organization "
        "trail already decides (by default they are not entered: no call)",
    )


_SELECTION = (
    ("--accounts", "accounts"),
    ("--exclude-accounts", "exclude_accounts"),
    ("--ous", "ous"),
    ("--exclude-ous", "exclude_ous"),
)


def scan_options_from(args: argparse.Namespace) -> ScanOptions:
    """The scan the options describe, checked as far as it can be without calling AWS."""
    from scanner.aws import ScanOptions

    if not args.organization:
        given = [option for option, name in _SELECTION if getattr(args, name)]
        if given:
            raise UsageError(
                f"{given[0]} needs --organization (without it the scan covers the caller's "
                "own account only)"
            )
    validate.check_regions(args.regions, args.exclude_regions)
    validate.check_aws_profile(args.aws_profile)

    chosen: dict[str, Any] = {}
    if args.member_role_name:
        chosen["member_role_name"] = args.member_role_name
    if args.patience is not None:
        chosen["patience"] = args.patience
    return ScanOptions(
        # Members are entered only for the rules of this profile no outside chain decides.
        rules_profile=load_catalog().profile(args.rules_profile).name,
        deep=args.deep,
        organization=args.organization,
        role_arn=args.role_arn,
        external_id=args.external_id,
        regions=args.regions,
        exclude_regions=args.exclude_regions,
        include_accounts=args.accounts,
        exclude_accounts=args.exclude_accounts,
        include_ous=args.ous,
        exclude_ous=args.exclude_ous,
        profile=args.aws_profile,
        rate_limits=dict(args.rate_limit),
        stuck_after_hours=stuck_after_hours(args),
        **chosen,
    )


@dataclasses.dataclass(frozen=True)
class Collected:
    """The scan, and the calls made to list the organization before it (not in its stats)."""

    result: CollectResult
    listing_stats: CallStats | None = None


def collect(options: ScanOptions, *, quiet: bool = False) -> Collected:
    """Run the scan with a progress bar on a terminal; :class:`UsageError` if it cannot run.

    With ``--organization`` the organization is listed first (or read with ``--accounts-from``)
    and the account and OU ids of the options checked against it (exit 2 naming the unknown
    ones) before any account is entered; the scan then reuses that listing. Without filters the
    scan lists the organization itself, entering accounts as their pages arrive."""
    from scanner.aws import ScanError, collect
    from scanner.aws.organization import select
    from scanner.aws.scan import list_accounts

    stats = None
    filters = (
        options.include_accounts,
        options.exclude_accounts,
        options.include_ous,
        options.exclude_ous,
    )
    if options.organization and any(filters):
        listing = options.listing
        if listing is None:
            try:
                listing, stats = running.run(list_accounts(options))
            except ScanError as err:
                raise UsageError(str(err)) from None
        validate.check_selection(
            listing,
            {
                "--accounts": options.include_accounts,
                "--exclude-accounts": options.exclude_accounts,
            },
            {"--ous": options.include_ous, "--exclude-ous": options.exclude_ous},
        )
        chosen = select(
            listing.accounts,
            include_accounts=options.include_accounts,
            exclude_accounts=options.exclude_accounts,
            include_ous=options.include_ous,
            exclude_ous=options.exclude_ous,
        )
        if not chosen:
            raise UsageError("the account and OU filters leave no account of the organization")
        options = dataclasses.replace(options, listing=listing)
    bar = None if quiet else ProgressBar.on_terminal(sys.stderr)
    try:
        return Collected(running.run(collect(options, bar)), stats)
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
    except RecursionError:
        raise UsageError(f"inventory {path} is nested too deeply to be an inventory") from None
    try:
        inventory = Inventory.from_json(data)
    except InventoryError as err:
        raise UsageError(f"invalid inventory {path}: {err}") from None
    except RecursionError:
        raise UsageError(f"invalid inventory {path}: nested too deeply") from None
    if not inventory.accounts:
        raise UsageError(f"inventory {path} holds no account: nothing to evaluate")
    return inventory
