"""``scan`` and ``remediate`` hand the collector their rule profile and ``--deep``."""

from __future__ import annotations

import pytest

from scanner.cli.app import build_parser
from scanner.cli.options import scan_options_from


@pytest.mark.parametrize("command", ["scan", "remediate"])
def test_the_rule_profile_and_deep_reach_the_collector(command: str) -> None:
    args = build_parser().parse_args(
        [command, "--organization", "--rules-profile", "cis-5.0", "--deep"]
    )
    options = scan_options_from(args)
    assert (options.rules_profile, options.deep) == ("cis-5.0", True)


def test_by_default_the_plan_is_for_the_default_profile_and_not_deep() -> None:
    options = scan_options_from(build_parser().parse_args(["scan"]))
    assert (options.rules_profile, options.deep) == ("recommended", False)


@pytest.mark.parametrize("command", ["scan", "remediate"])
def test_patience_and_the_stuck_alarm_threshold_reach_the_collector(command: str) -> None:
    args = build_parser().parse_args([command, "--patience", "10m", "--stuck-after", "6h"])
    options = scan_options_from(args)
    assert (options.patience, options.stuck_after_hours) == (600.0, 6.0)
    defaults = scan_options_from(build_parser().parse_args([command]))
    assert (defaults.patience, defaults.stuck_after_hours) == (180.0, 24.0)
