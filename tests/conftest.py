"""Fixtures shared by every test directory; this file also puts tests/ on ``sys.path``.

pytest's default ("prepend") import mode inserts the directory of a conftest.py that is not in
a package, so helper modules at the top of tests/ (``prometheus_stack``) import by name from
any sub-directory without copies.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_stack import Process


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """Child processes the test starts; each is stopped (then killed) at teardown."""
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()
