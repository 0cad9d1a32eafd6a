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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "# scanner\nalerts:\n  webhooks:\n    - name: a\n      url: ftp://x\n",
            "config: scanner.yaml: line 5: alerts.webhooks[0].url: not a valid http(s) URL",
        ),
        (  # a check across fields: the line of the section written in the file
            "schedule:\n  interval: 1m\n  jitter: 5m\n",
            "config: scanner.yaml: line 3: schedule.jitter: must be shorter than",
        ),
        (  # a value that looks like a date but is none stays its text
            "\nrules:\n  profile: 2027-02-31\n",
            "config: scanner.yaml: line 3: rules.profile: unknown profile '2027-02-31'",
        ),
    ],
)
def test_an_error_in_a_file_names_the_file_the_line_and_the_field(text: str, expected: str) -> None:
    with pytest.raises(cfg.ConfigError) as err:
        cfg.parse(text, {}, source="scanner.yaml")
    assert str(err.value).startswith(expected), str(err.value)


def test_a_value_from_the_environment_is_not_said_to_be_in_the_file() -> None:
    with pytest.raises(cfg.ConfigError) as err:
        cfg.parse("schedule:\n  interval: 5m\n", {"SCANNER_SCHEDULE_INTERVAL": "1x"}, "s.yaml")
    assert str(err.value).startswith("config: schedule.interval (from SCANNER_SCHEDULE_INTERVAL)")
