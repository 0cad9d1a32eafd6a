"""Single values: durations, listen addresses, rate limits (also ``--rate-limit``'s parser)."""

from __future__ import annotations

import pytest

from scanner.daemon import config as cfg


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("1h30m", 5400), ("7d", 604800), ("500ms", 0.5), ("2w", 1209600)],
)
def test_durations(text: str, seconds: float) -> None:
    assert cfg.parse_duration(text) == seconds
    assert cfg.parse_duration(cfg.format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "5", "m", "1h 30", "-1m", "1y"])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        cfg.parse_duration(text)


def test_listen_addresses() -> None:
    assert cfg.parse_listen("0.0.0.0:9108") == ("0.0.0.0", 9108)
    assert cfg.parse_listen("[::1]:9108") == ("::1", 9108)
    assert cfg.parse_listen("localhost:0") == ("localhost", 0)
    for bad in ("9108", ":9108", "host:99999", "[nope]:1", "a b:1"):
        with pytest.raises(ValueError):
            cfg.parse_listen(bad)


def test_a_year_is_the_longest_duration_and_rates_span_a_hundredth_to_a_thousand() -> None:
    config = cfg.parse(
        "schedule: {interval: 365d}\nlimits: {rates: {sts: 1000, organizations: 0.01}}\n", {}
    )
    assert config.schedule.interval == cfg.MAX_DURATION == 365 * 86400
    assert config.limits.rates == {"sts": cfg.MAX_RATE, "organizations": cfg.MIN_RATE}
