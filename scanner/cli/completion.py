"""``scanner completion bash|zsh|tcsh``: a shell completion script for every command and option.

Generated from the parser itself by shtab, so it cannot drift from the options; options taking a
file (metavar ``FILE``) complete file names, a rule (``rules show``, ``check-pattern``,
``--rules``) the rule and control ids, ``-r`` the profiles, and every ``--format`` its formats.
shtab (a small pure-Python package without dependencies) is the ``completion`` extra, imported
only here: the daemon's image does not carry it, and without it this command says how to get it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from scanner.catalog import SEVERITIES, load_catalog
from scanner.cli.output import EXIT_OK, Out, Parser, add_command
from scanner.errors import UsageError

SHELLS = ("bash", "zsh", "tcsh")


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _actions(sub)


def _completion(args: argparse.Namespace, out: Out) -> int:
    try:
        import shtab
    except ImportError:
        raise UsageError(
            "completion needs shtab: pip install 'cloudtrail-monitoring-scanner[completion]'"
        ) from None
    from scanner.cli.app import build_parser

    parser = build_parser()
    candidates = _candidates()
    for action in _actions(parser):
        if action.metavar == "FILE":
            action.complete = shtab.FILE  # type: ignore[attr-defined]
        elif action.dest in candidates and action.help != argparse.SUPPRESS:
            # Only this parser, built for the script, gets them: shtab completes an action's
            # choices, argparse would refuse everything else (a list, a qualified id).
            action.choices = candidates[action.dest]
    out.stream.write(shtab.complete(parser, shell=args.shell))
    return EXIT_OK


def _candidates() -> dict[str, tuple[str, ...]]:
    """What an option's value may be, by the option's ``dest``: rule and control ids (a rule's
    numbers in every standard: ``4.4``, ``CloudWatch.4``; not the qualified ``cis-1.2:3.4``,
    whose colon bash splits words at), profiles, statuses and severities."""
    catalog = load_catalog()
    standards = [p.membership for p in catalog.profiles if p.membership is not None]
    numbers = (rule.identifier(key) for rule in catalog.rules for key in standards)
    rules = (*(rule.id for rule in catalog.rules), *dict.fromkeys(n for n in numbers if n))
    return {
        "rule": rules,
        "rules": rules,
        "rules_profile": tuple(p.name for p in catalog.profiles),
        "status": ("fail", "error", "pass", "all"),
        "severity": (*SEVERITIES, *(f"{s}+" for s in SEVERITIES[:-1])),
    }


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    sub = add_command(
        commands,
        "completion",
        _completion,
        'print a shell completion script (bash: eval "$(scanner completion bash)")',
    )
    sub.add_argument("shell", choices=SHELLS)
