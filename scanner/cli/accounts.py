"""``scanner accounts list``: the organization's accounts, as a scan would list them.

Its ``--output FILE`` is the listing ``scanner scan --accounts-from FILE`` reads, so a scan can
run without calling Organizations (whose quota is small, and whose throttling can outlast a
scan's patience). A listing that missed some parents is still printed or saved, with those
parents, and the exit code is 1; nothing listed at all is one line and exit 2.
"""

from __future__ import annotations

import argparse
import sys

from scanner.cli import running, validate
from scanner.cli.output import (
    EXIT_FINDINGS,
    EXIT_OK,
    Out,
    Parser,
    add_command,
    plural,
    write_json,
    wrote,
)
from scanner.errors import UsageError


def _accounts_list(args: argparse.Namespace, out: Out) -> int:
    from scanner.aws import ScanError, ScanOptions
    from scanner.aws.listing import listing_to_json
    from scanner.aws.scan import list_accounts

    validate.check_aws_profile(args.aws_profile)
    validate.check_writable("--output", args.output)
    patience = {} if args.patience is None else {"patience": args.patience}
    options = ScanOptions(
        organization=True, profile=args.aws_profile, role_arn=args.role_arn, **patience
    )
    try:
        listing, _ = running.run(list_accounts(options))
    except ScanError as err:
        raise UsageError(str(err)) from None
    data = listing_to_json(listing)
    # The gaps go where the user reads: under the table, or on stderr beside a JSON document.
    notes = Out(sys.stderr) if args.output or args.format == "json" else out
    if args.output:
        write_json(args.output, data)
        wrote(args, f"the listing of {plural(len(listing.accounts), 'account')}", args.output)
    elif args.format == "json":
        out.json(data)
    else:
        rows = [
            [a.id, a.name, a.status, "/".join(a.ou_names) or "(root)"] for a in listing.accounts
        ]
        out.table(["ACCOUNT", "NAME", "STATUS", "OU"], rows)
    for gap in listing.incomplete:
        notes.line(f"organization listing incomplete: {gap.resource} ({gap.describe()})")
    return EXIT_FINDINGS if listing.incomplete else EXIT_OK


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    accounts = commands.add_parser(
        "accounts", help="the organization's accounts", description="The organization's accounts."
    )
    account_commands = accounts.add_subparsers(
        dest="accounts_command", required=True, metavar="COMMAND"
    )
    listing = add_command(
        account_commands,
        "list",
        _accounts_list,
        "list the organization's accounts (--output FILE: the listing 'scan --accounts-from' "
        "reads); exit 1 when some parent could not be listed",
    )
    listing.add_argument("--aws-profile", metavar="AWS_PROFILE", help="AWS profile")
    listing.add_argument("--role-arn", metavar="ARN", help="a hub role to assume first")
    listing.add_argument(
        "--patience",
        type=validate.duration,
        default=None,
        metavar="DURATION",
        help="how long the listing keeps retrying throttled calls (default: 3m)",
    )
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.add_argument("--output", metavar="FILE", help="write the listing (JSON) to FILE")
