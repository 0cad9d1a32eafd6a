"""``scanner evaluate`` (a saved inventory) and ``scanner scan`` (AWS), through one report."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from scanner.catalog import load_catalog
from scanner.cli import running, validate, written
from scanner.cli.options import (
    collect,
    detail_of,
    format_option,
    read_inventory,
    rules_profile_option,
    scan_options,
    scan_options_from,
    stuck_after_hours,
    stuck_after_option,
)
from scanner.cli.output import (
    Out,
    Parser,
    add_command,
    plural,
    with_output,
    write_json,
    wrote,
)
from scanner.cli.report import facts_of, report
from scanner.cli.selection import Selection, report_options
from scanner.cli.written import Tally
from scanner.errors import UsageError
from scanner.evaluate import each_finding


def _evaluate(args: argparse.Namespace, out: Out) -> int:
    catalog = load_catalog()
    profile = catalog.profile(args.rules_profile)
    selection = Selection.from_args(args, catalog, profile)
    detail = detail_of(args)
    validate.check_writable("--output", args.output)
    inventory = read_inventory(Path(args.inventory))
    # Evaluated as the report writes them.
    findings = Tally(
        each_finding(inventory, profile.name, stuck_after_hours=stuck_after_hours(args)),
        selection,
        args.format,
    )
    code = with_output(
        args,
        out,
        lambda o: report(
            o, findings, profile, inventory, fmt=args.format, selection=selection, detail=detail
        ),
        findings.describe,
    )
    # A saved inventory may hold some of the organization's accounts only: rules are checked.
    selection.warn_unmatched(catalog, profile, None)
    return code


def _scan(args: argparse.Namespace, out: Out) -> int:
    catalog = load_catalog()
    profile = catalog.profile(args.rules_profile)  # a bad profile fails before any call
    selection = Selection.from_args(args, catalog, profile)
    detail = detail_of(args)
    if args.accounts_from:
        args.organization = True
    options = scan_options_from(args)
    if args.accounts_from:
        from scanner.aws.listing import read_listing

        # Checked before any call: a bad file is one line and exit 2.
        listing = read_listing(Path(args.accounts_from))
        options = dataclasses.replace(options, organization=True, listing=listing)
    validate.check_writable("--output", args.output)
    validate.check_writable("--save-inventory", args.save_inventory)
    if args.save_listing and not options.organization:
        raise UsageError("--save-listing needs --organization (or --accounts-from)")
    validate.check_writable("--save-listing", args.save_listing)
    collected = collect(options, quiet=args.quiet)
    result = collected.result
    if args.save_inventory:
        write_json(args.save_inventory, result.inventory.to_json())
        wrote(args, written.inventory(result.inventory), args.save_inventory)
    if args.save_listing and result.listing is not None:
        from scanner.aws.listing import listing_to_json

        write_json(args.save_listing, listing_to_json(result.listing))
        accounts = plural(len(result.listing.accounts), "account")
        wrote(args, f"the listing of {accounts}", args.save_listing)
    findings = each_finding(  # evaluated as the report writes them
        result.inventory, profile.name, stuck_after_hours=options.stuck_after_hours
    )
    facts = facts_of(result)
    if args.confirm:
        from scanner.aws.confirm import confirm

        # Confirming needs every finding at once (one question per filter, however many
        # members share it): the report then reads them from the list.
        confirmation, stats = running.run(confirm(options, result.inventory, list(findings)))
        findings = iter(confirmation.findings)
        facts = dataclasses.replace(
            facts,
            api_calls=facts.api_calls + stats.calls,
            engine_disagreements=confirmation.disagreements,
            alarm_history_disagreements=confirmation.history_disagreements,
            failed_alarm_actions=confirmation.failed_actions,
        )
    if collected.listing_stats is not None:
        listed = collected.listing_stats
        facts = dataclasses.replace(
            facts,
            api_calls=facts.api_calls + listed.calls,
            retries=facts.retries + listed.retries,
            throttles=facts.throttles + listed.throttles,
        )
    tally = Tally(findings, selection, args.format)
    code = with_output(
        args,
        out,
        lambda o: report(
            o,
            tally,
            profile,
            result.inventory,
            facts=facts,
            fmt=args.format,
            selection=selection,
            detail=detail,
        ),
        tally.describe,
    )
    # Accounts and OUs are known once the organization is listed (not for the caller's own).
    organization = result.listing.listed() if result.listing is not None else None
    selection.warn_unmatched(catalog, profile, organization)
    return code


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    evaluation = add_command(
        commands, "evaluate", _evaluate, "evaluate a saved inventory (JSON) against a profile"
    )
    evaluation.add_argument("--inventory", required=True, metavar="FILE")
    rules_profile_option(evaluation, deprecated_profile=True)
    stuck_after_option(evaluation)
    format_option(evaluation)
    report_options(evaluation)

    scan = add_command(commands, "scan", _scan, "scan AWS accounts and report every rule's verdict")
    scan.epilog = (
        "exit codes: 0 every finding PASSes; 1 some finding is FAIL or ERROR, or the "
        "organization listing is incomplete (a root or OU could not be listed: the accounts "
        "listed are scanned, each parent not listed is an ERROR line and "
        "summary.listing_incomplete); 2 the scan cannot run (one line on stderr)"
    )
    scan_options(scan)
    rules_profile_option(scan)
    stuck_after_option(scan)
    format_option(scan)
    report_options(scan)
    scan.add_argument(
        "--save-inventory", metavar="FILE", help="also save the inventory (JSON) for 'evaluate'"
    )
    scan.add_argument(
        "--save-listing",
        metavar="FILE",
        help="with --organization: also save the organization's listing (JSON) for --accounts-from",
    )
    scan.add_argument(
        "--accounts-from",
        metavar="FILE",
        help="scan the organization's accounts as a saved listing names them (from "
        "--save-listing or 'scanner accounts list --output FILE'), without listing it; "
        "implies --organization",
    )
    scan.add_argument(
        "--confirm",
        action="store_true",
        help="ask AWS's engine (logs:TestMetricFilter, read-only) whether it agrees with each "
        "decided filter verdict, and read the chains' alarms' history "
        "(cloudwatch:DescribeAlarmHistory) for failed notifications; a disagreement is a note, "
        "never a changed verdict",
    )
