"""The JSON Schema (the Helm chart validates its values with it) agrees with the daemon."""

from __future__ import annotations

import pytest

from scanner.daemon import config as cfg


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
        "http: {listen: '127.0.0.1:0'}\n",
        "http: {listen: '[::]:00'}\n",
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
