"""Fixtures shared by every test directory; this file also puts tests/ on ``sys.path``.

pytest's default ("prepend") import mode inserts the directory of a conftest.py that is not in
a package, so helper modules at the top of tests/ (``prometheus_stack``) import by name from
any sub-directory without copies.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog
from prometheus_stack import Process


@pytest.fixture(autouse=True)
def structlog_restored() -> Iterator[None]:
    """``scanner.cli.main`` configures structlog for the process (warnings only, to the stderr of
    the moment, which pytest closes after the test): the next test gets the configuration back
    as it was, whatever order the directories run in."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """Child processes the test starts; each is stopped (then killed) at teardown."""
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()
