"""The daemon's configuration: a YAML file, ``SCANNER_<SECTION>_<FIELD>`` overrides, one error line.

The schema IS the frozen dataclasses below: their fields, types and defaults are the keys, and
field metadata adds the few checks a type cannot say (a duration, an http(s) URL, a listen
address, a choice). One generic converter walks a dataclass against the YAML mapping, so there is
exactly one place where a key is known, parsed and validated, and every error names its field
the way a user wrote it: ``alerts.webhooks[0].url: not a valid http(s) URL``.

Environment overrides are derived from the same schema: every field reachable through sections
(not through lists of targets) is ``SCANNER_`` + its path in upper case, e.g.
``SCANNER_SCHEDULE_INTERVAL=15m``, ``SCANNER_HTTP_LISTEN=0.0.0.0:9108``,
``SCANNER_ORGANIZATION_INCLUDE_ACCOUNTS=111111111111,222222222222``,
``SCANNER_LIMITS_RATES=organizations=1,sts=5``. They win over the file. A ``SCANNER_<SECTION>_*``
variable that names no field is an error (a typo must not be silently ignored), unless the
configuration itself names it as a secret's variable.

Secrets (webhook secrets, Slack URLs, the bearer token) are never stored here: the config holds
where to read them (a file or a variable), :func:`load` checks that they can be read, and their
owners read them when they use them, so a rotated secret file needs no restart and a config
object can be logged or printed without leaking anything.
"""

from __future__ import annotations

import dataclasses
import importlib
import ipaddress
import math
import os
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scanner.aws import ScanOptions
from scanner.aws.credentials import DEFAULT_MEMBER_ROLE
from scanner.aws.gateway import DEFAULT_MAX_IN_FLIGHT, DEFAULT_RATES
from scanner.aws.scan import DEFAULT_ACCOUNT_CONCURRENCY
from scanner.catalog import load_catalog
from scanner.errors import ConfigError

ENV_PREFIX = "SCANNER_"
DEFAULT_LISTEN = "127.0.0.1:9108"  # a workstation; the container image sets 0.0.0.0:9108


# --------------------------------------------------------------------------------------------
# Checks named in field metadata: value -> problem (None when fine).

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_ACCOUNT_ID = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/\S+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_duration(text: str) -> float:
    """``"1h30m"`` -> 5400.0; raises ValueError. Units: ms, s, m, h, d, w."""
    compact = text.strip().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"not a duration: {text!r} (write e.g. 30s, 15m, 1h30m, 7d)")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of ``seconds`` in the units :func:`parse_duration` reads."""
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size and float(seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{seconds:g}s"


def parse_listen(text: str) -> tuple[str, int]:
    """``"HOST:PORT"`` (IPv6 as ``[::1]:9108``) -> (host, port); raises ValueError."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"not HOST:PORT: {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        ipaddress.IPv6Address(host)  # ValueError when it is not one
    elif not host or ":" in host or not re.fullmatch(r"[A-Za-z0-9.-]+", host):
        raise ValueError(f"not HOST:PORT: {text!r}")
    return host, int(port_text)


def _is_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not a valid http(s) URL"
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "not a valid http(s) URL"
    return None


def _is_listen(value: str) -> str | None:
    try:
        parse_listen(value)
    except ValueError:
        return "not HOST:PORT (e.g. 127.0.0.1:9108, 0.0.0.0:9108, [::]:9108)"
    return None


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        values = value if isinstance(value, tuple) else (value,)
        for item in values:
            if item is not None and not pattern.fullmatch(str(item)):
                return f"{item!r} is not {what}"
        return None

    return check


def _choice(*allowed: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}"

    return check


def _at_least(minimum: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value >= minimum else f"must be at least {minimum:g}"

    return check


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _rates(value: Mapping[str, float]) -> str | None:
    for service, rate in value.items():
        if service not in DEFAULT_RATES:
            return f"{service}: unknown service (known: {', '.join(sorted(DEFAULT_RATES))})"
        if not rate > 0:
            return f"{service}: must be greater than 0 requests per second"
    return None


def _profile(value: str) -> str | None:
    names = [p.name for p in load_catalog().profiles]
    return None if value in names else f"unknown profile {value!r} (known: {', '.join(names)})"


def _check(check: Callable[[Any], str | None], *, duration: bool = False) -> dict[str, Any]:
    return {"check": check, "duration": duration}


_DURATION_FIELD = {"duration": True, "check": _positive}
_ACCOUNTS = _check(_matching(_ACCOUNT_ID, "a 12-digit account id"))
_ENV = _check(_matching(_ENV_NAME, "an environment variable name"))


# --------------------------------------------------------------------------------------------
# The schema.


@dataclass(frozen=True)
class OrganizationConfig:
    enabled: bool = False
    role_arn: str | None = field(default=None, metadata=_check(_matching(_ROLE_ARN, "a role ARN")))
    member_role_name: str = DEFAULT_MEMBER_ROLE
    external_id: str | None = None
    include_accounts: tuple[str, ...] = field(default=(), metadata=_ACCOUNTS)
    exclude_accounts: tuple[str, ...] = field(default=(), metadata=_ACCOUNTS)
    include_ous: tuple[str, ...] = ()
    exclude_ous: tuple[str, ...] = ()
    account_list_refresh: float = field(default=3600.0, metadata=_DURATION_FIELD)


@dataclass(frozen=True)
class RegionsConfig:
    include: tuple[str, ...] = field(default=(), metadata=_check(_matching(_REGION, "a region")))
    exclude: tuple[str, ...] = field(default=(), metadata=_check(_matching(_REGION, "a region")))


@dataclass(frozen=True)
class RulesConfig:
    profile: str = field(default="recommended", metadata=_check(_profile))


@dataclass(frozen=True)
class ScheduleConfig:
    interval: float = field(default=1800.0, metadata=_DURATION_FIELD)
    jitter: float = field(default=120.0, metadata={"duration": True, "check": _at_least(0)})
    deadline: float = field(default=1200.0, metadata=_DURATION_FIELD)


@dataclass(frozen=True)
class LimitsConfig:
    rates: Mapping[str, float] = field(default_factory=dict, metadata=_check(_rates))
    max_in_flight: int = field(default=DEFAULT_MAX_IN_FLIGHT, metadata=_check(_at_least(1)))
    retry_mode: str = field(default="standard", metadata=_check(_choice("standard", "adaptive")))
    max_attempts: int = field(default=5, metadata=_check(_at_least(1)))
    account_concurrency: int = field(
        default=DEFAULT_ACCOUNT_CONCURRENCY, metadata=_check(_at_least(1))
    )


@dataclass(frozen=True)
class HttpConfig:
    listen: str = field(default=DEFAULT_LISTEN, metadata=_check(_is_listen))
    bearer_token_file: str | None = None
    bearer_token_env: str | None = field(default=None, metadata=_ENV)

    def read_token(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The bearer token /api/ requires, read now (a rotated file needs no restart)."""
        return _read_secret(self.bearer_token_file, self.bearer_token_env, environ)

    @property
    def address(self) -> tuple[str, int]:
        return parse_listen(self.listen)


@dataclass(frozen=True)
class StateConfig:
    path: str = "scanner-state.db"  # ":memory:" keeps nothing across restarts


@dataclass(frozen=True)
class _UrlTarget:
    """A target whose URL may itself be a secret (a Slack URL is the credential; a webhook's
    may carry a token): written in the config, or read from a file or an environment variable."""

    name: str = ""
    url: str | None = field(default=None, metadata=_check(lambda v: v and _is_url(v)))
    url_env: str | None = field(default=None, metadata=_ENV)
    url_file: str | None = None

    def read_url(self, environ: Mapping[str, str] | None = None) -> str:
        if self.url:
            return self.url
        url = _read_secret(self.url_file, self.url_env, environ)
        if url is None:
            raise ConfigError(self.name, "no url, url_env or url_file")
        return url


@dataclass(frozen=True)
class WebhookConfig(_UrlTarget):
    """A generic webhook; its body is signed with HMAC-SHA256 of the shared secret."""

    secret_file: str | None = None
    secret_env: str | None = field(default=None, metadata=_ENV)

    def read_secret(self, environ: Mapping[str, str] | None = None) -> bytes:
        secret = _read_secret(self.secret_file, self.secret_env, environ)
        if secret is None:  # load() guarantees one source; this only guards misuse
            raise ConfigError(self.name, "no secret_file or secret_env")
        return secret.encode()


@dataclass(frozen=True)
class SlackConfig(_UrlTarget):
    """A Slack-compatible incoming webhook; its URL is a secret, so it may come from elsewhere."""


@dataclass(frozen=True)
class AlertmanagerConfig:
    """An Alertmanager; alerts are POSTed to ``<url>/api/v2/alerts``."""

    name: str = ""
    url: str = field(default="", metadata=_check(_is_url))


@dataclass(frozen=True)
class RetryConfig:
    initial: float = field(default=5.0, metadata=_DURATION_FIELD)
    max: float = field(default=600.0, metadata=_DURATION_FIELD)
    give_up_after: float = field(default=7 * 86400.0, metadata=_DURATION_FIELD)


@dataclass(frozen=True)
class AlertsConfig:
    error_after_scans: int = field(default=3, metadata=_check(_at_least(1)))
    webhooks: tuple[WebhookConfig, ...] = ()
    slack: tuple[SlackConfig, ...] = ()
    alertmanager: tuple[AlertmanagerConfig, ...] = ()
    retry: RetryConfig = RetryConfig()

    @property
    def targets(self) -> tuple[WebhookConfig | SlackConfig | AlertmanagerConfig, ...]:
        """Every target, each with its unique name (the outbox is kept per name)."""
        return (*self.webhooks, *self.slack, *self.alertmanager)


@dataclass(frozen=True)
class ShardingConfig:
    shard: int = field(default=0, metadata=_check(_at_least(0)))
    total_shards: int = field(default=1, metadata=_check(_at_least(1)))
    pod_name_env: str = field(default="", metadata=_check(lambda v: v and _ENV["check"](v)))


@dataclass(frozen=True)
class LoggingConfig:
    format: str = field(default="json", metadata=_check(_choice("json", "console")))
    level: str = field(
        default="info", metadata=_check(_choice("debug", "info", "warning", "error"))
    )


@dataclass(frozen=True)
class Config:
    organization: OrganizationConfig = OrganizationConfig()
    regions: RegionsConfig = RegionsConfig()
    rules: RulesConfig = RulesConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    limits: LimitsConfig = LimitsConfig()
    http: HttpConfig = HttpConfig()
    state: StateConfig = StateConfig()
    alerts: AlertsConfig = AlertsConfig()
    sharding: ShardingConfig = ShardingConfig()
    logging: LoggingConfig = LoggingConfig()
    endpoint_url: str | None = field(default=None, metadata=_check(lambda v: v and _is_url(v)))

    def scan_options(self, include_accounts: tuple[str, ...] | None = None) -> ScanOptions:
        """The collector's options; ``include_accounts`` replaces the organization filters."""
        org = self.organization
        only = include_accounts is not None
        return dataclasses.replace(
            self._base_options(),
            include_accounts=include_accounts
            if include_accounts is not None
            else org.include_accounts,
            exclude_accounts=() if only else org.exclude_accounts,
            include_ous=() if only else org.include_ous,
            exclude_ous=() if only else org.exclude_ous,
        )

    def _base_options(self) -> ScanOptions:
        org = self.organization
        return ScanOptions(
            organization=org.enabled,
            role_arn=org.role_arn,
            member_role_name=org.member_role_name,
            external_id=org.external_id,
            regions=self.regions.include,
            exclude_regions=self.regions.exclude,
            endpoint_url=self.endpoint_url or None,
            rate_limits=dict(self.limits.rates),
            max_in_flight=self.limits.max_in_flight,
            retry_mode=self.limits.retry_mode,
            max_attempts=self.limits.max_attempts,
            account_concurrency=self.limits.account_concurrency,
        )

    def replace(self, section: str, **changes: Any) -> Config:
        """A copy with some fields of one section changed (command-line options win)."""
        return dataclasses.replace(
            self, **{section: dataclasses.replace(getattr(self, section), **changes)}
        )


# --------------------------------------------------------------------------------------------
# The generic converter.


class _FromEnv(str):
    """A value taken from an environment variable: parsed from text, named in errors."""

    variable: str

    def __new__(cls, text: str, variable: str) -> _FromEnv:
        made = super().__new__(cls, text)
        made.variable = variable
        return made


def _where(path: str, value: Any) -> str:
    return f"{path} (from {value.variable})" if isinstance(value, _FromEnv) else path


def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _convert(value: Any, tp: Any, path: str, meta: Mapping[str, Any]) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(value, inner, path, meta)
    if _is_dataclass_type(tp):
        return _section(value, tp, path)
    if origin is tuple:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if not isinstance(value, list):
            raise ConfigError(_where(path, value), "expected a list")
        return tuple(_convert(item, args[0], f"{path}[{i}]", meta) for i, item in enumerate(value))
    if origin is Mapping or origin is dict:
        if isinstance(value, _FromEnv):
            value = _env_mapping(value, path)
        if not isinstance(value, dict):
            raise ConfigError(_where(path, value), "expected a mapping")
        return {
            str(key): _convert(item, args[1], f"{path}.{key}", meta) for key, item in value.items()
        }
    return _scalar(value, tp, path, meta)


def _env_mapping(value: _FromEnv, path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(_where(path, value), f"expected KEY=VALUE pairs, got {item!r}")
        out[key.strip()] = _FromEnv(text.strip(), value.variable)
    return out


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _scalar(value: Any, tp: Any, path: str, meta: Mapping[str, Any]) -> Any:
    where = _where(path, value)
    from_env = isinstance(value, _FromEnv)
    if tp is bool:
        if from_env and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        if isinstance(value, bool):
            return value
        raise ConfigError(where, "expected true or false")
    if tp is float and meta.get("duration"):
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except ValueError as err:
                raise ConfigError(where, str(err)) from None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(where, "expected a duration (e.g. 30s, 15m, 1h30m, 7d)")
    if tp is int or tp is float:
        if from_env:
            try:
                value = tp(value)
            except ValueError:
                raise ConfigError(where, f"expected a number, got {str(value)!r}") from None
        number_types = (int,) if tp is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, number_types):
            raise ConfigError(where, "expected an integer" if tp is int else "expected a number")
        if tp is float and not math.isfinite(value):
            raise ConfigError(where, "expected a finite number")
        return tp(value)
    if tp is str:
        if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) == 12:
            return str(value)  # an unquoted account id
        if not isinstance(value, str):
            raise ConfigError(where, "expected a string (quote it in YAML)")
        return str(value)
    raise TypeError(f"{path}: unsupported type {tp!r}")  # a schema bug, not a user error


def _section(value: Any, cls: type[Any], path: str) -> Any:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(_where(path, value) or "(top level)", "expected a mapping")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in value:
        if key not in fields:
            known = ", ".join(fields)
            raise ConfigError(_join(path, str(key)), f"unknown key (known: {known})")
    kwargs: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in value:
            continue
        where = _join(path, name)
        converted = _convert(value[name], hints[name], where, spec.metadata)
        check = spec.metadata.get("check")
        problem = check(converted) if check is not None and converted is not None else None
        if problem:
            raise ConfigError(_where(where, value[name]), problem)
        kwargs[name] = converted
    return cls(**kwargs)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --------------------------------------------------------------------------------------------
# Environment overrides, derived from the schema.


def env_variables() -> dict[str, tuple[str, ...]]:
    """``SCANNER_SCHEDULE_INTERVAL -> ("schedule", "interval")`` for every overridable field."""
    out: dict[str, tuple[str, ...]] = {}

    def walk(cls: type[Any], path: tuple[str, ...]) -> None:
        for name, tp in _hints(cls).items():
            if _is_dataclass_type(tp):
                walk(tp, (*path, name))
            elif not (
                typing.get_origin(tp) is tuple and _is_dataclass_type(typing.get_args(tp)[0])
            ):
                out[ENV_PREFIX + "_".join((*path, name)).upper()] = (*path, name)

    walk(Config, ())
    return out


def _sections() -> tuple[str, ...]:
    return tuple(name for name, tp in _hints(Config).items() if _is_dataclass_type(tp))


def _apply_env(
    raw: dict[str, Any], environ: Mapping[str, str], options: Mapping[str, tuple[str, str]]
) -> list[str]:
    """Put the overrides into ``raw``; the names of SCANNER_<SECTION>_* variables left unknown.

    ``options`` are command-line overrides, by variable name: (the option, its text); they win.
    """
    known = env_variables()
    prefixes = tuple(f"{ENV_PREFIX}{section.upper()}_" for section in _sections())
    unknown: list[str] = []
    given = [(variable, variable, text) for variable, text in sorted(environ.items())]
    given += [(variable, label, text) for variable, (label, text) in options.items()]
    for variable, label, text in given:
        path = known.get(variable)
        if path is None:
            if variable.startswith(prefixes):
                unknown.append(variable)
            continue
        node = raw
        for i, key in enumerate(path[:-1]):
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                raise ConfigError(".".join(path[: i + 1]), "expected a mapping")
            node = child
        node[path[-1]] = _FromEnv(text, label)
    return unknown


def _referenced_variables(config: Config) -> set[str]:
    names = {config.http.bearer_token_env, config.sharding.pod_name_env}
    names |= {t.secret_env for t in config.alerts.webhooks}
    names |= {t.url_env for t in (*config.alerts.webhooks, *config.alerts.slack)}
    return {n for n in names if n}


# --------------------------------------------------------------------------------------------
# Secrets and cross-field rules.


def _read_secret(
    path: str | None, variable: str | None, environ: Mapping[str, str] | None
) -> str | None:
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    if variable:
        return (os.environ if environ is None else environ).get(variable, "").strip() or None
    return None


def _secret_problem(
    path: str | None, variable: str | None, environ: Mapping[str, str], what: str
) -> str | None:
    if path and variable:
        return f"give {what}_file or {what}_env, not both"
    if path:
        try:
            if not Path(path).read_text(encoding="utf-8").strip():
                return f"{what}_file {path} is empty"
        except (OSError, UnicodeDecodeError) as err:
            return f"{what}_file {path} cannot be read: {getattr(err, 'strerror', None) or err}"
    if variable and not environ.get(variable, "").strip():
        return f"{what}_env: environment variable {variable} is not set"
    return None


def _validate(config: Config, environ: Mapping[str, str]) -> Config:
    schedule = config.schedule
    if schedule.jitter >= schedule.interval:
        raise ConfigError("schedule.jitter", "must be shorter than schedule.interval")
    sharding = config.sharding
    if sharding.shard >= sharding.total_shards:
        raise ConfigError(
            "sharding.shard", f"must be below sharding.total_shards ({sharding.total_shards})"
        )
    if config.alerts.retry.initial > config.alerts.retry.max:
        raise ConfigError("alerts.retry.initial", "must not be longer than alerts.retry.max")
    problem = _secret_problem(
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
    if isinstance(target, _UrlTarget):
        problem = _url_problem(target, environ)
        if problem or not isinstance(target, WebhookConfig):
            return problem
        if not (target.secret_file or target.secret_env):
            return "secret_file or secret_env: required (the body is signed with it)"
        return _secret_problem(target.secret_file, target.secret_env, environ, "secret")
    if isinstance(target, AlertmanagerConfig) and not target.url:
        return "url: required"
    return None


def _url_problem(target: _UrlTarget, environ: Mapping[str, str]) -> str | None:
    sources = [s for s in (target.url, target.url_env, target.url_file) if s]
    if len(sources) != 1:
        return "give exactly one of url, url_env, url_file"
    if target.url:
        return None
    problem = _secret_problem(target.url_file, target.url_env, environ, "url")
    if problem:
        return problem
    url_problem = _is_url(target.read_url(environ))
    return (
        f"the URL read from {target.url_file or target.url_env}: {url_problem}"
        if url_problem
        else None
    )


# --------------------------------------------------------------------------------------------
# Entry points.


def parse(
    text: str,
    environ: Mapping[str, str] | None = None,
    source: str = "",
    options: Mapping[str, tuple[str, str]] | None = None,
) -> Config:
    """Validate YAML text (plus the environment's overrides); raises :class:`ConfigError`."""
    yaml: Any = importlib.import_module("yaml")  # PyYAML ships no type hints
    try:
        raw = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(source or "YAML", f"{at}{problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(source or "(top level)", "expected a mapping of sections")
    return from_mapping(raw, environ, options)


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
    unknown = _apply_env(tree, env, options or {})
    config = _validate(_section(tree, Config, ""), env)
    unknown = [v for v in unknown if v not in _referenced_variables(config)]
    if unknown:
        raise ConfigError(
            unknown[0], "unknown setting (no such field; see 'scanner config example')"
        )
    return config


def _copy(value: Any) -> Any:
    """Nested dicts copied (overrides are written into them), other values shared."""
    return {k: _copy(v) for k, v in value.items()} if isinstance(value, dict) else value


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
            str(path), f"cannot read: {getattr(err, 'strerror', None) or err}"
        ) from None
    return parse(text, environ, str(path), options)


EXAMPLE = """\
# scanner serve --config scanner.yaml
# Every field may be overridden by an environment variable SCANNER_<SECTION>_<FIELD>,
# e.g. SCANNER_SCHEDULE_INTERVAL=15m or SCANNER_HTTP_LISTEN=0.0.0.0:9108; lists are
# comma-separated, mappings KEY=VALUE,KEY=VALUE. Durations: 30s, 15m, 1h30m, 7d.

organization:
  enabled: true                      # every account of the organization (else the caller's)
  role_arn: null                     # a hub role assumed first, e.g.
                                     # arn:aws:iam::111111111111:role/scanner-hub
  member_role_name: OrganizationAccountAccessRole   # assumed in every member account
  external_id: null
  include_accounts: []               # account ids (quote them); empty: all
  exclude_accounts: []
  include_ous: []                    # OU or root ids, e.g. ou-ab12-cdef3456
  exclude_ous: []
  account_list_refresh: 1h           # Organizations tolerates little traffic

regions:
  include: []                        # empty: every enabled region
  exclude: []

rules:
  profile: recommended               # see 'scanner rules list'; e.g. cis-5.0, securityhub

schedule:
  interval: 30m                      # a first scan at start-up, then one every interval
  jitter: 2m                         # +/- this much, so replicas do not scan in step
  deadline: 20m                      # a scan still running after this is abandoned

limits:
  rates: {}                          # requests per second per account, region and service,
                                     # e.g. {organizations: 1, sts: 5}
  max_in_flight: 64
  retry_mode: standard               # or adaptive
  max_attempts: 5
  account_concurrency: 8

http:
  listen: 127.0.0.1:9108             # 0.0.0.0:9108 in a container
  bearer_token_file: null            # if set, /api/ requires 'Authorization: Bearer <token>'
  bearer_token_env: null             # ... or the token from this environment variable

state:
  path: scanner-state.db             # SQLite; ":memory:" keeps nothing across restarts

alerts:
  error_after_scans: 3               # alert on ERROR only once it lasted this many scans
  webhooks: []
  #  - name: security-hub-relay
  #    url: https://hooks.example.com/scanner
  #    secret_env: SCANNER_WEBHOOK_SECRET   # or secret_file: /run/secrets/webhook
  slack: []
  #  - name: secops
  #    url_env: SLACK_WEBHOOK_URL           # or url_file:, or url: (it is a secret)
  alertmanager: []
  #  - name: alertmanager
  #    url: http://alertmanager:9093
  retry:
    initial: 5s                      # exponential backoff with jitter between attempts
    max: 10m
    give_up_after: 7d

sharding:
  shard: 0                           # this replica's ordinal ...
  total_shards: 1                    # ... among this many; accounts split by sha256(id) mod N
  pod_name_env: ""                   # e.g. POD_NAME: the ordinal from a StatefulSet pod name

logging:
  format: json                       # or console
  level: info

endpoint_url: null                   # an AWS-compatible endpoint (moto, LocalStack)
"""


__all__ = [
    "EXAMPLE",
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
    "ScheduleConfig",
    "ShardingConfig",
    "SlackConfig",
    "StateConfig",
    "WebhookConfig",
    "env_variables",
    "format_duration",
    "from_mapping",
    "load",
    "parse",
    "parse_duration",
    "parse_listen",
]
