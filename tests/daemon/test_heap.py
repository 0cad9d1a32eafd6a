"""The daemon tunes glibc's malloc (arenas, mmap threshold) unless the operator chose values."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from scanner.daemon.heap import fix_mmap_threshold, limit_arenas, tune_heap


def test_the_operators_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_arenas() is False


def test_on_glibc_the_arenas_are_capped() -> None:
    if platform.libc_ver()[0] != "glibc":  # musl has no arenas to cap: nothing to prove here
        assert limit_arenas() is False
        return
    # In a child, so this test process keeps its allocator as it was.
    code = "from scanner.daemon.heap import limit_arenas; print(limit_arenas())"
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.strip() == "True"


def test_the_operators_threshold_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert fix_mmap_threshold() is False


def test_on_glibc_the_daemon_sets_both() -> None:
    if platform.libc_ver()[0] != "glibc":  # musl: neither option exists, nothing is set
        assert tune_heap() == ()
        return
    code = "from scanner.daemon.heap import tune_heap; print(','.join(tune_heap()))"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_")
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.strip() == "arenas,mmap_threshold"
    # The operator's own setting is left as it is, the other one still set.
    env["MALLOC_ARENA_MAX"] = "4"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.strip() == "mmap_threshold"
