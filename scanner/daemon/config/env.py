"""Environment overrides, derived from the schema: ``SCANNER_<SECTION>_<FIELD>``.

Every field reachable through sections (not through lists of targets) is ``SCANNER_`` + its
path in upper case, e.g. ``SCANNER_SCHEDULE_INTERVAL=15m``, ``SCANNER_HTTP_LISTEN=0.0.0.0:9108``,
``SCANNER_ORGANIZATION_INCLUDE_ACCOUNTS=111111111111,222222222222``,
``SCANNER_LIMITS_RATES=organizations=1,sts=5``. They win over the file; command-line options
win over them. A ``SCANNER_<SECTION>_*`` variable that names no field is an error (a typo must
not be silently ignored), unless the configuration itself names it as a secret's variable.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from scanner.daemon.config.convert import FromEnv, hints, is_dataclass_type
from scanner.daemon.config.schema import Config
from scanner.errors import ConfigError

ENV_PREFIX = "SCANNER_"


def env_variables() -> dict[str, tuple[str, ...]]:
    """``SCANNER_SCHEDULE_INTERVAL -> ("schedule", "interval")`` for every overridable field."""
    out: dict[str, tuple[str, ...]] = {}

    def walk(cls: type[Any], path: tuple[str, ...]) -> None:
        for name, tp in hints(cls).items():
            if is_dataclass_type(tp):
                walk(tp, (*path, name))
            elif not (typing.get_origin(tp) is tuple and is_dataclass_type(typing.get_args(tp)[0])):
                out[ENV_PREFIX + "_".join((*path, name)).upper()] = (*path, name)

    walk(Config, ())
    return out


def _sections() -> tuple[str, ...]:
    return tuple(name for name, tp in hints(Config).items() if is_dataclass_type(tp))


def apply_env(
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
        node[path[-1]] = FromEnv(text, label)
    return unknown


def referenced_variables(config: Config) -> set[str]:
    """The variables the configuration names as secrets' (never unknown settings)."""
    names = {config.http.bearer_token_env, config.sharding.pod_name_env}
    names |= {t.secret_env for t in config.alerts.webhooks}
    names |= {t.url_env for t in (*config.alerts.webhooks, *config.alerts.slack)}
    return {n for n in names if n}


__all__ = ["ENV_PREFIX", "apply_env", "env_variables", "referenced_variables"]
