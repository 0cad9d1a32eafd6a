"""The ``scanner`` command: the parser made of every command module, and :func:`main`.

A command that cannot run writes ONE line, ``scanner: error: ...``, to stderr and never a
traceback: every expected failure is a :class:`~scanner.errors.ScannerError`, caught here.

The CLI decides nothing: verdicts come from :func:`scanner.catalog.judge` and
:func:`scanner.evaluate.evaluate`, the same code the daemon uses, so the command line can never
disagree with the service.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

import structlog

from scanner.cli import accounts, completion, demo, remediate, rules, scan, serve
from scanner.cli.output import (
    EXIT_CANNOT_RUN,
    EXIT_INTERRUPTED,
    EXIT_OK,
    PROG,
    Out,
    Parser,
)
from scanner.daemon.logs import stderr_loggers
from scanner.errors import ScannerError
from scanner.version import installed_version


def build_parser() -> Parser:
    """Every command's parser (the completion script is generated from it too)."""
    parser = Parser(
        prog=PROG,
        description="Prove that the CloudTrail monitoring controls of every AWS account work.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (rules, scan, accounts, demo, remediate, serve, completion):
        module.register(commands)
    return parser


def _version() -> str:
    return installed_version("(not installed)")


def _fail(message: str) -> int:
    one_line = " ".join(message.split())
    print(f"{PROG}: error: {one_line}", file=sys.stderr)
    return EXIT_CANNOT_RUN


def _quiet_logs() -> dict[str, Any]:
    """The command's output is its report: library logs go to stderr, warnings and worse only.

    Returns the configuration it replaced, which :func:`main` puts back when the command ends
    (a program calling :func:`main`, a test for one, keeps its own logging)."""
    previous = structlog.get_config()
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=stderr_loggers,
    )
    return previous


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (see the module docstring)."""
    previous = _quiet_logs()
    try:
        args = build_parser().parse_args(argv)
        handler: Callable[[argparse.Namespace, Out], int] = args.handler
        return handler(args, Out(sys.stdout))
    except ScannerError as err:
        return _fail(str(err))
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else EXIT_OK
    except KeyboardInterrupt:
        # Ctrl-C: the user knows why; a traceback would only hide the prompt.
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``scanner rules show X | head``): stop quietly, and keep Python
        # from complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1  # what Python's documentation recommends for a broken pipe
    finally:
        structlog.configure(**previous)


__all__ = ["main"]
