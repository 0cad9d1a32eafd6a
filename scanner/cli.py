"""The ``scanner`` command: arguments in, a table or JSON out, and exit codes as a contract.

Exit codes: 0 the command ran (and ``evaluate`` found only PASS); 1 ``evaluate`` found a FAIL or
an ERROR; 2 the command cannot run (bad arguments, unknown rule or profile, invalid pattern,
unreadable inventory). A command that cannot run writes ONE line, ``scanner: error: ...``, to
stderr and never a traceback: every expected failure is raised as :class:`CliError` (or is one
of the core's own errors, translated in :func:`main`).

This is the only module that prints. It decides nothing: verdicts come from
:func:`scanner.catalog.judge` and :func:`scanner.evaluate.evaluate`, the same code the daemon
uses, so the command line can never disagree with the service. Colour only when stdout is a
terminal and ``NO_COLOR`` is unset or empty.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

from scanner.catalog import (
    Profile,
    Reference,
    UnknownNameError,
    identifier_label,
    judge,
    load_catalog,
)
from scanner.evaluate import evaluate
from scanner.model import Finding, Inventory, InventoryError, Status
from scanner.patterns import PatternSyntaxError, render

PROG = "scanner"
EXIT_OK, EXIT_FINDINGS, EXIT_CANNOT_RUN = 0, 1, 2
WIDTH = 100

_COLOURS = {
    "PASS": "32",
    "FAIL": "31",
    "ERROR": "33",
    "critical": "31",
    "high": "33",
}


class CliError(Exception):
    """A reason the command cannot run; shown as one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors through :class:`CliError` (one line, exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')")


# ------------------------------------------------------------------------------ output


class _Out:
    """Where the command writes, and whether it may colour what it writes."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        isatty = getattr(stream, "isatty", None)
        self.colour = bool(isatty and isatty()) and not os.environ.get("NO_COLOR")

    def line(self, text: str = "") -> None:
        print(text, file=self.stream)

    def json(self, data: object) -> None:
        print(json.dumps(data, indent=2, ensure_ascii=False), file=self.stream)

    def paint(self, text: str, key: str) -> str:
        code = _COLOURS.get(key)
        return f"\033[{code}m{text}\033[0m" if self.colour and code else text

    def table(
        self, headers: Sequence[str], rows: Sequence[Sequence[str]], *, indent: str = ""
    ) -> None:
        """Aligned columns; cells whose text is a colour key are painted after padding."""
        widths = [max(len(row[i]) for row in (headers, *rows)) for i in range(len(headers))]

        def fmt(cells: Sequence[str], paint: bool) -> str:
            padded = [
                self.paint(cell.ljust(width), cell) if paint else cell.ljust(width)
                for cell, width in zip(cells, widths, strict=True)
            ]
            return (indent + "  ".join(padded)).rstrip()

        self.line(fmt(headers, paint=False))
        for row in rows:
            self.line(fmt(row, paint=True))


def _wrap(text: str, indent: str, hang: str = "") -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent + hang)


# ------------------------------------------------------------------------------ rules


def _rules_list(args: argparse.Namespace, out: _Out) -> int:
    catalog = load_catalog()
    profile = catalog.profile(args.profile)
    rules = catalog.rules_in(profile)
    if args.format == "json":
        out.json(
            {
                "profile": profile.name,
                "rules": [
                    {
                        "id": rule.id,
                        "severity": rule.severity,
                        "title": rule.title,
                        "identifiers": {key: rule.identifier(key) for key in profile.identifiers},
                    }
                    for rule in rules
                ],
            }
        )
        return EXIT_OK
    headers = ["RULE", "SEVERITY", *(identifier_label(k).upper() for k in profile.identifiers)]
    rows = [
        [
            rule.id,
            rule.severity,
            *(rule.identifier(key) or "-" for key in profile.identifiers),
            rule.title,
        ]
        for rule in rules
    ]
    out.line(f"{profile.name}: {profile.title}. {profile.description}")
    out.line()
    out.table([*headers, "TITLE"], rows)
    out.line()
    out.line(f"{len(rules)} rules")
    return EXIT_OK


def _show_reference(ref: Reference, out: _Out) -> None:
    if ref.kind == "published":
        state = " BROKEN" if ref.broken else ""
        out.line(f"  {ref.name}  (published{state}: {ref.source})")
    else:
        out.line(f"  {ref.name}  ({ref.source})")
    out.line(_wrap("profiles: " + ", ".join(ref.profiles), "    ", "          "))
    out.line(f"    text:     {ref.text}")
    rendered = render(ref.pattern)
    if rendered != ref.text:
        out.line(f"    reads as: {rendered}")
    for note in ref.pattern.notes:
        out.line(_wrap(f"note: {note}", "    ", "      "))
    if ref.explanation:
        out.line(_wrap(f"why: {ref.explanation}", "    ", "     "))
    if ref.broken:
        out.line(_wrap(f"broken: {ref.broken} Never accepted itself.", "    ", "        "))


def _rules_show(args: argparse.Namespace, out: _Out) -> int:
    catalog = load_catalog()
    profile = catalog.profile(args.profile)
    rule = catalog.rule(args.rule)
    sections = ", ".join(
        f"{identifier_label(key).removeprefix('CIS ')}: {number}"
        for key, number in rule.cis_sections.items()
    )
    names = rule.remediation
    facts = [
        ("severity", rule.severity),
        ("watches", rule.event_source or "events of any service"),
        ("CIS", sections or "-"),
        ("Security Hub", rule.securityhub_control or "-"),
        ("CloudGuard", rule.cloudguard_rule or "-"),
        ("profiles", ", ".join(rule.profiles)),
        (
            "remediation",
            f"metric {names.metric_namespace}/{names.metric_name}, filter {names.filter_name}, "
            f"alarm {names.alarm_name}",
        ),
    ]
    out.line(f"{rule.id}: {rule.title}")
    for label, value in facts:
        out.line(f"  {label.ljust(14)}{value}")
    out.line()
    out.line("Why it matters")
    out.line(_wrap(rule.rationale, "  "))
    if rule.notes:
        out.line()
        out.line("Notes")
        for note in rule.notes:
            out.line(_wrap(f"- {note}", "  ", "  "))
    out.line()
    out.line("References")
    for ref in rule.references:
        _show_reference(ref, out)
    out.line()
    accepted = rule.accepted.get(profile.name, ())
    if not accepted:
        out.line(f"Not part of profile {profile.name}.")
        return EXIT_OK
    out.line(
        f"Accepted under {profile.name}: a filter passes when it covers any of these; "
        "the first is preferred"
    )
    for number, ref in enumerate(accepted, start=1):
        out.line(f"  {number}. {ref.name}")
    return EXIT_OK


def _rules_check_pattern(args: argparse.Namespace, out: _Out) -> int:
    catalog = load_catalog()
    profile = catalog.profile(args.profile)
    rule = catalog.rule(args.rule)
    try:
        verdict = judge(rule, profile, args.pattern)
    except PatternSyntaxError as err:
        raise CliError(f"invalid pattern {err}") from None
    out.json(verdict.to_json())
    return EXIT_OK


# ------------------------------------------------------------------------------ evaluate


def _read_inventory(path: Path) -> Inventory:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise CliError(f"cannot read inventory {path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise CliError(f"inventory {path} is not UTF-8 text: {err.reason}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise CliError(
            f"inventory {path} is not valid JSON: line {err.lineno} column {err.colno}: {err.msg}"
        ) from None
    try:
        return Inventory.from_json(data)
    except InventoryError as err:
        raise CliError(f"invalid inventory {path}: {err}") from None


def _summary(findings: Sequence[Finding], profile: Profile) -> dict[str, Any]:
    counts = Counter(str(f.status) for f in findings)
    return {
        "profile": profile.name,
        "accounts": len({f.account_id for f in findings}),
        "findings": len(findings),
        **{status.value: counts.get(status.value, 0) for status in Status},
    }


def _evaluate(args: argparse.Namespace, out: _Out) -> int:
    catalog = load_catalog()
    profile = catalog.profile(args.profile)
    inventory = _read_inventory(Path(args.inventory))
    findings = evaluate(inventory, profile.name)
    summary = _summary(findings, profile)
    if args.format == "json":
        out.json({"findings": [f.to_json() for f in findings], "summary": summary})
    else:
        accounts: dict[str, list[Finding]] = {}
        for finding in findings:
            accounts.setdefault(finding.account_id, []).append(finding)
        for account_id, group in accounts.items():
            out.line(f"{account_id}  {group[0].account_name}")
            rows = [
                [
                    str(f.status),
                    f.rule,
                    str(f.broken_link) if f.broken_link is not None else "-",
                    f.reason,
                ]
                for f in group
            ]
            out.table(["STATUS", "RULE", "BROKEN LINK", "REASON"], rows, indent="  ")
            out.line()
        counts = ", ".join(f"{summary[s.value]} {s.value}" for s in Status)
        accounts_text = (
            "1 account" if summary["accounts"] == 1 else f"{summary['accounts']} accounts"
        )
        out.line(
            f"{summary['findings']} findings in {accounts_text} (profile {profile.name}): {counts}"
        )
    failed = summary[Status.FAIL.value] + summary[Status.ERROR.value]
    return EXIT_FINDINGS if failed else EXIT_OK


# ------------------------------------------------------------------------------ parser


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description="Prove that the CloudTrail monitoring controls of every AWS account work.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        group: argparse._SubParsersAction[_Parser],
        name: str,
        handler: Callable[[argparse.Namespace, _Out], int],
        help_text: str,
    ) -> _Parser:
        sub = group.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    def profile_option(sub: _Parser) -> None:
        sub.add_argument(
            "--profile",
            metavar="PROFILE",
            help="rule profile (default: recommended); see 'scanner rules list'",
        )

    def format_option(sub: _Parser) -> None:
        sub.add_argument("--format", choices=("table", "json"), default="table")

    rules = commands.add_parser("rules", help="the rule catalog", description="The rule catalog.")
    rule_commands = rules.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")

    listing = add(rule_commands, "list", _rules_list, "list the rules of a profile")
    profile_option(listing)
    format_option(listing)

    show = add(rule_commands, "show", _rules_show, "everything about one rule")
    show.add_argument("rule", metavar="RULE")
    profile_option(show)

    check = add(
        rule_commands,
        "check-pattern",
        _rules_check_pattern,
        "does a filter pattern satisfy a rule? prints one JSON verdict",
    )
    check.add_argument("rule", metavar="RULE")
    check.add_argument("pattern", metavar="PATTERN", help="a CloudWatch Logs filter pattern")
    profile_option(check)

    evaluation = add(
        commands, "evaluate", _evaluate, "evaluate a saved inventory (JSON) against a profile"
    )
    evaluation.add_argument("--inventory", required=True, metavar="FILE")
    profile_option(evaluation)
    format_option(evaluation)
    return parser


def _fail(message: str) -> int:
    one_line = " ".join(message.split())
    print(f"{PROG}: error: {one_line}", file=sys.stderr)
    return EXIT_CANNOT_RUN


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (see the module docstring)."""
    try:
        args = _parser().parse_args(argv)
        handler: Callable[[argparse.Namespace, _Out], int] = args.handler
        return handler(args, _Out(sys.stdout))
    except CliError as err:
        return _fail(str(err))
    except UnknownNameError as err:
        return _fail(str(err))
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else EXIT_OK
    except BrokenPipeError:
        # The reader went away (``scanner rules show X | head``): stop quietly, and keep Python
        # from complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1  # what Python's documentation recommends for a broken pipe
