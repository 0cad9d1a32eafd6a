"""``SCANNER_<SECTION>_<FIELD>`` overrides and command-line options: who wins, named in errors."""

from __future__ import annotations

import pytest

from scanner.daemon import config as cfg


def test_environment_overrides_win_over_the_file() -> None:
    env = {
        "SCANNER_SCHEDULE_INTERVAL": "15m",
        "SCANNER_HTTP_LISTEN": "0.0.0.0:9108",
        "SCANNER_LIMITS_RATES": "organizations=1,sts=5",
        "SCANNER_ORGANIZATION_INCLUDE_ACCOUNTS": "111111111111,222222222222",
        "SCANNER_ORGANIZATION_ENABLED": "yes",
        "SCANNER_ALERTS_RETRY_MAX": "1h",
        "SCANNER_ENDPOINT_URL": "http://localhost:4566",
        "UNRELATED": "x",
    }
    config = cfg.parse("schedule: {interval: 1h}\nhttp: {listen: 127.0.0.1:1}\n", env)
    assert config.schedule.interval == 900
    assert config.http.address == ("0.0.0.0", 9108)
    assert config.limits.rates == {"organizations": 1.0, "sts": 5.0}
    assert config.organization.include_accounts == ("111111111111", "222222222222")
    assert config.organization.enabled
    assert config.alerts.retry.max == 3600
    assert config.endpoint_url == "http://localhost:4566"


def test_command_line_options_win_over_the_environment_and_are_named_in_errors() -> None:
    env = {"SCANNER_HTTP_LISTEN": "0.0.0.0:9108"}
    options = {"SCANNER_HTTP_LISTEN": ("--listen", "127.0.0.1:9200")}
    assert cfg.parse("", env, options=options).http.listen == "127.0.0.1:9200"
    with pytest.raises(cfg.ConfigError) as err:
        cfg.parse("", env, options={"SCANNER_HTTP_LISTEN": ("--listen", "nowhere")})
    assert str(err.value).startswith("config: http.listen (from --listen): not HOST:PORT")


def test_a_secret_variable_named_like_a_setting_is_not_an_unknown_setting() -> None:
    text = "http: {bearer_token_env: SCANNER_HTTP_TOKEN}\n"
    config = cfg.parse(text, {"SCANNER_HTTP_TOKEN": "abc"})
    assert config.http.read_token({"SCANNER_HTTP_TOKEN": "abc"}) == "abc"
