"""The daemon's configuration: the example, defaults, overrides, and one clear line per mistake."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from scanner.cli.serve import run_config_check, run_config_example, run_config_schema
from scanner.daemon import config as cfg
from scanner.daemon.config.yamlfile import MAX_NESTING


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str = "") -> None:
        self.lines.append(text)


def test_the_example_is_valid_and_spells_out_every_default() -> None:
    example = cfg.parse(cfg.EXAMPLE, {})
    assert example == cfg.Config().replace("organization", enabled=True)
    # Every section and every field of a section appears in the example, so it documents all.
    for variable, path in cfg.env_variables().items():
        assert f"{path[-1]}:" in cfg.EXAMPLE, variable


def test_defaults_are_a_workstation_daemon_scanning_every_half_hour() -> None:
    config = cfg.parse("", {})
    assert config.schedule.interval == 1800
    assert config.schedule.jitter == 120
    assert config.schedule.deadline == 1200
    assert config.http.address == ("127.0.0.1", 9108)
    assert config.state.path == "scanner-state.db"
    assert config.rules.profile == "recommended"
    assert (config.sharding.shard, config.sharding.total_shards) == (0, 1)


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


WEBHOOK = (
    "alerts:\n  webhooks:\n    - name: hook\n      url: {url}\n      secret_env: HOOK_SECRET\n"
)


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        (
            WEBHOOK.format(url="ftp://example.com/x"),
            {"HOOK_SECRET": "s"},
            "config: alerts.webhooks[0].url: not a valid http(s) URL",
        ),
        (
            WEBHOOK.format(url="https://example.com/x"),
            {},
            "config: alerts.webhooks[0]: secret_env: environment variable HOOK_SECRET is not set",
        ),
        ("schedul: {interval: 1m}\n", {}, "config: schedul: unknown key (known: organization,"),
        ("schedule: {interval: 1x}\n", {}, "config: schedule.interval: not a duration: '1x'"),
        ("schedule: {interval: 0s}\n", {}, "config: schedule.interval: must be greater than 0"),
        (
            "schedule: {interval: 1m, jitter: 1m}\n",
            {},
            "config: schedule.jitter: must be shorter than schedule.interval",
        ),
        ("http: {listen: 9108}\n", {}, "config: http.listen: expected a string"),
        ("http: {listen: 'localhost'}\n", {}, "config: http.listen: not HOST:PORT"),
        ("organization: {enabled: maybe}\n", {}, "config: organization.enabled: expected true or"),
        (
            "organization: {include_accounts: [1234]}\n",
            {},
            "config: organization.include_accounts[0]: expected a string (quote it in YAML)",
        ),
        (
            "organization: {include_accounts: ['1234']}\n",
            {},
            "config: organization.include_accounts: '1234' is not a 12-digit account id",
        ),
        ("rules: {profile: cis-9.9}\n", {}, "config: rules.profile: unknown profile 'cis-9.9'"),
        ("limits: {rates: {cloudtrial: 5}}\n", {}, "config: limits.rates: cloudtrial: unknown"),
        ("limits: {rates: {logs: 5000}}\n", {}, "config: limits.rates: logs: 5000 requests per"),
        ("limits: {rates: {sts: 0.001}}\n", {}, "config: limits.rates: sts: 0.001 requests"),
        ("limits: {retry_mode: eager}\n", {}, "config: limits.retry_mode: must be one of"),
        ("sharding: {shard: 3, total_shards: 3}\n", {}, "config: sharding.shard: must be below"),
        ("regions: {include: [Mars-1]}\n", {}, "config: regions.include: 'Mars-1' is not a region"),
        ("logging: {format: xml}\n", {}, "config: logging.format: must be one of json, console"),
        ("- a\n- b\n", {}, "config: (top level): expected a mapping of sections"),
        ("a: [\n", {}, "config: YAML: line 2 column 1:"),
        (
            "",
            {"SCANNER_SCHEDULE_INTERVL": "1m"},
            "config: SCANNER_SCHEDULE_INTERVL: unknown setting",
        ),
        (
            "",
            {"SCANNER_LIMITS_MAX_IN_FLIGHT": "many"},
            "config: limits.max_in_flight (from SCANNER_LIMITS_MAX_IN_FLIGHT): expected a number",
        ),
        (
            "alerts:\n  slack:\n    - {name: a, url: 'https://h/1', url_env: X}\n",
            {"X": "https://h/2"},
            "config: alerts.slack[0]: give exactly one of url, url_env, url_file",
        ),
        (
            "alerts:\n  alertmanager:\n    - {name: a, url: 'http://am:9093'}\n"
            "    - {name: a, url: 'http://am2:9093'}\n",
            {},
            "config: alerts.alertmanager[1].name: 'a' is already alerts.alertmanager[0]",
        ),
    ],
)
def test_a_mistake_stops_with_one_line_naming_the_field(
    text: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(cfg.ConfigError) as err:
        cfg.parse(text, env)
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)


def test_secrets_are_read_when_used_never_kept_in_the_config(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("first\n")
    token = tmp_path / "token"
    token.write_text("t0ken")
    text = f"""
http: {{bearer_token_file: {token}}}
alerts:
  webhooks:
    - {{name: hook, url: "https://example.com/in", secret_file: {secret}}}
  slack:
    - {{url_env: SLACK_URL}}
  alertmanager:
    - {{url: "http://127.0.0.1:9093"}}
"""
    env = {"SLACK_URL": "https://hooks.slack.test/T000/B000/tok3n9"}
    config = cfg.parse(text, env)
    hook, slack = config.alerts.webhooks[0], config.alerts.slack[0]
    assert hook.read_secret() == b"first"
    secret.write_text("rotated")
    assert hook.read_secret() == b"rotated"
    assert slack.read_url(env) == env["SLACK_URL"]
    assert config.http.read_token() == "t0ken"
    assert [t.name for t in config.alerts.targets] == ["hook", "slack-0", "alertmanager-0"]
    assert "rotated" not in repr(config) and "tok3n9" not in repr(config)


def test_a_secret_that_cannot_be_read_stops_the_daemon_at_start(tmp_path: Path) -> None:
    text = f"alerts:\n  webhooks:\n    - {{url: 'https://e.com', secret_file: {tmp_path}/no}}\n"
    with pytest.raises(cfg.ConfigError, match=r"alerts.webhooks\[0\]: secret_file .* cannot be"):
        cfg.parse(text, {})


def test_a_secret_variable_named_like_a_setting_is_not_an_unknown_setting() -> None:
    text = "http: {bearer_token_env: SCANNER_HTTP_TOKEN}\n"
    config = cfg.parse(text, {"SCANNER_HTTP_TOKEN": "abc"})
    assert config.http.read_token({"SCANNER_HTTP_TOKEN": "abc"}) == "abc"


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


def test_config_check_and_example_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = Lines()
    assert run_config_example(argparse.Namespace(), out) == 0
    good = tmp_path / "good.yaml"
    good.write_text("\n".join(out.lines))
    checked = Lines()
    assert run_config_check(argparse.Namespace(file=str(good)), checked) == 0
    assert checked.lines[0] == f"{good}: valid"
    assert "every 30m (+/- 2m, deadline 20m)" in checked.lines[1]

    bad = tmp_path / "bad.yaml"
    bad.write_text("http:\n  listen: somewhere\n")
    assert run_config_check(argparse.Namespace(file=str(bad)), Lines()) == 2
    err = capsys.readouterr().err
    assert err.startswith("scanner: error: config: http.listen: not HOST:PORT")
    assert err.count("\n") == 1
    assert run_config_check(argparse.Namespace(file=str(tmp_path / "none.yaml")), Lines()) == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_webhook_url_may_come_from_a_secret_file_too(tmp_path: Path) -> None:
    url = tmp_path / "url"
    url.write_text("https://hooks.example.com/in?token=s3cr3t\n")
    secret = tmp_path / "secret"
    secret.write_text("hmac")
    text = f"alerts:\n  webhooks:\n    - {{name: h, url_file: {url}, secret_file: {secret}}}\n"
    hook = cfg.parse(text, {}).alerts.webhooks[0]
    assert hook.read_url() == "https://hooks.example.com/in?token=s3cr3t"
    assert "s3cr3t" not in repr(hook)
    with pytest.raises(cfg.ConfigError, match=r"alerts\.webhooks\[0\]: give exactly one of url"):
        cfg.parse(f"alerts:\n  webhooks:\n    - {{name: h, secret_file: {secret}}}\n", {})


def test_checking_a_configuration_loads_no_aws_sdk() -> None:
    # `scanner config check` and the Helm test validate files; botocore, aiobotocore and aiohttp
    # take seconds to import and have nothing to say about a YAML file.
    import json
    import subprocess
    import sys

    code = (
        "import json, sys, scanner.daemon.config as c; c.parse(c.EXAMPLE, {}); "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    assert not loaded & {"botocore", "aiobotocore", "aiohttp", "asyncio_throttle"}
    assert "yaml" in loaded  # the check above would pass vacuously if nothing was parsed


# --------------------------------------------------------------------------------------------
# Values that would break the daemon later are refused when the file is read.


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        (
            "limits: {rates: {cloudtrail: .inf}}\n",
            {},
            "config: limits.rates.cloudtrail: expected a finite number",
        ),
        (
            "limits: {rates: {cloudtrail: 1.0e-300}}\n",
            {},
            "config: limits.rates: cloudtrail: 1e-300 requests per second is outside 0.01-1000",
        ),
        (
            "limits: {rates: {sts: 5000}}\n",
            {},
            "config: limits.rates: sts: 5000 requests per second is outside 0.01-1000",
        ),
        (
            "limits: {rates: {sts: " + "9" * 400 + "}}\n",
            {},
            "config: limits.rates.sts: expected a finite number",
        ),
        (
            "",
            {"SCANNER_LIMITS_RATES": "cloudtrail=inf"},
            "config: limits.rates.cloudtrail (from SCANNER_LIMITS_RATES): expected a finite",
        ),
        (
            "",
            {"SCANNER_LIMITS_RATES": "cloudtrail=1e309"},
            "config: limits.rates.cloudtrail (from SCANNER_LIMITS_RATES): expected a finite",
        ),
        (
            "",
            {"SCANNER_LIMITS_RATES": "cloudtrail=1e-300"},
            "config: limits.rates (from SCANNER_LIMITS_RATES): cloudtrail: 1e-300 requests per",
        ),
        (
            "",
            {"SCANNER_LIMITS_RATES": "s3=5"},
            "config: limits.rates (from SCANNER_LIMITS_RATES): s3: unknown service (known: ",
        ),
        (
            "schedule: {interval: 99999999999999999999d}\n",
            {},
            "config: schedule.interval: must be at most 365d",
        ),
        (
            "schedule: {interval: 400d}\n",
            {},
            "config: schedule.interval: must be at most 365d",
        ),
        (
            "alerts: {retry: {give_up_after: 9999999999999999999999999}}\n",
            {},
            "config: alerts.retry.give_up_after: must be at most 365d",
        ),
        (
            "",
            {"SCANNER_SCHEDULE_DEADLINE": "99999999999999999999d"},
            "config: schedule.deadline (from SCANNER_SCHEDULE_DEADLINE): must be at most 365d",
        ),
        (
            "organization: {include_accounts: [111111111111]}\n",
            {},
            "config: organization.include_accounts[0]: expected a string (quote it in YAML)",
        ),
        (
            "organization: {exclude_accounts: ['111111111111', 222222222222]}\n",
            {},
            "config: organization.exclude_accounts[1]: expected a string (quote it in YAML)",
        ),
    ],
)
def test_out_of_range_values_stop_with_one_line(
    text: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(cfg.ConfigError) as err:
        cfg.parse(text, env)
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)


def test_a_year_is_the_longest_duration_and_rates_span_a_hundredth_to_a_thousand() -> None:
    config = cfg.parse(
        "schedule: {interval: 365d}\nlimits: {rates: {sts: 1000, organizations: 0.01}}\n", {}
    )
    assert config.schedule.interval == cfg.MAX_DURATION == 365 * 86400
    assert config.limits.rates == {"sts": cfg.MAX_RATE, "organizations": cfg.MIN_RATE}


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


# --------------------------------------------------------------------------------------------
# The JSON Schema (the Helm chart validates its values with it).


def test_the_json_schema_accepts_the_example_and_what_the_daemon_accepts() -> None:
    import jsonschema
    import yaml

    schema = cfg.json_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load(cfg.EXAMPLE), schema)
    text = """
organization: {enabled: true, role_arn: "arn:aws:iam::111111111111:role/hub",
               include_accounts: ["111111111111"]}
regions: {include: [us-east-1, eu-west-1]}
schedule: {interval: 1h30m, jitter: 90, deadline: 45m}
limits: {rates: {organizations: 1, sts: 5.5}, retry_mode: adaptive}
alerts: {slack: [{name: s, url: "https://hooks.slack.test/x"}]}
endpoint_url: http://127.0.0.1:5000
"""
    cfg.parse(text, {})
    jsonschema.validate(yaml.safe_load(text), schema)


@pytest.mark.parametrize(
    "text",
    [
        "schedule: {intervall: 5m}\n",
        "schedul: {interval: 5m}\n",
        "schedule: {interval: 5 minutes}\n",
        "schedule: {interval: 0}\n",
        "limits: {rates: {cloudtrial: 5}}\n",
        "limits: {rates: {cloudtrail: 5000}}\n",
        "limits: {rates: {cloudtrail: 0.001}}\n",
        "limits: {retry_mode: eager}\n",
        "limits: {max_in_flight: 0}\n",
        "organization: {include_accounts: [111111111111]}\n",
        "organization: {include_accounts: ['1234']}\n",
        "organization: {enabled: maybe}\n",
        "regions: {include: [Mars-1]}\n",
        "rules: {profile: cis-9.9}\n",
        "http: {listen: localhost}\n",
        "alerts: {alertmanager: [{url: 'ftp://am'}]}\n",
        "logging: {level: loud}\n",
    ],
)
def test_the_json_schema_refuses_what_the_daemon_refuses(text: str) -> None:
    import jsonschema
    import yaml

    with pytest.raises(cfg.ConfigError):
        cfg.parse(text, {})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(text), cfg.json_schema())


def test_config_schema_command_prints_the_json_schema() -> None:
    import json

    out = Lines()
    assert run_config_schema(argparse.Namespace(), out) == 0
    assert json.loads("\n".join(out.lines)) == cfg.json_schema()
