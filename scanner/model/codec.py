"""The one converter between the model's dataclasses and JSON-ready data.

Driven by the dataclass fields and their type hints, so adding a field means adding it in one
place. Field names are the JSON keys; tuples become lists; enums their values. Decoding validates
and names the offending field path in :class:`~scanner.errors.InventoryError`.

The decoding walk (optionals, lists, mappings, nested dataclasses, unknown and missing fields,
the path of every value) is :class:`Decoder`, written once. The daemon's configuration decodes
its YAML with a subclass that changes only what the walk cannot know: the error class and
wording, how a leaf is read (durations, text from environment variables) and the checks a field
declares in its metadata.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from scanner.errors import InventoryError

T = TypeVar("T")

_FLOAT_MAX = sys.float_info.max  # a larger integer has no float: it decodes as infinity

_KINDS: dict[type, str] = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
}


# Values that encode as themselves, by exact type (an enum that is also a ``str`` is not one).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def encode(value: Any) -> Any:
    """A JSON-ready copy of a model value (dataclasses, enums, tuples, dicts, scalars)."""
    if type(value) in _PLAIN:  # most values: asked first, it halves a report's encoding
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode_object(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    return value


def encode_object(value: Any) -> dict[str, Any]:
    return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}


def decode(cls: type[T], data: object) -> T:
    """Build ``cls`` from JSON data, validating every field; errors name the field path."""
    return typing.cast(T, _JSON.decode(cls, data, ""))


def _show(value: object) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_HINTS: dict[type, dict[str, Any]] = {}


def hints(cls: type) -> dict[str, Any]:
    """The resolved type hints of a dataclass (cached: the walk asks for them at every value)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _describe_type(tp: Any) -> str:
    if tp in _KINDS:
        return _KINDS[tp]
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        return "a list"
    if origin is dict or (isinstance(tp, type) and dataclasses.is_dataclass(tp)):
        return "an object"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(_show(m.value) for m in tp)
    if origin in (types.UnionType, typing.Union):
        return " or ".join("null" if a is type(None) else _describe_type(a) for a in tp.__args__)
    return str(tp)


def _float(number: float) -> float:
    """``number`` as a float; an integer too large for one is infinite (float() would raise)."""
    if abs(number) <= _FLOAT_MAX:
        return float(number)
    return math.inf if number > 0 else -math.inf


class Decoder:
    """Data (JSON, YAML) -> a value of a type-hinted type, or one error naming the field path.

    The hooks a subclass may change: :meth:`fail` (the error), :meth:`expected` and
    :meth:`unknown` (its wording), :meth:`scalar` (a leaf), :meth:`items` / :meth:`pairs` (what
    may stand for a list / a mapping), :meth:`child` (a mapping item's path) and :meth:`field`
    (a dataclass field, with its metadata). The defaults are the JSON model's.
    """

    def fail(self, path: str, problem: str, value: object = None) -> Exception:
        return InventoryError(f"{path or '<top>'}: {problem}")

    def expected(self, path: str, what: str, value: object) -> Exception:
        return self.fail(path, f"expected {what}, got {_show(value)}", value)

    def unknown(self, path: str, known: Sequence[str]) -> Exception:
        return self.fail(path, "unknown field")

    def child(self, path: str, key: object) -> str:
        return f"{path}[{json.dumps(key)}]"

    def items(self, value: object, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.expected(path, "a list", value)
        return value

    def pairs(self, value: object, path: str) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise self.expected(path, "an object", value)
        return value

    def scalar(self, tp: type, value: object, path: str) -> object:
        if tp is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return _float(value)
        elif tp is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif isinstance(value, tp):
            return value
        raise self.expected(path, _KINDS[tp], value)

    def field(self, spec: dataclasses.Field[Any], tp: Any, value: object, path: str) -> object:
        return self.decode(tp, value, path)

    def dataclass(self, cls: type, value: object, path: str) -> object:
        value = self.pairs(value, path)
        fields = dataclasses.fields(cls)
        names = [f.name for f in fields]
        prefix = f"{path}." if path else ""
        unknown = [key for key in value if key not in names]
        if unknown:
            raise self.unknown(prefix + str(min(unknown, key=str)), names)
        kwargs: dict[str, object] = {}
        for f in fields:
            if f.name in value:
                kwargs[f.name] = self.field(f, hints(cls)[f.name], value[f.name], prefix + f.name)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise self.fail(prefix + f.name, "missing")
        return cls(**kwargs)

    def decode(self, tp: Any, value: object, path: str) -> object:
        if tp is Any:
            return value
        if tp in _KINDS:
            return self.scalar(tp, value, path)
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (types.UnionType, typing.Union):
            if value is None and type(None) in args:
                return None
            options = [a for a in args if a is not type(None)]
            if len(options) != 1:
                raise TypeError(f"unsupported union {tp} at {path}")
            return self.decode(options[0], value, path)
        if origin in (tuple, list):
            return tuple(
                self.decode(args[0], item, f"{path}[{i}]")
                for i, item in enumerate(self.items(value, path))
            )
        if origin in (dict, Mapping):
            out = {}
            for key, item in self.pairs(value, path).items():
                where = self.child(path, key)
                out[self.decode(args[0], key, where)] = self.decode(args[1], item, where)
            return out
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            try:
                return tp(value)
            except ValueError:
                raise self.expected(path, _describe_type(tp), value) from None
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self.dataclass(tp, value, path)
        raise TypeError(f"unsupported type {tp} at {path}")


_JSON = Decoder()

__all__ = ["Decoder", "decode", "encode", "encode_object", "hints"]
