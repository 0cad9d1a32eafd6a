"""The programs some tests drive (Prometheus, Helm, Chromium, linters), and what a missing one does.

In CI (``CI=true``, which ``.ci/run`` exports) a missing program fails the test, naming what
installs it: CI installs everything, so a test that skipped there would hide a broken install.
Elsewhere the test skips with the same message, so a developer without Prometheus still runs
the rest. Every test that needs a program asks :func:`require_tool` (or, for a program found
its own way, calls :func:`missing`); none checks ``shutil.which`` or ``CI`` itself
(tests/test_tools.py holds them to it).
Importable as ``tools`` because tests/conftest.py puts tests/ on ``sys.path``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import NoReturn

import pytest

# What installs each kind of program (the message names it).
PROMETHEUS_SCRIPT = ".ci/install-prometheus.sh"
HELM_SCRIPT = ".ci/install-helm.sh"
CHROMIUM_SCRIPT = ".ci/install-chromium.sh"
TEST_EXTRA = "pip install -e '.[test]'"


def in_ci() -> bool:
    """Whether the tests run in CI (``CI`` set to ``true`` or ``1``, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def missing(message: str) -> NoReturn:
    """Fail in CI, skip elsewhere, with ``message`` (which says how to install the program)."""
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing tool fails)", pytrace=False)
    pytest.skip(message)


def find_program(*names: str) -> str | None:
    """The path of the first of ``names`` found beside this Python (a virtual environment's
    ``bin``, where pip puts cfn-lint and hadolint), then on ``PATH``; None if none is."""
    here = str(Path(sys.executable).parent)
    for name in names:
        found = shutil.which(name, path=here) or shutil.which(name)
        if found:
            return found
    return None


def require_tool(name: str, install: str, *alternatives: str) -> str:
    """The path of program ``name`` or of one of its ``alternatives`` (Debian's
    ``prometheus-alertmanager`` for ``alertmanager``), as :func:`find_program` finds it.

    Missing: :func:`missing` with ``"<name> not found: run <install>"``.
    """
    found = find_program(name, *alternatives)
    if found is None:
        missing(f"{name} not found: run {install}")
    return found


__all__ = [
    "CHROMIUM_SCRIPT",
    "HELM_SCRIPT",
    "PROMETHEUS_SCRIPT",
    "TEST_EXTRA",
    "find_program",
    "in_ci",
    "missing",
    "require_tool",
]
