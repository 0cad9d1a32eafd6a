"""The one converter between the model's dataclasses and JSON-ready data.

Driven by the dataclass fields and their type hints, so adding a field means adding it in one
place. Field names are the JSON keys; tuples become lists; enums their values. Decoding validates
and names the offending field path in :class:`~scanner.errors.InventoryError`.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from typing import Any, TypeVar

from scanner.errors import InventoryError

T = TypeVar("T")

_KINDS: dict[type, str] = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
}


def encode(value: Any) -> Any:
    """A JSON-ready copy of a model value (dataclasses, enums, tuples, dicts, scalars)."""
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
    return typing.cast(T, _decode(cls, data, ""))


def _show(value: object) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(path: str, message: str) -> InventoryError:
    return InventoryError(f"{path or '<top>'}: {message}")


def _expected(path: str, what: str, value: object) -> InventoryError:
    return _fail(path, f"expected {what}, got {_show(value)}")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
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


def _decode_scalar(tp: type, value: object, path: str) -> object:
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(value, tp):
        return value
    raise _expected(path, _KINDS[tp], value)


def _decode_dataclass(cls: type, value: object, path: str) -> object:
    if not isinstance(value, dict):
        raise _expected(path, "an object", value)
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    prefix = f"{path}." if path else ""
    unknown = sorted(set(value) - names)
    if unknown:
        raise _fail(prefix + str(unknown[0]), "unknown field")
    kwargs: dict[str, object] = {}
    for f in dataclasses.fields(cls):
        if f.name in value:
            kwargs[f.name] = _decode(hints[f.name], value[f.name], prefix + f.name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _fail(prefix + f.name, "missing")
    return cls(**kwargs)


def _decode(tp: Any, value: object, path: str) -> object:
    if tp is Any:
        return value
    if tp in _KINDS:
        return _decode_scalar(tp, value, path)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) != 1:
            raise TypeError(f"unsupported union {tp} at {path}")
        return _decode(options[0], value, path)
    if origin in (tuple, list):
        if not isinstance(value, list):
            raise _expected(path, "a list", value)
        item_type = args[0]
        return tuple(_decode(item_type, item, f"{path}[{i}]") for i, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise _expected(path, "an object", value)
        return {
            key: _decode(args[1], item, f"{path}[{json.dumps(key)}]") for key, item in value.items()
        }
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise _expected(path, _describe_type(tp), value) from None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, value, path)
    raise TypeError(f"unsupported type {tp} at {path}")
