"""The entry points: YAML text, a mapping or a file -> a valid :class:`Config`, or one error line.

Order: the YAML is parsed; the environment's and the command line's overrides are written into
it; the converter builds the dataclasses field by field; then the rules no single field can
check (jitter below interval, shard below total, each alert target's name unique and its
secrets readable) run on the whole. Every failure is a :class:`~scanner.errors.ConfigError`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from scanner.daemon.config.checks import is_url
from scanner.daemon.config.convert import section
from scanner.daemon.config.env import apply_env, referenced_variables
from scanner.daemon.config.schema import AlertmanagerConfig, Config, UrlTarget, WebhookConfig
from scanner.daemon.config.secrets import secret_problem
from scanner.daemon.config.yamlfile import located, read_yaml
from scanner.errors import ConfigError

# A commented configuration spelling out every default (``scanner config example``).
EXAMPLE = resources.files(__package__).joinpath("example.yaml").read_text(encoding="utf-8")


def parse(
    text: str,
    environ: Mapping[str, str] | None = None,
    source: str = "",
    options: Mapping[str, tuple[str, str]] | None = None,
) -> Config:
    """Validate YAML text (plus the environment's overrides); raises :class:`ConfigError`."""
    raw = read_yaml(text, source) if text.strip() else {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("(top level)", "expected a mapping of sections", file=source)
    try:
        return from_mapping(raw, environ, options)
    except ConfigError as err:  # the checks saw data: the file and line come from the text
        raise located(err, text, source) from None


def from_mapping(
    raw: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    options: Mapping[str, tuple[str, str]] | None = None,
) -> Config:
    """Validate a configuration given as data (what the YAML file holds), with overrides.

    ``options``: command-line overrides by variable name, ``{"SCANNER_HTTP_LISTEN":
    ("--listen", "0.0.0.0:9108")}``; errors name the option.
    """
    env = os.environ if environ is None else environ
    tree = _copy(raw)
    unknown = apply_env(tree, env, options or {})
    config = _validate(section(tree, Config, ""), env)
    unknown = [v for v in unknown if v not in referenced_variables(config)]
    if unknown:
        raise ConfigError(
            unknown[0], "unknown setting (no such field; see 'scanner config example')"
        )
    return config


def load(
    path: str | Path | None,
    environ: Mapping[str, str] | None = None,
    options: Mapping[str, tuple[str, str]] | None = None,
) -> Config:
    """The configuration in ``path`` (None: defaults) with the environment's overrides."""
    if path is None:
        return from_mapping({}, environ, options)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(
            "", f"cannot read: {getattr(err, 'strerror', None) or err}", file=str(path)
        ) from None
    return parse(text, environ, str(path), options)


def _copy(value: Any) -> Any:
    """Nested dicts copied (overrides are written into them), other values shared."""
    return {k: _copy(v) for k, v in value.items()} if isinstance(value, dict) else value


# --------------------------------------------------------------------------------------------
# Rules across fields, and the alert targets' secrets.


def _validate(config: Config, environ: Mapping[str, str]) -> Config:
    schedule = config.schedule
    if schedule.jitter >= schedule.interval:
        raise ConfigError("schedule.jitter", "must be shorter than schedule.interval")
    sharding = config.sharding
    if sharding.shard >= sharding.total_shards:
        raise ConfigError(
            "sharding.shard", f"must be below sharding.total_shards ({sharding.total_shards})"
        )
    events = config.events
    if events.enabled and not events.queue_urls:
        raise ConfigError("events.queue_urls", "events.enabled needs at least one queue URL")
    if len(events.queue_urls) > 1 and len(events.queue_urls) != sharding.total_shards:
        raise ConfigError(
            "events.queue_urls",
            f"give one queue for every shard, or one for all: {len(events.queue_urls)} queues"
            f" for sharding.total_shards {sharding.total_shards}",
        )
    if config.rules.suppressions:  # a bad file stops the start (and `config check`), not a scan
        from scanner.daemon.config.suppressions import load_suppressions

        load_suppressions(config.rules.suppressions)
    if config.alerts.retry.initial > config.alerts.retry.max:
        raise ConfigError("alerts.retry.initial", "must not be longer than alerts.retry.max")
    problem = secret_problem(
        config.http.bearer_token_file, config.http.bearer_token_env, environ, "bearer_token"
    )
    if problem:
        raise ConfigError("http", problem)
    alerts = config.alerts
    names: dict[str, str] = {}
    kinds: list[tuple[str, tuple[Any, ...]]] = [
        ("webhooks", alerts.webhooks),
        ("slack", alerts.slack),
        ("alertmanager", alerts.alertmanager),
    ]
    renamed: dict[str, list[Any]] = {}
    for kind, targets in kinds:
        for i, given in enumerate(targets):
            where = f"alerts.{kind}[{i}]"
            target = given if given.name else dataclasses.replace(given, name=f"{kind}-{i}")
            if target.name in names:
                raise ConfigError(
                    f"{where}.name", f"{target.name!r} is already {names[target.name]}"
                )
            names[target.name] = where
            problem = _target_problem(target, environ)
            if problem:
                raise ConfigError(where, problem)
            renamed.setdefault(kind, []).append(target)
    alerts = dataclasses.replace(
        alerts,
        webhooks=tuple(renamed.get("webhooks", ())),
        slack=tuple(renamed.get("slack", ())),
        alertmanager=tuple(renamed.get("alertmanager", ())),
    )
    return dataclasses.replace(config, alerts=alerts)


def _target_problem(target: Any, environ: Mapping[str, str]) -> str | None:
    if isinstance(target, UrlTarget):
        problem = _url_problem(target, environ)
        if problem or not isinstance(target, WebhookConfig):
            return problem
        if not (target.secret_file or target.secret_env):
            return "secret_file or secret_env: required (the body is signed with it)"
        return secret_problem(target.secret_file, target.secret_env, environ, "secret")
    if isinstance(target, AlertmanagerConfig) and not target.url:
        return "url: required"
    return None


def _url_problem(target: UrlTarget, environ: Mapping[str, str]) -> str | None:
    sources = [s for s in (target.url, target.url_env, target.url_file) if s]
    if len(sources) != 1:
        return "give exactly one of url, url_env, url_file"
    if target.url:
        return None
    problem = secret_problem(target.url_file, target.url_env, environ, "url")
    if problem:
        return problem
    url_problem = is_url(target.read_url(environ))
    return (
        f"the URL read from {target.url_file or target.url_env}: {url_problem}"
        if url_problem
        else None
    )


__all__ = ["EXAMPLE", "from_mapping", "load", "parse"]
