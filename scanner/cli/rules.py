"""``scanner rules list|show|check-pattern``: the catalog, and one pattern judged against a rule."""

from __future__ import annotations

import argparse
import re
import textwrap

from scanner.catalog import Reference, Verdict, identifier_label, judge, load_catalog
from scanner.cli.options import format_option, rules_profile_option
from scanner.cli.output import (
    EXIT_FINDINGS,
    EXIT_OK,
    WIDTH,
    Out,
    Parser,
    add_command,
    plural,
    wrap,
)
from scanner.errors import UsageError
from scanner.model import LINKS
from scanner.patterns import PatternSyntaxError, render


def _rules_list(args: argparse.Namespace, out: Out) -> int:
    catalog = load_catalog()
    profile = catalog.profile(args.rules_profile)
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


def _rules_profiles(args: argparse.Namespace, out: Out) -> int:
    catalog = load_catalog()
    profiles = [
        {
            "name": p.name,
            "rules": len(catalog.rules_in(p)),
            "default": p.name == catalog.default_profile,
            "title": p.title,
            "description": p.description,
        }
        for p in catalog.profiles
    ]
    if args.format == "json":
        out.json({"profiles": profiles})
        return EXIT_OK
    rows = [
        [str(p["name"]) + (" (default)" if p["default"] else ""), str(p["rules"]), str(p["title"])]
        for p in profiles
    ]
    out.table(["PROFILE", "RULES", "TITLE"], rows)
    return EXIT_OK


def _show_reference(ref: Reference, out: Out) -> None:
    if ref.kind == "published":
        state = " BROKEN" if ref.broken else ""
        out.line(f"  {ref.name}  (published{state}: {ref.source})")
    else:
        out.line(f"  {ref.name}  ({ref.source})")
    out.line(wrap("profiles: " + ", ".join(ref.profiles), "    ", "          "))
    out.line(f"    text:     {ref.text}")
    rendered = render(ref.pattern)
    if rendered != ref.text:
        out.line(f"    reads as: {rendered}")
    for note in ref.pattern.notes:
        out.line(wrap(f"note: {note}", "    ", "      "))
    if ref.explanation:
        out.line(wrap(f"why: {ref.explanation}", "    ", "     "))
    if ref.broken:
        out.line(wrap(f"broken: {ref.broken} Never accepted itself.", "    ", "        "))


def _rules_show(args: argparse.Namespace, out: Out) -> int:
    catalog = load_catalog()
    profile = catalog.profile(args.rules_profile)
    rule = catalog.find_rule(args.rule, args.rules_profile)  # without -r: in every standard
    sections = ", ".join(
        f"{identifier_label(key).removeprefix('CIS ')}: {number}"
        for key, number in rule.cis_sections.items()
    )
    names = rule.remediation
    facts = [
        ("severity", rule.severity),
        ("watches", rule.event_source or "events of any service"),
        (
            "trail records",
            "management events from "
            + (", ".join(rule.event_sources) if rule.event_sources else "any service")
            + (", write events suffice" if rule.write_events_only else ", read and write"),
        ),
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
    out.line(wrap(rule.rationale, "  "))
    if rule.notes:
        out.line()
        out.line("Notes")
        for note in rule.notes:
            out.line(wrap(f"- {note}", "  ", "  "))
    out.line()
    out.line("References")
    for ref in rule.references:
        _show_reference(ref, out)
    out.line()
    routine = ", ".join(event.name for event in catalog.routine_events)
    out.line(
        wrap(
            "A filter that also matches a routine event (" + routine + ") is over-broad: its "
            "alarm sits in ALARM and CloudWatch notifies only on a change of state, so it "
            "does not satisfy the rule, whatever it covers. Filters whose chains work (trail, "
            "alarm and subscribed topic all fine) count together: their patterns must cover a "
            "reference jointly, so a long pattern may be split over several filters.",
            "",
        )
    )
    out.line()
    out.line("The chain (every link must hold, from the trail to a human)")
    width = max(len(spec.link.value) for spec in LINKS) + 2
    for spec in LINKS:
        head = "  " + spec.link.value.ljust(width)
        out.line(
            textwrap.fill(
                spec.checks, WIDTH, initial_indent=head, subsequent_indent=" " * len(head)
            )
        )
    out.line(
        wrap(
            "PASS when a chain whose every link is known holds (or working chains together "
            "cover the rule); FAIL only when every chain that could prove it is known and "
            "broken; ERROR otherwise: a call failed, or a policy condition cannot be decided "
            "from what the scanner reads, and the finding names it.",
            "",
        )
    )
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


# How many missed kinds of event the one-line verdict names before "...".
NAMED_GAPS = 3
_EVENT_NAME_GAP = re.compile(r'(eventSource is "[^"]*", )?eventName is "[^"]*"')


def _missed(verdict: Verdict) -> str:
    """``misses 14 events (DeleteUserPolicy, PutGroupPolicy, PutRolePolicy, ...)``; a gap that is
    more than an event name (a condition on another field) is named by its description."""
    gaps, count = verdict.gaps, verdict.coverage.gap_count
    names = [g.example.get("eventName") for g in gaps]
    by_name = all(_EVENT_NAME_GAP.fullmatch(g.description) for g in gaps) and all(
        isinstance(n, str) for n in names
    )
    if by_name:
        shown, what = [str(n) for n in names[:NAMED_GAPS]], plural(count, "event")
        separator = ", "
    else:
        shown, what = [g.description for g in gaps[:1]], plural(count, "kind") + " of event"
        separator = "; "
    more = [] if len(shown) == count else ["..."]
    return f"misses {what} ({separator.join([*shown, *more])})"


def verdict_line(verdict: Verdict) -> str:
    """The verdict in one line, its first word the answer: satisfied, not covered, over-broad or
    undecided (a pattern whose coverage cannot be decided is not known to satisfy the rule)."""
    rule = verdict.rule.id
    if verdict.over_broad:
        return f"{rule}: not satisfied, {verdict.over_broad_reason}"
    if verdict.covered:
        return f"{rule}: satisfied, covers {verdict.reference.name}"
    if not verdict.decided:
        return f"{rule}: undecided, {verdict.coverage.reason}"
    return f"{rule}: not covered, {_missed(verdict)}"


def _rules_check_pattern(args: argparse.Namespace, out: Out) -> int:
    catalog = load_catalog()
    profile = catalog.profile(args.rules_profile)
    rule = catalog.find_rule(args.rule, args.rules_profile)  # without -r: in every standard
    try:
        verdict = judge(rule, profile, args.pattern, origin="user")
    except PatternSyntaxError as err:
        raise UsageError(f"invalid pattern {err}") from None
    if args.format == "json":
        out.json(verdict.to_json())
    else:
        out.line(verdict_line(verdict))
    return EXIT_OK if verdict.satisfies else EXIT_FINDINGS


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    rules = commands.add_parser("rules", help="the rule catalog", description="The rule catalog.")
    rule_commands = rules.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")

    listing = add_command(rule_commands, "list", _rules_list, "list the rules of a profile")
    rules_profile_option(listing, deprecated_profile=True)
    format_option(listing, report=False)

    profiles = add_command(
        rule_commands, "profiles", _rules_profiles, "list the rule profiles (-r/--rules-profile)"
    )
    format_option(profiles, report=False)

    show = add_command(rule_commands, "show", _rules_show, "everything about one rule")
    show.add_argument(
        "rule",
        metavar="RULE",
        help="a rule id or a control id, read in the -r profile's standard (4.4, CloudWatch.4, "
        "cis-1.2:3.4)",
    )
    rules_profile_option(show, deprecated_profile=True)

    check = add_command(
        rule_commands,
        "check-pattern",
        _rules_check_pattern,
        "does a filter pattern satisfy a rule? one line; exit 0 when it does, 1 when it "
        "does not (not covered, over-broad or undecided), 2 for a bad pattern or rule",
    )
    check.add_argument("rule", metavar="RULE")
    check.add_argument("pattern", metavar="PATTERN", help="a CloudWatch Logs filter pattern")
    rules_profile_option(check, deprecated_profile=True)
    check.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table (default): the verdict in one line; json: the details (every missed kind of "
        "event with an example, the reference, the notes)",
    )
