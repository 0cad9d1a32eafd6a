"""The generic converter: a mapping (the YAML file, the overrides) -> the schema's dataclasses.

It walks a dataclass's type hints against the mapping, so there is one place where a key is
known, parsed and validated, and every error is one :class:`~scanner.errors.ConfigError` line
naming the field the way the user wrote it (``alerts.webhooks[0].url: not a valid http(s) URL``)
and, for a value from an environment variable or a command-line option, where it came from.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

from scanner.daemon.config.checks import parse_duration
from scanner.errors import ConfigError


class FromEnv(str):
    """A value taken from an environment variable: parsed from text, named in errors."""

    variable: str

    def __new__(cls, text: str, variable: str) -> FromEnv:
        made = super().__new__(cls, text)
        made.variable = variable
        return made


def hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def section(value: Any, cls: type[Any], path: str) -> Any:
    """``value`` (a mapping, or None for all defaults) as the dataclass ``cls`` at ``path``."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(_where(path, value) or "(top level)", "expected a mapping")
    types_ = hints(cls)
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
        converted = _convert(value[name], types_[name], where, spec.metadata)
        check = spec.metadata.get("check")
        problem = check(converted) if check is not None and converted is not None else None
        if problem:
            raise ConfigError(_where(where, value[name]), problem)
        kwargs[name] = converted
    return cls(**kwargs)


def _where(path: str, value: Any) -> str:
    return f"{path} (from {value.variable})" if isinstance(value, FromEnv) else path


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _convert(value: Any, tp: Any, path: str, meta: Mapping[str, Any]) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(value, inner, path, meta)
    if is_dataclass_type(tp):
        return section(value, tp, path)
    if origin is tuple:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if not isinstance(value, list):
            raise ConfigError(_where(path, value), "expected a list")
        return tuple(_convert(item, args[0], f"{path}[{i}]", meta) for i, item in enumerate(value))
    if origin is Mapping or origin is dict:
        if isinstance(value, FromEnv):
            value = _env_mapping(value, path)
        if not isinstance(value, dict):
            raise ConfigError(_where(path, value), "expected a mapping")
        return {
            str(key): _convert(item, args[1], f"{path}.{key}", meta) for key, item in value.items()
        }
    return _scalar(value, tp, path, meta)


def _env_mapping(value: FromEnv, path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(_where(path, value), f"expected KEY=VALUE pairs, got {item!r}")
        out[key.strip()] = FromEnv(text.strip(), value.variable)
    return out


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _scalar(value: Any, tp: Any, path: str, meta: Mapping[str, Any]) -> Any:
    where = _where(path, value)
    from_env = isinstance(value, FromEnv)
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


__all__ = ["FromEnv", "hints", "is_dataclass_type", "section"]
