"""YAML read strictly: a duplicate key or absurd nesting is an error, never a silent choice.

PyYAML's ``safe_load`` keeps the last of two equal keys (``interval: 5m`` then ``interval: 1h``
silently means 1h) and composes nested collections recursively, so a file nested a few thousand
levels deep ends in a RecursionError. Here both are one :class:`~scanner.errors.ConfigError`
line with the line and column: ``config: scanner.yaml: line 7 column 3: duplicate key
'interval' (first on line 5)``.

A value that looks like a date but is none (``expires: 2027-02-31``) stays the text it was
written as, instead of PyYAML's ValueError without a position: the field's own check then says
what is wrong with it. The data carries no positions, so the checks that read it name a field
(``suppressions[0].expires``); :func:`locate` finds that field's line in the text again, and
:func:`located` puts the file and the line in front of such an error.
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

        def construct_yaml_timestamp(self, node: Any) -> Any:
            try:
                return super().construct_yaml_timestamp(node)
            except ValueError:  # 2027-02-31: the text, for the field's check to refuse
                return self.construct_scalar(node)

    StrictLoader.add_constructor(
        "tag:yaml.org,2002:timestamp", StrictLoader.construct_yaml_timestamp
    )
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
        raise ConfigError("", f"{at}{problem}", file=source or "YAML") from None
    except ValueError as err:  # e.g. an integer longer than Python converts
        raise ConfigError("", str(err).split(";")[0], file=source or "YAML") from None


def locate(text: str) -> dict[str, int]:
    """Each field of YAML ``text`` by its path (``alerts.webhooks[0].url``) -> its line (1-based):
    a mapping's entry is on its key's line, a list's item on the item's first line. Text that
    does not parse locates nothing (:func:`read_yaml` has said why)."""
    yaml: Any = importlib.import_module("yaml")
    try:
        root = yaml.compose(text, Loader=_loader())
    except (yaml.YAMLError, ValueError):
        return {}
    lines: dict[str, int] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    inner = f"{path}.{key.value}" if path else str(key.value)
                    lines.setdefault(inner, key.start_mark.line + 1)
                    walk(value, inner)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                inner = f"{path}[{i}]"
                lines.setdefault(inner, item.start_mark.line + 1)
                walk(item, inner)

    if root is not None:
        walk(root, "")
    return lines


def line_of(lines: dict[str, int], where: str) -> int | None:
    """The line of the field ``where`` names, or of the nearest enclosing one written in the
    file (``schedule.jitter`` left to its default: the ``schedule`` section's line)."""
    path = where
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


def located(err: ConfigError, text: str, source: str) -> ConfigError:
    """``err``, raised by a check of the data in ``text``, said to be in file ``source`` at the
    line of its field; unchanged when it already names a file, when its value came from
    elsewhere (``(from SCANNER_...)``) or when the field is not in the file."""
    if err.file or not source or "(from " in err.where:
        return err
    line = line_of(locate(text), err.where)
    return err if line is None else err.at(source, line)


__all__ = ["MAX_NESTING", "line_of", "locate", "located", "read_yaml"]
