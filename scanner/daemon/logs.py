"""The daemon's logs: structlog, JSON lines by default, readable console lines on request.

One configuration for every logger of the process (the collector's too), written to stderr so
stdout stays free for what a command prints. Secrets never reach a log line: the daemon logs
names of targets and variables, never their values, and alert delivery redacts URLs itself.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
LEVELS["error"] = logging.ERROR


def configure(fmt: str = "json", level: str = "info") -> None:
    """JSON lines (``fmt="json"``) or coloured console lines (``"console"``) at ``level``."""
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if fmt == "console":
        processors.append(structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    else:
        processors += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=stderr_loggers,
        cache_logger_on_first_use=False,
    )
    # Libraries' own logging (aiohttp, botocore) only when it matters.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")


def stderr_loggers(*_args: Any) -> structlog.PrintLogger:
    """A logger writing to the ``sys.stderr`` of the moment it is created, not of configuration
    time: a stream captured or replaced since (a test's capture, a redirect) is never written
    to after it was closed."""
    return structlog.PrintLogger(sys.stderr)


__all__ = ["LEVELS", "configure", "stderr_loggers"]
