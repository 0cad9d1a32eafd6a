"""Where commands write: colour on a terminal only, aligned tables, a progress bar, ``--output``.

The exit codes are a contract: 0 the command ran (and ``evaluate``, ``scan`` or ``demo`` found
only PASS); 1 one of them found a FAIL or an ERROR, or the organization's listing was
incomplete (some root or OU could not be listed: its accounts have no verdict); 2 the command
cannot run; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import gzip
import io
import json
import os
import shutil
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

from scanner.errors import UsageError

PROG = "scanner"
EXIT_OK, EXIT_FINDINGS, EXIT_CANNOT_RUN = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
WIDTH = 100
MIN_COLUMN = 30  # a wrapped column never gets narrower than this, whatever the terminal

_COLOURS = {
    "PASS": "32",
    "FAIL": "31",
    "ERROR": "33",
    "critical": "31",
    "high": "33",
}


# Where :func:`add_command` leaves each command's own parser in the parsed arguments: an
# unknown option is noticed by the top parser, but the help to read is the command's.
COMMAND_PARSER = "command_parser"


def nearest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``word`` most likely mistypes (``--fromat``: ``--format``), if any is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.7)
    return close[0] if close else None


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors through :class:`UsageError` (one line, exit 2), names
    the help of the command that was given and suggests the nearest valid option or choice."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command: Parser = getattr(parsed, COMMAND_PARSER, self)
            command.unrecognized(extras)
        return parsed

    def unrecognized(self, extras: Sequence[str]) -> NoReturn:
        """``unrecognized arguments: --fromat json; did you mean --format?`` for this command."""
        message = f"unrecognized arguments: {' '.join(extras)}"
        options = [
            o for a in self._actions if a.help != argparse.SUPPRESS for o in a.option_strings
        ]
        for extra in extras:
            if extra.startswith("-"):
                guess = nearest(extra.split("=", 1)[0], options)
                if guess is not None:
                    message += f"; did you mean {guess}?"
                break
        self.error(message)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """argparse's check of a choice, with the nearest valid one suggested."""
        choices = action.choices
        if choices is None or value in choices:
            return
        shown = ", ".join(repr(c) for c in choices)
        message = f"invalid choice: {value!r} (choose from {shown})"
        guess = nearest(str(value), [str(c) for c in choices])
        if guess is not None:
            message += f"; did you mean {guess!r}?"
        raise argparse.ArgumentError(action, message)


class Out:
    """Where the command writes, whether it may colour, and how wide a line may be.

    ``width`` is the terminal's (``COLUMNS`` wins, as everywhere) when writing to one, else
    ``None``: a file or a pipe gets whole lines, which grep and diff prefer to wrapped ones."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        isatty = getattr(stream, "isatty", None)
        terminal = bool(isatty and isatty())
        self.colour = terminal and not os.environ.get("NO_COLOR")
        self.width: int | None = shutil.get_terminal_size().columns if terminal else None

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
        """Aligned columns; cells whose text is a colour key are painted after padding.

        The last column may hold several lines (``\n``); each starts under the column, and on
        a terminal each is wrapped to its width."""
        first = [[cell.split("\n")[0] for cell in row] for row in rows]
        widths = [max(len(row[i]) for row in (headers, *first)) for i in range(len(headers))]
        offset = len(indent) + sum(w + 2 for w in widths[:-1])
        room = max(MIN_COLUMN, self.width - offset) if self.width else None

        def fmt(cells: Sequence[str], paint: bool) -> str:
            padded = [
                self.paint(cell.ljust(width), cell) if paint else cell.ljust(width)
                for cell, width in zip(cells, widths, strict=True)
            ]
            return (indent + "  ".join(padded)).rstrip()

        self.line(fmt(headers, paint=False))
        for row in rows:
            lines = [
                piece
                for text in row[-1].split("\n")
                for piece in (textwrap.wrap(text, room, subsequent_indent="  ") if room else [text])
            ] or [""]
            self.line(fmt([*row[:-1], lines[0]], paint=True))
            for more in lines[1:]:
                self.line(" " * offset + more)


def wrap(text: str, indent: str, hang: str = "") -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent + hang)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class ProgressBar:
    """``scanning accounts [#####     ] 7/15  0:12 left`` on stderr, redrawn in place; only on a
    terminal. :meth:`say` shows what happens before the first account is done (the demo seeds
    its emulator for seconds first: a blank screen looks like a hang)."""

    WIDTH = 30

    def __init__(self, stream: IO[str], clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.drawn = False
        self.clock = clock
        self.first: tuple[float, int] | None = None  # (time, done) of the first report

    @classmethod
    def on_terminal(cls, stream: IO[str]) -> ProgressBar | None:
        isatty = getattr(stream, "isatty", None)
        return cls(stream) if isatty and isatty() else None

    def say(self, text: str) -> None:
        self.stream.write(f"\r\033[K{text}")
        self.stream.flush()
        self.drawn = True

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if self.first is None:
            self.first = (now, done)
        since, before = self.first
        filled = self.WIDTH * done // max(total, 1)
        bar = "#" * filled + " " * (self.WIDTH - filled)
        left = ""
        if before < done < total and now > since:  # the pace since the first account
            seconds = round((now - since) / (done - before) * (total - done))
            left = f"  {seconds // 60}:{seconds % 60:02d} left"
        self.say(f"scanning accounts [{bar}] {done}/{total}{left}")

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()


def write_json(path: str, data: object) -> None:
    try:
        Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    except OSError as err:
        raise UsageError(f"cannot write {path}: {err.strerror or err}") from None


GZIP_SUFFIX = ".gz"
# zlib's default. Level 9 makes our reports 3-14% smaller and takes twice the CPU on a full one
# (1,000 accounts: 3.6 s against 1.7 s for 130 MB of JSON).
GZIP_LEVEL = 6


@contextlib.contextmanager
def open_output(path: str) -> Iterator[IO[str]]:
    """``path`` opened for text; one ending in ``.gz`` is gzip-compressed as the text is written
    (streamed: a report's text is never held whole). The gzip header names no file and no time,
    so the same report compresses to the same bytes on every run."""
    if not path.endswith(GZIP_SUFFIX):
        with open(path, "w", encoding="utf-8") as stream:
            yield stream
        return
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0
        ) as zipped,
        io.TextIOWrapper(zipped, encoding="utf-8") as stream,
    ):
        yield stream


def with_output(
    args: argparse.Namespace,
    out: Out,
    write: Callable[[Out], int],
    written: Callable[[], str] | None = None,
) -> int:
    """Write to ``--output FILE`` (no colour) when given, else to ``out``; a FILE ending in
    ``.gz`` is gzip-compressed (:func:`open_output`).

    Into a file, ``written()`` (what went there: ``324 findings (json)``) is then said on stderr
    by :func:`wrote`."""
    if not getattr(args, "output", None):
        return write(out)
    try:
        with open_output(args.output) as stream:
            code = write(Out(stream))
    except OSError as err:
        raise UsageError(f"cannot write {args.output}: {err.strerror or err}") from None
    if written is not None:
        wrote(args, written(), args.output)
    return code


def wrote(args: argparse.Namespace, what: str, path: str) -> None:
    """``scanner: wrote WHAT to PATH`` on stderr, unless ``--quiet``: a report written to a file
    leaves the terminal empty, which looks like a command that did nothing. Stderr, so that a
    script reading stdout gets nothing it did not ask for."""
    if not getattr(args, "quiet", False):
        print(f"{PROG}: wrote {what} to {path}", file=sys.stderr)


Handler = Callable[[argparse.Namespace, Out], int]


def add_command(
    group: argparse._SubParsersAction[Parser], name: str, handler: Handler, help_text: str
) -> Parser:
    """A sub-command whose ``args.handler`` is ``handler``."""
    sub = group.add_parser(name, help=help_text, description=help_text)
    sub.set_defaults(handler=handler, **{COMMAND_PARSER: sub})
    return sub
