"""The daemon's heap: glibc's malloc arenas capped at two.

Why: glibc gives each thread that allocates an arena of its own (up to eight per core), and
keeps what was freed in it for that thread's next allocations. The daemon's worker threads (a
scan's evaluation and commit, the HTTP renderer, the state's writes) each build and drop tens of
megabytes, so every arena settles at its own high-water mark and the process's size climbs
scan after scan though the objects it holds stay the same (``bench/soak.py``, 1,000 accounts:
RSS after scans 1-5 of 112, 154, 183, 182, 182 MB with the default, against two arenas in the
figures of bench/README.md). Two arenas is the usual setting for long-lived Python services;
their threads wait on I/O, not on malloc's locks.

``MALLOC_ARENA_MAX`` in the environment wins (glibc reads it itself); another C library (musl)
has no such option and is left alone.
"""

from __future__ import annotations

import ctypes
import os

import structlog

log = structlog.get_logger("scanner.daemon")

M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2


def limit_arenas(count: int = ARENAS) -> bool:
    """Cap the arenas before the daemon starts its threads; whether it was done here."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = int(mallopt(M_ARENA_MAX, count)) == 1  # glibc: 1 on success
    if not done:
        log.debug("malloc_arenas_not_limited")
    return done


__all__ = ["ARENAS", "limit_arenas"]
