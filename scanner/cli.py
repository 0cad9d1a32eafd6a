"""The ``scanner`` command: arguments in, a table or JSON out, and exit codes as a contract.

Exit codes: 0 the command ran (and ``evaluate``, ``scan`` or ``demo`` found only PASS); 1 one of
them found a FAIL or an ERROR; 2 the command cannot run (bad arguments, unknown rule or profile,
invalid pattern, unreadable inventory, no AWS credentials). A command that cannot run writes ONE
line, ``scanner: error: ...``, to stderr and never a traceback: every expected failure is raised
as :class:`CliError` (or is one of the core's own errors, translated in :func:`main`).

This is the only module that prints. It decides nothing: verdicts come from
:func:`scanner.catalog.judge` and :func:`scanner.evaluate.evaluate`, the same code the daemon
uses, so the command line can never disagree with the service. Colour only when stdout is a
terminal and ``NO_COLOR`` is unset or empty; a progress bar only when stderr is a terminal.

``evaluate``, ``scan`` and ``demo`` print their findings through one report (:func:`_report`):
the same table and the same JSON, a scan adding its own figures (regions, API calls, duration,
suspended accounts, failed calls per account) to the summary.

Option names: ``--profile`` is the AWS profile wherever the command calls AWS (``scan``,
``remediate``), as in the AWS CLI; the rule profile is ``--rules-profile`` there. Commands that
never call AWS (``rules``, ``evaluate``, ``demo``) keep ``--profile`` as the short name of the
rule profile and accept ``--rules-profile`` too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import structlog

from scanner.catalog import (
    Profile,
    Reference,
    UnknownNameError,
    identifier_label,
    judge,
    load_catalog,
)
from scanner.daemon.commands import add_commands, add_demo_arguments, run_demo_serve
from scanner.errors import InventoryError
from scanner.evaluate import evaluate
from scanner.model import Finding, Inventory, Status
from scanner.patterns import PatternSyntaxError, render
from scanner.remediation import FORMATS, listing

if TYPE_CHECKING:  # the AWS side is imported when a command needs it: ``rules`` stays fast
    from scanner.aws import CollectResult, ScanOptions

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


@dataclass(frozen=True)
class _ScanFacts:
    """What a scan adds to the report: where it looked, what it cost, what it skipped."""

    regions: tuple[str, ...]
    api_calls: int
    retries: int
    throttles: int
    seconds: float
    suspended: tuple[tuple[str, str, str], ...]  # (id, name, status)
    account_errors: Mapping[str, tuple[str, ...]]
    notes: Mapping[str, str] = field(default_factory=dict)  # per account, printed under it


def _summary(findings: Sequence[Finding], profile: Profile) -> dict[str, Any]:
    counts = Counter(str(f.status) for f in findings)
    return {
        "profile": profile.name,
        "accounts": len({f.account_id for f in findings}),
        "findings": len(findings),
        **{status.value: counts.get(status.value, 0) for status in Status},
    }


def _scan_summary(findings: Sequence[Finding], facts: _ScanFacts) -> dict[str, Any]:
    return {
        "rules": len({f.rule for f in findings}),
        "regions": list(facts.regions),
        "api_calls": facts.api_calls,
        "retries": facts.retries,
        "throttles": facts.throttles,
        "duration_seconds": round(facts.seconds, 3),
        "suspended": [
            {"account_id": i, "account_name": n, "status": s} for i, n, s in facts.suspended
        ],
        "account_errors": {k: list(v) for k, v in facts.account_errors.items()},
    }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _account_rows(out: _Out, group: Sequence[Finding]) -> None:
    errors = {f.reason for f in group if f.status is Status.ERROR}
    if len(errors) == 1 and all(f.status is Status.ERROR for f in group):
        # An account that could not be scanned: one reason for every rule, said once.
        out.line(f"  {out.paint('ERROR', 'ERROR')}  all {len(group)} rules: {errors.pop()}")
        return
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


def _report(
    out: _Out,
    findings: Sequence[Finding],
    profile: Profile,
    inventory: Inventory,
    *,
    facts: _ScanFacts | None = None,
    fmt: str = "table",
) -> int:
    """Print the findings (table or JSON); the exit code they call for."""
    summary = _summary(findings, profile)
    if facts is not None:
        summary.update(_scan_summary(findings, facts))
    if fmt == "json":
        out.json({"findings": [f.to_json() for f in findings], "summary": summary})
    else:
        _report_table(out, findings, profile, inventory, facts=facts, summary=summary)
    failed = summary[Status.FAIL.value] + summary[Status.ERROR.value]
    return EXIT_FINDINGS if failed else EXIT_OK


def _report_table(
    out: _Out,
    findings: Sequence[Finding],
    profile: Profile,
    inventory: Inventory,
    *,
    facts: _ScanFacts | None,
    summary: Mapping[str, Any],
) -> None:
    accounts: dict[str, list[Finding]] = {}
    for finding in findings:
        accounts.setdefault(finding.account_id, []).append(finding)
    for account_id, group in accounts.items():
        account = inventory.account(account_id)
        where = f"  ({'/'.join(account.ou_path)})" if account and account.ou_path else ""
        out.line(f"{account_id}  {group[0].account_name}{where}")
        note = facts.notes.get(account_id) if facts else None
        if note:
            out.line(f"  {note}")
        _account_rows(out, group)
        out.line()
    if facts is not None:
        for account_id, name, status in facts.suspended:
            out.line(f"{account_id}  {name}  {status.lower()}: not scanned")
        if facts.suspended:
            out.line()
        errors = sum(len(v) for v in facts.account_errors.values())
        out.line(
            f"Scanned {_plural(summary['accounts'], 'account')} in "
            f"{_plural(len(facts.regions), 'region')} for {_plural(summary['rules'], 'rule')}: "
            f"{facts.api_calls} API calls ({facts.retries} retried, {facts.throttles} throttled, "
            f"{_plural(errors, 'failed call')} recorded) in {facts.seconds:.1f} s"
        )
        if facts.suspended:
            out.line(f"Skipped {_plural(len(facts.suspended), 'account')} not ACTIVE (see above)")
    counts = ", ".join(
        f"{out.paint(str(summary[s.value]) + ' ' + s.value, s.value)}" for s in Status
    )
    accounts_text = _plural(summary["accounts"], "account")
    out.line(
        f"{summary['findings']} findings in {accounts_text} (profile {profile.name}): {counts}"
    )


def _evaluate(args: argparse.Namespace, out: _Out) -> int:
    catalog = load_catalog()
    profile = catalog.profile(args.profile)
    inventory = _read_inventory(Path(args.inventory))
    findings = evaluate(inventory, profile.name)
    return _report(out, findings, profile, inventory, fmt=args.format)


# ------------------------------------------------------------------------------ scan


class _ProgressBar:
    """``scanning accounts [#####     ] 7/15`` on stderr, redrawn in place; only on a terminal."""

    WIDTH = 30

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.drawn = False

    @classmethod
    def on_terminal(cls, stream: IO[str]) -> _ProgressBar | None:
        isatty = getattr(stream, "isatty", None)
        return cls(stream) if isatty and isatty() else None

    def __call__(self, done: int, total: int) -> None:
        filled = self.WIDTH * done // max(total, 1)
        bar = "#" * filled + " " * (self.WIDTH - filled)
        self.stream.write(f"\rscanning accounts [{bar}] {done}/{total}")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _names(text: str) -> tuple[str, ...]:
    """A comma-separated list option: ``us-east-1,eu-west-1``."""
    names = tuple(part.strip() for part in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"empty name in list {text!r}")
    return names


def _rate(text: str) -> tuple[str, float]:
    """A ``--rate-limit`` value: ``service=requests per second``."""
    service, _, number = text.partition("=")
    try:
        rate = float(number)
    except ValueError:
        rate = 0.0
    if not service or not rate > 0:
        raise argparse.ArgumentTypeError(f"expected SERVICE=N with N > 0, got {text!r}")
    return service.strip(), rate


def _scan_options(args: argparse.Namespace) -> ScanOptions:
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


def _facts(collected: CollectResult, notes: Mapping[str, str] | None = None) -> _ScanFacts:
    inventory = collected.inventory
    errors: dict[str, tuple[str, ...]] = {}
    for account in inventory.accounts:
        described = [e.describe() for e in (account.error, *account.errors) if e is not None]
        if described:
            errors[account.id] = tuple(dict.fromkeys(described))
    if inventory.errors:
        errors["organization"] = tuple(e.describe() for e in inventory.errors)
    regions = sorted({r for a in inventory.accounts for r in a.regions})
    stats = collected.stats
    return _ScanFacts(
        regions=tuple(regions),
        api_calls=stats.calls,
        retries=stats.retries,
        throttles=stats.throttles,
        seconds=collected.duration,
        suspended=tuple((a.id, a.name, a.status) for a in collected.suspended),
        account_errors=errors,
        notes=dict(notes or {}),
    )


def _collect(options: ScanOptions) -> CollectResult:
    """Run the scan with a progress bar on a terminal; :class:`CliError` if it cannot run."""
    from scanner.aws import ScanError, collect

    bar = _ProgressBar.on_terminal(sys.stderr)
    try:
        return asyncio.run(collect(options, bar))
    except ScanError as err:
        raise CliError(str(err)) from None
    finally:
        if bar is not None:
            bar.close()


def _write_json(path: str, data: object) -> None:
    try:
        Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    except OSError as err:
        raise CliError(f"cannot write {path}: {err.strerror or err}") from None


def _with_output(args: argparse.Namespace, out: _Out, write: Callable[[_Out], int]) -> int:
    """Write to ``--output FILE`` (no colour) when given, else to ``out``."""
    if not getattr(args, "output", None):
        return write(out)
    try:
        with open(args.output, "w", encoding="utf-8") as stream:
            return write(_Out(stream))
    except OSError as err:
        raise CliError(f"cannot write {args.output}: {err.strerror or err}") from None


def _scan(args: argparse.Namespace, out: _Out) -> int:
    profile = load_catalog().profile(args.rules_profile)  # a bad profile fails before any call
    collected = _collect(_scan_options(args))
    if args.save_inventory:
        _write_json(args.save_inventory, collected.inventory.to_json())
    findings = evaluate(collected.inventory, profile.name)
    facts = _facts(collected)
    return _with_output(
        args,
        out,
        lambda o: _report(o, findings, profile, collected.inventory, facts=facts, fmt=args.format),
    )


# ------------------------------------------------------------------------------ demo


def _demo(args: argparse.Namespace, out: _Out) -> int:
    from scanner import demo
    from scanner.emulation import EmulationError

    if args.serve:
        return run_demo_serve(args, out)
    profile = load_catalog().profile(args.profile)
    bar = _ProgressBar.on_terminal(sys.stderr)
    try:
        result = demo.run(profile.name, bar)
    except EmulationError as err:
        raise CliError(str(err)) from None
    finally:
        if bar is not None:
            bar.close()
    notes = {a.id: a.about for a in result.organization.accounts if a.about}
    facts = _facts(result.collected, notes)
    code = _report(
        out, result.findings, profile, result.collected.inventory, facts=facts, fmt=args.format
    )
    if args.format == "table":
        out.line(
            f"Demo: an emulated organization (moto on {result.endpoint_url}), seeded, scanned "
            f"through the AWS code path and evaluated in {result.seconds:.1f} s."
        )
    return code


# ------------------------------------------------------------------------------ remediate


def _remediate(args: argparse.Namespace, out: _Out) -> int:
    profile = load_catalog().profile(args.rules_profile)
    if args.inventory:
        inventory = _read_inventory(Path(args.inventory))
    else:
        inventory = _collect(_scan_options(args)).inventory
    if args.account and inventory.account(args.account) is None:
        raise CliError(f"account {args.account} is not in the inventory")
    findings = [
        f for f in evaluate(inventory, profile.name) if args.account in (None, f.account_id)
    ]
    failing = [f for f in findings if f.status is Status.FAIL and f.remediation]
    undecided = sum(1 for f in findings if f.status is Status.ERROR)
    if failing:  # each change once per account, naming the findings it fixes
        out.line(listing(args.format, failing))
        out.line()
    out.line(
        f"# {_plural(len(failing), 'failing finding')} to fix"
        + (
            f"; {undecided} ERROR findings could not be decided (see 'scanner scan')"
            if undecided
            else ""
        )
    )
    return EXIT_OK


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

    def rules_profile_option(sub: _Parser, *names: str, dest: str) -> None:
        sub.add_argument(
            *names,
            dest=dest,
            metavar="PROFILE",
            help="rule profile (default: recommended); see 'scanner rules list'",
        )

    def scan_options(sub: _Parser) -> None:
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
            "--profile", metavar="AWS_PROFILE", help="AWS profile of the base credentials"
        )
        lists = (
            ("--regions", "only these regions (comma-separated)"),
            ("--exclude-regions", "not these regions"),
            ("--accounts", "only these account ids"),
            ("--exclude-accounts", "not these account ids"),
            ("--ous", "only accounts under these OU (or root) ids"),
            ("--exclude-ous", "not accounts under these OU ids"),
        )
        for option, text in lists:
            aws.add_argument(option, type=_names, default=(), metavar="LIST", help=text)
        aws.add_argument(
            "--rate-limit",
            type=_rate,
            action="append",
            default=[],
            metavar="SERVICE=N",
            help="requests per second per account, region and service (e.g. cloudtrail=5); "
            "repeatable; the defaults stay well under AWS's quotas",
        )

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
    rules_profile_option(evaluation, "--profile", "--rules-profile", dest="profile")
    format_option(evaluation)

    scan = add(commands, "scan", _scan, "scan AWS accounts and report every rule's verdict")
    scan_options(scan)
    rules_profile_option(scan, "--rules-profile", dest="rules_profile")
    format_option(scan)
    scan.add_argument("--output", metavar="FILE", help="write the report to FILE")
    scan.add_argument(
        "--save-inventory", metavar="FILE", help="also save the inventory (JSON) for 'evaluate'"
    )

    demo = add(
        commands,
        "demo",
        _demo,
        "scan a built-in emulated organization (moto, in-process) and print the report",
    )
    rules_profile_option(demo, "--profile", "--rules-profile", dest="profile")
    format_option(demo)
    add_demo_arguments(demo)

    remediate = add(
        commands,
        "remediate",
        _remediate,
        "print the fixes of the failing findings, from a saved inventory or a scan",
    )
    remediate.add_argument(
        "--inventory", metavar="FILE", help="a saved inventory (else: scan with the options below)"
    )
    remediate.add_argument("--account", metavar="ID", help="only this account's fixes")
    remediate.add_argument("--format", choices=FORMATS, default="cli")
    rules_profile_option(remediate, "--rules-profile", dest="rules_profile")
    scan_options(remediate)
    add_commands(commands)
    return parser


def _fail(message: str) -> int:
    one_line = " ".join(message.split())
    print(f"{PROG}: error: {one_line}", file=sys.stderr)
    return EXIT_CANNOT_RUN


def _quiet_logs() -> None:
    """The command's output is its report: library logs go to stderr, warnings and worse only."""
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (see the module docstring)."""
    _quiet_logs()
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
