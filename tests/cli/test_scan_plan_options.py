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
