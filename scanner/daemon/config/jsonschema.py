"""The configuration's JSON Schema, generated from the schema's dataclasses and their checks.

The Helm chart validates its ``config`` value with it (``helm/values.schema.json``), so a typo
such as ``config.schedule.intervall`` fails ``helm lint`` and ``helm install`` instead of the
pod at start-up; being generated, it cannot drift from what the daemon accepts. It says what
JSON Schema can: the keys (unknown ones refused), the types, the patterns, bounds and choices of
the fields' checks. What it cannot (jitter below interval, a secret file that can be read, a
duration's upper bound when written as text) the daemon still checks when it loads the file.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Collection, Mapping
from typing import Any

from scanner.daemon.config.checks import DURATION_PATTERN, MAX_DURATION, Check
from scanner.daemon.config.convert import hints, is_dataclass_type
from scanner.daemon.config.schema import Config

_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def json_schema(omit: Collection[str] = ()) -> dict[str, Any]:
    """The JSON Schema (draft-07) of a configuration file; ``omit``: dotted paths left out."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "scanner daemon configuration",
        **_object(Config, "", frozenset(omit)),
    }


def _object(cls: type[Any], path: str, omit: frozenset[str]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for spec in dataclasses.fields(cls):
        where = f"{path}.{spec.name}" if path else spec.name
        if where not in omit:
            properties[spec.name] = _field(hints(cls)[spec.name], spec.metadata, where, omit)
    # An empty section is its defaults (the daemon reads null as {}).
    return {"type": ["object", "null"], "properties": properties, "additionalProperties": False}


def _field(tp: Any, meta: Mapping[str, Any], path: str, omit: frozenset[str]) -> dict[str, Any]:
    check: Check | None = meta.get("check")
    keywords = check.schema() if check is not None else {}
    if meta.get("duration"):
        return {
            "type": ["string", "number"],
            "pattern": DURATION_PATTERN,
            "maximum": MAX_DURATION,
            **keywords,
        }
    nullable = type(None) in typing.get_args(tp)
    if nullable:
        (tp,) = [a for a in typing.get_args(tp) if a is not type(None)]
    schema = _value(tp, keywords, path, omit)
    if nullable and "null" not in schema["type"]:
        schema["type"] = [schema["type"], "null"]
    return schema


def _value(tp: Any, keywords: dict[str, Any], path: str, omit: frozenset[str]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if is_dataclass_type(tp):
        return _object(tp, path, omit)
    if origin is tuple:  # a list: the check applies to each item
        (item,) = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return {"type": "array", "items": _value(item, keywords, f"{path}[]", omit)}
    if origin in (dict, Mapping):
        value = _TYPES[typing.get_args(tp)[1]]
        return {"type": ["object", "null"], "additionalProperties": {"type": value}, **keywords}
    return {"type": _TYPES[tp], **keywords}


__all__ = ["json_schema"]
