"""The entry points: the example, the defaults, one line per mistake, the commands, imports."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from cli_run import one_error_line
from daemon.config.refusals import assert_refused

from scanner.cli.serve import run_config_check, run_config_example, run_config_schema
from scanner.daemon import config as cfg


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
        ("state: {keep_history: 12h}\n", {}, "config: state.keep_history: must be at least 1d"),
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
    assert_refused(text, env, message)


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
    assert not loaded & {"botocore", "aiobotocore", "aiohttp"}
    assert "yaml" in loaded  # the check above would pass vacuously if nothing was parsed


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str = "") -> None:
        self.lines.append(text)


def test_config_check_and_example_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The handlers, not scanner.cli.main: main() points structlog at this test's captured stderr,
    # which later tests in this process would then write to after it is closed.
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
    assert one_error_line(err).startswith(
        f"scanner: error: config: {bad}: line 2: http.listen: not HOST:PORT"
    )
    assert run_config_check(argparse.Namespace(file=str(tmp_path / "none.yaml")), Lines()) == 2
    assert "cannot read" in one_error_line(capsys.readouterr().err)
    twice = tmp_path / "twice.yaml"
    twice.write_text("schedule:\n  interval: 5m\nschedule: {}\n")
    assert run_config_check(argparse.Namespace(file=str(twice)), Lines()) == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"scanner: error: config: {twice}: line 3 column 1: duplicate key 'schedule' "
        "(first on line 1)"
    )


def test_config_schema_command_prints_the_json_schema() -> None:
    out = Lines()
    assert run_config_schema(argparse.Namespace(), out) == 0
    assert json.loads("\n".join(out.lines)) == cfg.json_schema()
