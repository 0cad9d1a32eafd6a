"""The scanner's command line with a report of its process's memory on SIGUSR1.

    python bench/heap_report.py DIR serve --config FILE     # as `scanner serve --config FILE`

Why: what a long-running daemon's size is made of cannot be read from outside. Its RSS is
Python's own allocator (arenas of 1 MiB, given back only when wholly free), glibc's heap (what
CPython asks of ``malloc``: objects over 512 bytes, dictionaries' tables, SQLite, zlib) and
what is mapped; which of them grows, and whether live objects or the space between them, says
where to look. ``bench/soak.py --heap-reports DIR`` runs its daemon through this and signals it
at the end of each scan. A measuring harness, not part of the daemon.

Each SIGUSR1 writes ``DIR/heap-<pid>-<n>.txt``: ``/proc/self/status``'s RSS before and after a
full ``gc.collect()``, glibc's ``mallinfo2()`` (its arena, in use, free, mapped), the thread
count, pymalloc's ``sys._debugmallocstats()``, and with tracemalloc on (``PYTHONTRACEMALLOC=1``
in the environment: slow, it inflates the RSS) the lines holding the most and what grew since
the last report.
"""

from __future__ import annotations

import ctypes
import gc
import linecache
import os
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType
from typing import TextIO

TOP = 40  # lines listed by tracemalloc, held and grown


_MALLINFO2 = (  # glibc's struct mallinfo2, in its order
    "arena",
    "ordblks",
    "smblks",
    "hblks",
    "hblkhd",
    "usmblks",
    "fsmblks",
    "uordblks",
    "fordblks",
    "keepcost",
)


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in _MALLINFO2]


def _status() -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon and RssFile in MiB."""
    found: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS", "VmHWM", "RssAnon", "RssFile")):
                found[line.split(":")[0]] = int(line.split()[1]) // 1024
    return found


def _mallinfo() -> str:
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return "mallinfo2: not glibc"
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return "mallinfo2 MiB: " + ", ".join(
        f"{name}={getattr(info, name) / 2**20:.1f}" for name in _MALLINFO2
    )


def _line(size: float, count: int, trace: tracemalloc.Traceback) -> str:
    frame = trace[0]
    source = linecache.getline(frame.filename, frame.lineno).strip()[:80]
    return f"  {size / 2**20:+8.2f} MiB {count:+8d} {frame.filename}:{frame.lineno} {source}\n"


class Reporter:
    """Writes one report per signal. The last tracemalloc snapshot, compared with at the next,
    waits in a file of the directory, not in memory, where tracemalloc would count it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0
        self.last: Path | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        path = self.directory / f"heap-{os.getpid()}-{self.count}.txt"
        with path.open("w", encoding="utf-8") as out:
            out.write(f"before gc.collect: {_status()}\n")
            found = gc.collect()
            out.write(f"gc.collect found {found}; after: {_status()}\n")
            out.write(_mallinfo() + "\n")
            out.write(f"threads: {len(os.listdir('/proc/self/task'))}\n\n")
            out.flush()
            saved = os.dup(2)  # _debugmallocstats writes to the C stderr
            os.dup2(out.fileno(), 2)
            try:
                sys._debugmallocstats()
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            if tracemalloc.is_tracing():
                self._traced(out)

    def _traced(self, out: TextIO) -> None:
        held, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        out.write(f"\ntraced: {held / 2**20:.1f} MiB held, {peak / 2**20:.1f} MiB peak\n")
        snapshot = tracemalloc.take_snapshot().filter_traces(
            tuple(
                tracemalloc.Filter(False, module.__file__ or "")
                for module in (tracemalloc, linecache, sys.modules[__name__])
            )
        )
        for stat in snapshot.statistics("lineno")[:TOP]:
            out.write(_line(stat.size, stat.count, stat.traceback))
        if self.last is not None:
            out.write("\ngrown since the last report:\n")
            last = tracemalloc.Snapshot.load(str(self.last))
            for diff in snapshot.compare_to(last, "lineno")[:TOP]:
                out.write(_line(diff.size_diff, diff.count_diff, diff.traceback))
            self.last.unlink()
        self.last = self.directory / f"heap-{os.getpid()}.snapshot"
        snapshot.dump(str(self.last))


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    directory = Path(argv[0])
    directory.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGUSR1, Reporter(directory))
    from scanner.cli import main as scanner

    return scanner(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
