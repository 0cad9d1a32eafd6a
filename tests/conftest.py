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

from scanner.testing import demo, emulation


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


# The demo organization in moto's server, for the tests that run the CLI against it as a user
# would (AWS_ENDPOINT_URL and fake credentials in the environment). One emulator per module:
# tests change what it holds. A directory's or a module's own ``endpoint``/``aws`` wins.


@pytest.fixture(scope="module")
def endpoint() -> str:
    return emulation.emulate(demo.ORGANIZATION).endpoint_url


@pytest.fixture
def aws(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in emulation.CLEARED_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    for name, value in emulation.FAKE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    return endpoint
