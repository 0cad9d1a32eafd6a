"""The schema: the frozen dataclasses whose fields, types and defaults ARE the configuration keys.

Field metadata adds what a type cannot say: ``check`` (a function of :mod:`.checks` returning
the problem with a value) and ``duration`` (the float is written ``30s``, ``15m``, ``1h30m``).
Everything else (the converter, the environment overrides, the example, the JSON schema) is
derived from these classes, so a key is declared exactly once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scanner.aws_defaults import (
    DEFAULT_ACCOUNT_CONCURRENCY,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MEMBER_ROLE,
    DEFAULT_PATIENCE,
)
from scanner.daemon.config import checks
from scanner.daemon.config.checks import (
    ACCOUNT_ID,
    ENV_NAME,
    REGION,
    ROLE_ARN,
    Check,
    at_least,
    at_least_duration,
    choice,
    is_listen,
    is_url,
    matching,
    optional,
    parse_listen,
    positive,
)
from scanner.daemon.config.secrets import read_secret
from scanner.errors import ConfigError
from scanner.evaluate.chains import STUCK_AFTER

DEFAULT_LISTEN = "127.0.0.1:9108"  # a workstation; the container image sets 0.0.0.0:9108


def _check(check: Check, *, duration: bool = False) -> dict[str, Any]:
    return {"check": check, "duration": duration}


_DURATION_FIELD = {"duration": True, "check": positive}
_ACCOUNTS = _check(matching(ACCOUNT_ID, "a 12-digit account id"))
_ENV = _check(matching(ENV_NAME, "an environment variable name"))


@dataclass(frozen=True)
class OrganizationConfig:
    enabled: bool = False
    role_arn: str | None = field(default=None, metadata=_check(matching(ROLE_ARN, "a role ARN")))
    member_role_name: str = DEFAULT_MEMBER_ROLE
    external_id: str | None = None
    include_accounts: tuple[str, ...] = field(default=(), metadata=_ACCOUNTS)
    exclude_accounts: tuple[str, ...] = field(default=(), metadata=_ACCOUNTS)
    include_ous: tuple[str, ...] = ()
    exclude_ous: tuple[str, ...] = ()
    account_list_refresh: float = field(default=3600.0, metadata=_DURATION_FIELD)


@dataclass(frozen=True)
class RegionsConfig:
    include: tuple[str, ...] = field(default=(), metadata=_check(matching(REGION, "a region")))
    exclude: tuple[str, ...] = field(default=(), metadata=_check(matching(REGION, "a region")))


@dataclass(frozen=True)
class RulesConfig:
    """``suppressions``: a YAML file of accepted exceptions (see
    :mod:`scanner.daemon.config.suppressions`), read at start and before every scan.
    ``stuck_after``: an alarm in ALARM for longer cannot notify a new event (its link breaks)."""

    profile: str = field(default="recommended", metadata=_check(checks.profile))
    suppressions: str | None = None
    stuck_after: float = field(default=STUCK_AFTER.total_seconds(), metadata=_DURATION_FIELD)


@dataclass(frozen=True)
class ScanConfig:
    """``deep``: enter every account and read all it holds, even members whose every rule the
    organization trail's chain already decides (by default those cost no call). ``confirm``: ask
    AWS's engine (``logs:TestMetricFilter``) about every decided filter verdict after each scan,
    and read the history of the chains' alarms (``cloudwatch:DescribeAlarmHistory``) for failed
    notifications; a disagreement is a note on the finding and counted, never a changed verdict."""

    deep: bool = False
    confirm: bool = False


@dataclass(frozen=True)
class ScheduleConfig:
    interval: float = field(default=1800.0, metadata=_DURATION_FIELD)
    jitter: float = field(default=120.0, metadata={"duration": True, "check": at_least(0)})
    deadline: float = field(default=1200.0, metadata=_DURATION_FIELD)


@dataclass(frozen=True)
class LimitsConfig:
    rates: Mapping[str, float] = field(default_factory=dict, metadata=_check(checks.rates))
    max_in_flight: int = field(default=DEFAULT_MAX_IN_FLIGHT, metadata=_check(at_least(1)))
    retry_mode: str = field(default="standard", metadata=_check(choice("standard", "adaptive")))
    max_attempts: int = field(default=5, metadata=_check(at_least(1)))
    patience: float = field(default=DEFAULT_PATIENCE, metadata=_DURATION_FIELD)
    account_concurrency: int = field(
        default=DEFAULT_ACCOUNT_CONCURRENCY, metadata=_check(at_least(1))
    )


@dataclass(frozen=True)
class HttpConfig:
    listen: str = field(default=DEFAULT_LISTEN, metadata=_check(is_listen))
    bearer_token_file: str | None = None
    bearer_token_env: str | None = field(default=None, metadata=_ENV)

    def read_token(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The bearer token /api/ requires, read now (a rotated file needs no restart)."""
        return read_secret(self.bearer_token_file, self.bearer_token_env, environ)

    @property
    def address(self) -> tuple[str, int]:
        return parse_listen(self.listen)


@dataclass(frozen=True)
class StateConfig:
    path: str = "scanner-state.db"  # ":memory:" keeps nothing across restarts
    # How long the history of transitions is kept (a day at least: a delivered message's
    # transition outlives it). The tracks, the last scan and what is still to be sent stay.
    keep_history: float = field(
        default=90 * 86400.0, metadata={"duration": True, "check": at_least_duration(86400.0)}
    )


@dataclass(frozen=True)
class UrlTarget:
    """A target whose URL may itself be a secret (a Slack URL is the credential; a webhook's
    may carry a token): written in the config, or read from a file or an environment variable."""

    name: str = ""
    url: str | None = field(default=None, metadata=_check(optional(is_url)))
    url_env: str | None = field(default=None, metadata=_ENV)
    url_file: str | None = None

    def read_url(self, environ: Mapping[str, str] | None = None) -> str:
        if self.url:
            return self.url
        url = read_secret(self.url_file, self.url_env, environ)
        if url is None:
            raise ConfigError(self.name, "no url, url_env or url_file")
        return url


@dataclass(frozen=True)
class WebhookConfig(UrlTarget):
    """A generic webhook; its body is signed with HMAC-SHA256 of the shared secret."""

    secret_file: str | None = None
    secret_env: str | None = field(default=None, metadata=_ENV)

    def read_secret(self, environ: Mapping[str, str] | None = None) -> bytes:
        secret = read_secret(self.secret_file, self.secret_env, environ)
        if secret is None:  # load() guarantees one source; this only guards misuse
            raise ConfigError(self.name, "no secret_file or secret_env")
        return secret.encode()


@dataclass(frozen=True)
class SlackConfig(UrlTarget):
    """A Slack-compatible incoming webhook; its URL is a secret, so it may come from elsewhere."""


@dataclass(frozen=True)
class AlertmanagerConfig:
    """An Alertmanager; alerts are POSTed to ``<url>/api/v2/alerts``."""

    name: str = ""
    url: str = field(default="", metadata=_check(is_url))


@dataclass(frozen=True)
class RetryConfig:
    initial: float = field(default=5.0, metadata=_DURATION_FIELD)
    max: float = field(default=600.0, metadata=_DURATION_FIELD)
    give_up_after: float = field(default=7 * 86400.0, metadata=_DURATION_FIELD)


@dataclass(frozen=True)
class AlertsConfig:
    error_after_scans: int = field(default=3, metadata=_check(at_least(1)))
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
    shard: int = field(default=0, metadata=_check(at_least(0)))
    total_shards: int = field(default=1, metadata=_check(at_least(1)))
    pod_name_env: str = field(default="", metadata=_check(optional(_ENV["check"])))


@dataclass(frozen=True)
class EventsConfig:
    """CloudTrail change events, delivered by EventBridge to SQS (:mod:`scanner.daemon.events`):
    an account is re-judged seconds after its monitoring chain changed, between scheduled scans.

    ``queue_urls``: one queue per shard (this shard reads ``queue_urls[ordinal]``), or one queue
    every shard reads (each keeps the events of its accounts and leaves the others' for them).
    ``batch_size``: messages per ReceiveMessage; ``wait_seconds``: its long poll;
    ``debounce``: how long an account's events are gathered before it is re-read once."""

    enabled: bool = False
    queue_urls: tuple[str, ...] = field(default=(), metadata=_check(checks.urls))
    batch_size: int = field(default=10, metadata=_check(checks.between(1, 10)))
    wait_seconds: int = field(default=20, metadata=_check(checks.between(1, 20)))
    debounce: float = field(default=2.0, metadata=_DURATION_FIELD)


@dataclass(frozen=True)
class LoggingConfig:
    format: str = field(default="json", metadata=_check(choice("json", "console")))
    level: str = field(default="info", metadata=_check(choice("debug", "info", "warning", "error")))


@dataclass(frozen=True)
class Config:
    organization: OrganizationConfig = OrganizationConfig()
    regions: RegionsConfig = RegionsConfig()
    rules: RulesConfig = RulesConfig()
    scan: ScanConfig = ScanConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    limits: LimitsConfig = LimitsConfig()
    http: HttpConfig = HttpConfig()
    state: StateConfig = StateConfig()
    alerts: AlertsConfig = AlertsConfig()
    sharding: ShardingConfig = ShardingConfig()
    events: EventsConfig = EventsConfig()
    logging: LoggingConfig = LoggingConfig()
    endpoint_url: str | None = field(default=None, metadata=_check(optional(is_url)))

    def replace(self, section: str, **changes: Any) -> Config:
        """A copy with some fields of one section changed (command-line options win)."""
        return dataclasses.replace(
            self, **{section: dataclasses.replace(getattr(self, section), **changes)}
        )


__all__ = [
    "DEFAULT_LISTEN",
    "AlertmanagerConfig",
    "AlertsConfig",
    "Config",
    "EventsConfig",
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
    "UrlTarget",
    "WebhookConfig",
]
