"""The demo organization, scanned once per session for every report test (a few seconds)."""

from __future__ import annotations

import pytest
from report.report_demo import Demo, scan_demo


@pytest.fixture(scope="session")
def demo_report() -> Demo:
    return scan_demo()
