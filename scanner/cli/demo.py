"""``scanner demo``: the built-in emulated organization, scanned for real and reported."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from scanner.catalog import load_catalog
from scanner.cli import validate, written
from scanner.cli.options import detail_of, format_option, rules_profile_option
from scanner.cli.output import (
    Out,
    Parser,
    ProgressBar,
    add_command,
    with_output,
    write_json,
    wrote,
)
from scanner.cli.report import facts_of, report
from scanner.cli.selection import Selection, report_options
from scanner.cli.serve import add_demo_arguments, run_demo_serve
from scanner.cli.written import Tally
from scanner.errors import UsageError

if TYPE_CHECKING:
    from scanner.testing.demo import DemoResult


def run_demo(profile: str, *, quiet: bool = False) -> DemoResult:
    """The demo organization seeded, scanned and evaluated under ``profile``, with a progress
    bar on a terminal (``scanner demo``, and ``remediate --demo`` for its fixes)."""
    bar = None if quiet else ProgressBar.on_terminal(sys.stderr)
    if bar is not None:  # said before moto loads: seeding takes seconds, silence looks like a hang
        bar.say("demo: starting the emulator (moto) and seeding the organization...")
    from scanner.testing import demo
    from scanner.testing.emulation import EmulationError

    try:
        return demo.run(profile, bar)
    except EmulationError as err:
        raise UsageError(str(err)) from None
    finally:
        if bar is not None:
            bar.close()


def _demo(args: argparse.Namespace, out: Out) -> int:
    if args.serve:
        if args.save_inventory:
            raise UsageError("--save-inventory saves a report's inventory; --serve reports none")
        return run_demo_serve(args, out)
    catalog = load_catalog()
    profile = catalog.profile(args.rules_profile)
    selection = Selection.from_args(args, catalog, profile)
    detail = detail_of(args)
    validate.check_writable("--output", args.output)
    validate.check_writable("--save-inventory", args.save_inventory)
    result = run_demo(profile.name, quiet=args.quiet)
    inventory = result.collected.inventory
    if args.save_inventory:  # what 'scanner evaluate --inventory' and 'remediate' read
        write_json(args.save_inventory, inventory.to_json())
        wrote(args, written.inventory(inventory), args.save_inventory)
    notes = {a.id: a.about for a in result.organization.accounts if a.about}
    facts = facts_of(result.collected, notes)
    findings = Tally(result.findings, selection, args.format)

    def write(o: Out) -> int:
        code = report(
            o,
            findings,
            profile,
            result.collected.inventory,
            facts=facts,
            fmt=args.format,
            selection=selection,
            detail=detail,
        )
        if args.format == "table" and not args.quiet:
            o.line(
                f"Demo: an emulated organization (moto on {result.endpoint_url}), seeded, scanned "
                f"through the AWS code path and evaluated in {result.seconds:.1f} s."
            )
        return code

    code = with_output(args, out, write, findings.describe)
    listing = result.collected.listing
    selection.warn_unmatched(catalog, profile, listing.listed() if listing is not None else None)
    return code


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    demo = add_command(
        commands,
        "demo",
        _demo,
        "scan a built-in emulated organization (moto, in-process) and print the report",
    )
    rules_profile_option(demo, deprecated_profile=True)
    format_option(demo)
    report_options(demo)
    demo.add_argument(
        "--save-inventory",
        metavar="FILE",
        help="also save the inventory the demo collected (JSON, as 'scan --save-inventory' "
        "writes it): 'evaluate --inventory FILE' and 'remediate --inventory FILE' read it "
        "without AWS",
    )
    add_demo_arguments(demo)
