"""``scanner completion bash|zsh|tcsh``: a shell completion script for every command and option.

Generated from the parser itself by shtab, so it cannot drift from the options; options taking a
file (metavar ``FILE``) complete file names. shtab (a small pure-Python package without
dependencies) is the ``completion`` extra, imported only here: the daemon's image does not carry
it, and without it this command says how to get it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

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
    for action in _actions(parser):
        if action.metavar == "FILE":
            action.complete = shtab.FILE  # type: ignore[attr-defined]
    out.stream.write(shtab.complete(parser, shell=args.shell))
    return EXIT_OK


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    sub = add_command(
        commands,
        "completion",
        _completion,
        'print a shell completion script (bash: eval "$(scanner completion bash)")',
    )
    sub.add_argument("shell", choices=SHELLS)
