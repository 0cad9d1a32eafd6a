"""The demo organization, scanned once per session for every report test (a few seconds)."""

from __future__ import annotations

import warnings

import pytest
from report.report_demo import Demo, scan_demo


@pytest.fixture(scope="session")
def demo_report() -> Demo:
    # moto serialises the demo's refused AssumeRole with a shape its own model lacks (known
    # moto gap); the warning would land on whichever test first asks for the demo.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Exception.*does not match an error shape")
        return scan_demo()
