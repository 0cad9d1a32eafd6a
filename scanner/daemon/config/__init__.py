"""The daemon's configuration: a YAML file, ``SCANNER_<SECTION>_<FIELD>`` overrides, one error line.

This layer turns what an operator wrote (the file, the environment, the command line) into one
frozen, fully checked :class:`Config`, or into a single :class:`~scanner.errors.ConfigError`
line naming the field (``config: alerts.webhooks[0].url: not a valid http(s) URL``). It decides
nothing about scans; the rest of the daemon reads a :class:`Config` and never the raw file.

The schema IS the dataclasses of :mod:`.schema`; everything else is derived from them, so a key
is declared in one place: :mod:`.checks` (single values: durations, HOST:PORT, URLs, ids, rate
limits; ``checks.rates`` is also ``--rate-limit``'s rule), :mod:`.convert` (mapping ->
dataclasses over :class:`scanner.model.codec.Decoder`, errors with the field's path),
:mod:`.env` (the overrides), :mod:`.secrets` (read from files or variables when used, never
stored here, so a config can be printed and a rotated secret needs no restart),
:mod:`.yamlfile` (YAML without duplicate keys or runaway nesting), :mod:`.load` (the entry
points and the rules across fields), :mod:`.jsonschema` (the JSON Schema the Helm chart
validates its values with) and ``example.yaml`` (``scanner config example``).

It imports nothing of the AWS SDK: checking a file does not load botocore.

This module only re-exports.
"""

from __future__ import annotations

from scanner.daemon.config.checks import (
    MAX_DURATION,
    MAX_RATE,
    MIN_RATE,
    format_duration,
    parse_duration,
    parse_listen,
)
from scanner.daemon.config.env import env_variables
from scanner.daemon.config.jsonschema import json_schema
from scanner.daemon.config.load import EXAMPLE, from_mapping, load, parse
from scanner.daemon.config.schema import (
    AlertmanagerConfig,
    AlertsConfig,
    Config,
    HttpConfig,
    LimitsConfig,
    LoggingConfig,
    OrganizationConfig,
    RegionsConfig,
    RetryConfig,
    RulesConfig,
    ScanConfig,
    ScheduleConfig,
    ShardingConfig,
    SlackConfig,
    StateConfig,
    WebhookConfig,
)
from scanner.errors import ConfigError

__all__ = [
    "EXAMPLE",
    "MAX_DURATION",
    "MAX_RATE",
    "MIN_RATE",
    "AlertmanagerConfig",
    "AlertsConfig",
    "Config",
    "ConfigError",
    "HttpConfig",
    "LimitsConfig",
    "LoggingConfig",
    "OrganizationConfig",
    "RegionsConfig",
    "RetryConfig",
    "RulesConfig",
    "ScanConfig",
    "ScheduleConfig",
    "ShardingConfig",
    "SlackConfig",
    "StateConfig",
    "WebhookConfig",
    "env_variables",
    "format_duration",
    "from_mapping",
    "json_schema",
    "load",
    "parse",
    "parse_duration",
    "parse_listen",
]
