"""YAML read strictly: duplicate keys, runaway nesting and unreadable numbers are one line."""

from __future__ import annotations

import pytest

from scanner.daemon import config as cfg
from scanner.daemon.config.yamlfile import MAX_NESTING


def test_a_duplicate_key_is_an_error_naming_the_key_and_both_lines() -> None:
    text = "schedule:\n  interval: 5m\n  jitter: 1m\n  interval: 1h\n"
    with pytest.raises(cfg.ConfigError) as err:
        cfg.parse(text, {}, source="scanner.yaml")
    assert str(err.value) == (
        "config: scanner.yaml: line 4 column 3: duplicate key 'interval' (first on line 2)"
    )
    with pytest.raises(cfg.ConfigError, match="line 3 column 1: duplicate key 'rules'"):
        cfg.parse("rules: {}\nschedule: {}\nrules: {profile: cis-5.0}\n", {})


def test_a_merge_key_may_be_overridden_it_is_not_a_duplicate() -> None:
    text = "schedule:\n  <<: {interval: 5m, jitter: 1m}\n  interval: 10m\n"
    config = cfg.parse(text, {}, "f")
    assert (config.schedule.interval, config.schedule.jitter) == (600, 60)


@pytest.mark.parametrize(
    "text",
    [
        "schedule: " + "[" * 5000 + "]" * 5000 + "\n",
        "schedule: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
        "".join(f"{'  ' * i}k{i}:\n" for i in range(200)) + "  " * 200 + "v\n",
    ],
    ids=["flow-lists", "flow-mappings", "block-mappings"],
)
def test_deep_nesting_is_one_line_never_a_recursion_error(text: str) -> None:
    with pytest.raises(cfg.ConfigError) as err:
        cfg.parse(text, {}, source="deep.yaml")
    assert str(err.value).startswith("config: deep.yaml: line "), str(err.value)
    assert f"nested more than {MAX_NESTING} levels deep" in str(err.value)


def test_an_integer_python_cannot_read_is_one_line() -> None:
    with pytest.raises(cfg.ConfigError) as err:
        cfg.parse("limits: {max_in_flight: " + "9" * 5000 + "}\n", {}, source="big.yaml")
    assert str(err.value).startswith("config: big.yaml: Exceeds the limit"), str(err.value)
    assert "\n" not in str(err.value)
