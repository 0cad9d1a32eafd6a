"""Every daemon test starts with structlog's defaults.

``scanner.cli.main`` configures structlog for the process (warnings only, to the ``sys.stderr``
of that moment); after a CLI test that stream is pytest's closed capture, and the daemon's log
calls would fail on it or be filtered out of ``capture_logs``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
