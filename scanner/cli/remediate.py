"""``scanner remediate``: the fixes of the failing findings, from a saved inventory, a scan, or
the demo organization (``--demo``: what ``scanner demo`` reports, fixed, without AWS)."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from scanner.catalog import load_catalog
from scanner.cli import validate
from scanner.cli.options import (
    collect,
    read_inventory,
    rules_profile_option,
    scan_options,
    scan_options_from,
    stuck_after_hours,
    stuck_after_option,
)
from scanner.cli.output import (
    EXIT_OK,
    Out,
    Parser,
    add_command,
    plural,
)
from scanner.errors import UsageError
from scanner.evaluate import evaluate
from scanner.model import Status
from scanner.remediation import FORMATS, Document, failing_lines, files, listing

# A script is written executable (by everyone; writable by its owner), so that it can be run as it
# is; every other file keeps the mode the umask gives it.
SCRIPT_MODE = 0o755


def _write(directory: Path, documents: Iterable[Document]) -> list[Path]:
    """Each document under ``directory`` (created as needed; an existing file is replaced), a
    script executable (:data:`SCRIPT_MODE`)."""
    written = []
    for document in documents:
        path = directory / document.name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(document.text)
            if document.executable:
                path.chmod(SCRIPT_MODE)
        except OSError as err:
            raise UsageError(f"--output-dir: cannot write {path}: {err.strerror or err}") from None
        written.append(path)
    return written


def _remediate(args: argparse.Namespace, out: Out) -> int:
    profile = load_catalog().profile(args.rules_profile)
    validate.check_directory("--output-dir", args.output_dir)
    if args.inventory:
        inventory = read_inventory(Path(args.inventory))
    elif args.demo:
        from scanner.cli.demo import run_demo

        inventory = run_demo(profile.name).collected.inventory
    else:
        inventory = collect(scan_options_from(args)).result.inventory
    if args.account and inventory.account(args.account) is None:
        raise UsageError(f"account {args.account} is not in the inventory")
    findings = [
        f
        for f in evaluate(inventory, profile.name, stuck_after_hours=stuck_after_hours(args))
        if args.account in (None, f.account_id)
    ]
    failing = [f for f in findings if f.status is Status.FAIL and f.remediation]
    undecided = sum(1 for f in findings if f.status is Status.ERROR)
    if failing and args.output_dir:  # a file per document, a directory per account
        written = _write(Path(args.output_dir), files(args.format, failing))
        out.line("\n".join([*failing_lines(failing), "", *(f"# wrote {p}" for p in written)]))
        out.line()
    elif failing:  # each change once per account, naming the findings it fixes
        out.line(listing(args.format, failing))
        out.line()
    out.line(
        f"# {plural(len(failing), 'failing finding')} to fix"
        + (
            f"; {undecided} ERROR findings could not be decided (see 'scanner scan')"
            if undecided
            else ""
        )
    )
    return EXIT_OK


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    remediate = add_command(
        commands,
        "remediate",
        _remediate,
        "print the fixes of the failing findings, from a saved inventory, a scan or the demo",
    )
    source = remediate.add_mutually_exclusive_group()
    source.add_argument(
        "--inventory", metavar="FILE", help="a saved inventory (else: scan with the options below)"
    )
    source.add_argument(
        "--demo",
        action="store_true",
        help="the demo organization's fixes ('scanner demo' scans it: moto, in-process, no AWS)",
    )
    remediate.add_argument(
        "--account", type=validate.account_id, metavar="ID", help="only this account's fixes"
    )
    remediate.add_argument(
        "--format",
        choices=FORMATS,
        default="cli",
        metavar="FORMAT",
        help=f"{', '.join(FORMATS)} (default: cli, a bash script of AWS CLI commands)",
    )
    remediate.add_argument(
        "--output-dir",
        metavar="DIR",
        help="write the fixes as files, a directory per account (e.g. DIR/<account>/<account>.tf,"
        " a Terraform root module each; scripts executable), instead of printing them",
    )
    rules_profile_option(remediate)
    stuck_after_option(remediate)
    scan_options(remediate)
