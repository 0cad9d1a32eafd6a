"""The daemon caps glibc's malloc arenas unless the operator chose a number."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from scanner.daemon.heap import limit_arenas


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
