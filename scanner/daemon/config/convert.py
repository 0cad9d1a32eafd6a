"""Mapping (the YAML file, the overrides) -> the schema's dataclasses: the model's codec, worded for
a configuration.

The walk is :class:`scanner.model.codec.Decoder`, the same one that decodes inventories: here
it only learns what is particular to a configuration. Errors are one
:class:`~scanner.errors.ConfigError` line naming the field the way the user wrote it
(``alerts.webhooks[0].url: not a valid http(s) URL``) and, for a value from an environment
variable or a command-line option, where it came from. Such a value is text, read as the field's
type wants (``yes``, ``15m``, ``a,b``, ``KEY=VALUE,...``). A duration field reads ``1h30m``;
after decoding, a field's ``check`` (its metadata) says what is wrong with the value, if anything.
An empty section means its defaults.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Sequence
from typing import Any

from scanner.daemon.config.checks import duration_problem, parse_duration
from scanner.errors import ConfigError
from scanner.model.codec import Decoder, hints


class FromEnv(str):
    """A value taken from an environment variable: parsed from text, named in errors."""

    variable: str

    def __new__(cls, text: str, variable: str) -> FromEnv:
        made = super().__new__(cls, text)
        made.variable = variable
        return made


def is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_WORDING = {  # what the codec expects -> what a configuration error says
    "an object": "expected a mapping",
    "a list": "expected a list",
    "a boolean": "expected true or false",
    "an integer": "expected an integer",
    "a number": "expected a number",
    "a string": "expected a string (quote it in YAML)",
}


class _ConfigDecoder(Decoder):
    def fail(self, path: str, problem: str, value: object = None) -> Exception:
        where = f"{path} (from {value.variable})" if isinstance(value, FromEnv) else path
        return ConfigError(where or "(top level)", problem)

    def expected(self, path: str, what: str, value: object) -> Exception:
        return self.fail(path, _WORDING.get(what, f"expected {what}"), value)

    def unknown(self, path: str, known: Sequence[str]) -> Exception:
        return self.fail(path, f"unknown key (known: {', '.join(known)})")

    def child(self, path: str, key: object) -> str:
        return f"{path}.{key}"

    def items(self, value: object, path: str) -> list[Any]:
        if isinstance(value, FromEnv):
            parts = (part.strip() for part in value.split(","))
            return [FromEnv(part, value.variable) for part in parts if part]
        return super().items(value, path)

    def pairs(self, value: object, path: str) -> dict[Any, Any]:
        if value is None:
            return {}
        if not isinstance(value, FromEnv):
            return super().pairs(value, path)
        out: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            key, sep, text = item.partition("=")
            if not sep:
                raise self.fail(path, f"expected KEY=VALUE pairs, got {item!r}", value)
            out[key.strip()] = FromEnv(text.strip(), value.variable)
        return out

    def scalar(self, tp: type, value: object, path: str) -> object:
        source = value
        if isinstance(value, FromEnv):
            if tp is str:
                return str(value)
            if tp is bool and value.lower() in _TRUE | _FALSE:
                return value.lower() in _TRUE
            if tp is int or tp is float:
                try:
                    value = tp(value)
                except ValueError:
                    raise self.fail(path, f"expected a number, got {str(value)!r}", value) from None
        decoded = super().scalar(tp, value, path)
        if isinstance(decoded, float) and not math.isfinite(decoded):
            raise self.fail(path, "expected a finite number", source)
        return decoded

    def field(self, spec: dataclasses.Field[Any], tp: Any, value: object, path: str) -> object:
        if spec.metadata.get("duration"):
            decoded: object = self._duration(value, path)
        else:
            decoded = self.decode(tp, value, path)
        check = spec.metadata.get("check")
        problem = check(decoded) if check is not None and decoded is not None else None
        if problem:
            raise self.fail(path, problem, value)
        return decoded

    def _duration(self, value: object, path: str) -> float:
        if isinstance(value, str):
            try:
                seconds = parse_duration(value)
            except ValueError as err:
                raise self.fail(path, str(err), value) from None
        elif isinstance(value, int | float) and not isinstance(value, bool):
            seconds = typing.cast(float, self.scalar(float, value, path))
        else:
            raise self.fail(path, "expected a duration (e.g. 30s, 15m, 1h30m, 7d)", value)
        problem = duration_problem(seconds)
        if problem:
            raise self.fail(path, problem, value)
        return seconds


_DECODER = _ConfigDecoder()


def section(value: Any, cls: type[Any], path: str) -> Any:
    """``value`` (a mapping, or None for all defaults) as the dataclass ``cls`` at ``path``."""
    return _DECODER.dataclass(cls, value, path)


__all__ = ["FromEnv", "hints", "is_dataclass_type", "section"]
