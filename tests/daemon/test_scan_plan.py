"""The daemon's scans follow the collector's plan: its rule profile, and ``scan.deep``."""

from __future__ import annotations

from scanner.daemon.config import parse
from scanner.daemon.scheduler import scan_options


def test_the_rule_profile_and_deep_reach_the_collector() -> None:
    options = scan_options(parse("rules: {profile: cis-5.0}\nscan: {deep: true}\n", {}))
    assert (options.rules_profile, options.deep) == ("cis-5.0", True)
    default = scan_options(parse("", {}))
    assert (default.rules_profile, default.deep) == ("recommended", False)


def test_deep_can_be_set_from_the_environment() -> None:
    assert scan_options(parse("", {"SCANNER_SCAN_DEEP": "true"})).deep
