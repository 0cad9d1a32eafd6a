"""The daemon's heap: glibc's malloc arenas capped at two, its mmap threshold held fixed.

Why the arenas: glibc gives each thread that allocates an arena of its own (up to eight per
core), and keeps what was freed in it for that thread's next allocations. The daemon's worker
threads (a scan's evaluation and commit, the HTTP renderer, the state's writes) each build and
drop tens of megabytes, so every arena settles at its own high-water mark and the process's size
climbs scan after scan though the objects it holds stay the same (``bench/soak.py``, 1,000
accounts: RSS after scans 1-5 of 112, 154, 183, 182, 182 MB with the default, against two arenas
in the figures of bench/README.md). Two arenas is the usual setting for long-lived Python
services; their threads wait on I/O, not on malloc's locks.

Why the threshold: the daemon's large tables (the hash tables of the dictionaries keyed by
account and rule: ~10 MB each at 10,000 accounts, rebuilt by every scan and by every batch of
change events) are allocated with ``mmap`` and given back when freed, but only until glibc sees
one freed: it then raises its threshold to that size (up to 32 MB), and from there on every
such table lands in the heap, where what is freed between live objects stays in the process.
Holding the threshold at glibc's own starting value (128 KiB) keeps large blocks on ``mmap``
(the daemon's Service at 10,000 accounts, in process: peak 454 -> 425 MB by the fourth scan,
bench/README.md).

An operator's ``MALLOC_ARENA_MAX`` or ``MALLOC_MMAP_THRESHOLD_`` in the environment wins (glibc
reads them itself); another C library (musl) has no such options and is left alone.
"""

from __future__ import annotations

import ctypes
import os

import structlog

log = structlog.get_logger("scanner.daemon")

M_ARENA_MAX = -8  # glibc's malloc.h
M_MMAP_THRESHOLD = -3
ARENAS = 2
MMAP_THRESHOLD = 128 * 1024  # glibc's initial (dynamic) threshold, held fixed


def _mallopt(option: int, value: int, variable: str) -> bool:
    if variable in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = int(mallopt(option, value)) == 1  # glibc: 1 on success
    if not done:
        log.debug("malloc_option_not_set", variable=variable)
    return done


def limit_arenas(count: int = ARENAS) -> bool:
    """Cap the arenas before the daemon starts its threads; whether it was done here."""
    return _mallopt(M_ARENA_MAX, count, "MALLOC_ARENA_MAX")


def fix_mmap_threshold(size: int = MMAP_THRESHOLD) -> bool:
    """Hold the mmap threshold (and with it the trim threshold) fixed; whether it was done."""
    return _mallopt(M_MMAP_THRESHOLD, size, "MALLOC_MMAP_THRESHOLD_")


def tune_heap() -> tuple[str, ...]:
    """Both settings, before the daemon starts its threads: the names of those set here."""
    done = (("arenas", limit_arenas()), ("mmap_threshold", fix_mmap_threshold()))
    return tuple(name for name, applied in done if applied)


__all__ = ["ARENAS", "MMAP_THRESHOLD", "fix_mmap_threshold", "limit_arenas", "tune_heap"]
