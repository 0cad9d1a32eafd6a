"""YAML read strictly: a duplicate key or absurd nesting is an error, never a silent choice.

PyYAML's ``safe_load`` keeps the last of two equal keys (``interval: 5m`` then ``interval: 1h``
silently means 1h) and composes nested collections recursively, so a file nested a few thousand
levels deep ends in a RecursionError. Here both are one :class:`~scanner.errors.ConfigError`
line with the line and column: ``config: scanner.yaml: line 7 column 3: duplicate key
'interval' (first on line 5)``.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from scanner.errors import ConfigError

MAX_NESTING = 32  # the schema needs 4 levels (alerts.webhooks[0].url); anchors add no depth
_MERGE = "tag:yaml.org,2002:merge"


@functools.cache
def _loader() -> Any:
    yaml: Any = importlib.import_module("yaml")  # PyYAML ships no type hints

    class StrictLoader(yaml.SafeLoader):  # type: ignore[misc]
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            try:
                if self.depth > MAX_NESTING:
                    mark = self.peek_event().start_mark
                    problem = f"nested more than {MAX_NESTING} levels deep"
                    raise yaml.composer.ComposerError(None, None, problem, mark)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            first: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE:  # "<<: *defaults" is meant to be overridden
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    seen = first.setdefault(key, key_node.start_mark)
                except TypeError:  # unhashable: the base class says so, with its mark
                    continue
                if seen is not key_node.start_mark:
                    problem = f"duplicate key {key!r} (first on line {seen.line + 1})"
                    raise yaml.constructor.ConstructorError(
                        None, None, problem, key_node.start_mark
                    )
            return super().construct_mapping(node, deep)

    return StrictLoader


def read_yaml(text: str, source: str) -> Any:
    """The data in YAML ``text`` (None when empty); ``source`` names it in errors."""
    yaml: Any = importlib.import_module("yaml")
    try:
        return yaml.load(text, Loader=_loader())  # a SafeLoader: builds no Python objects
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(source or "YAML", f"{at}{problem}") from None
    except ValueError as err:  # e.g. an integer longer than Python converts
        raise ConfigError(source or "YAML", str(err).split(";")[0]) from None


__all__ = ["MAX_NESTING", "read_yaml"]
