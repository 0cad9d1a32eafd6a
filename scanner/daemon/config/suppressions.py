"""The suppressions file (YAML), read for ``scanner scan|demo|evaluate --suppressions`` and the
daemon's ``suppressions`` setting alike; the matching itself is pure
(:mod:`scanner.evaluate.suppressions`).

    suppressions:
      - account: "210000000013"       # or  ou: Workloads/Staging  (that OU and below),
                                      # or  ou_id: ou-ab12-cdef3456 (that OU and below)
        rule: ec2-instance-changes    # a rule id, a control id (4.14, CloudWatch.14) or "*"
        reason: legacy sandbox, decommissioned in Q1 (TICKET-123)
        expires: 2027-03-31           # in effect through that day

Every entry needs all four; a duplicate key anywhere is an error (YAML would silently keep the
last one, dropping half of an exception someone wrote down). A bad file is one
:class:`~scanner.errors.ConfigError` line naming the entry and field.
"""

from __future__ import annotations

import contextlib
import importlib
from datetime import date
from pathlib import Path
from typing import Any

from scanner.catalog import Catalog, load_catalog
from scanner.daemon.config.checks import ACCOUNT_ID
from scanner.errors import ConfigError, UnknownNameError
from scanner.evaluate import ANY_RULE, Suppression
from scanner.model.arns import OU_OR_ROOT_ID

WHERE = ("account", "ou", "ou_id")
FIELDS = (*WHERE, "rule", "reason", "expires")


def safe_load_unique(text: str, source: str) -> Any:
    """``yaml.safe_load`` that refuses a mapping with the same key twice."""
    yaml: Any = importlib.import_module("yaml")  # PyYAML ships no type hints

    class Loader(yaml.SafeLoader):  # type: ignore[misc]
        pass

    def mapping(loader: Any, node: Any) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in seen:
                mark = key_node.start_mark
                raise ConfigError(
                    source, f"line {mark.line + 1} column {mark.column + 1}: duplicate key {key!r}"
                )
            seen.add(key)
        return dict(loader.construct_mapping(node, deep=True))

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        return yaml.load(text, Loader=Loader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(source, f"{at}{problem}") from None
    except RecursionError:
        raise ConfigError(source, "nested too deeply") from None


def load_suppressions(path: str, catalog: Catalog | None = None) -> tuple[Suppression, ...]:
    """The suppressions of the file at ``path``; raises :class:`ConfigError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(path, f"cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(path, f"not UTF-8 text: {err.reason}") from None
    return parse_suppressions(safe_load_unique(text, path), path, catalog or load_catalog())


def parse_suppressions(raw: Any, source: str, catalog: Catalog) -> tuple[Suppression, ...]:
    if not isinstance(raw, dict) or set(raw) != {"suppressions"}:
        raise ConfigError(source, "expected one key, 'suppressions', holding a list of entries")
    entries = raw["suppressions"] or []
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: suppressions", "expected a list of entries")
    return tuple(_entry(e, f"{source}: suppressions[{i}]", catalog) for i, e in enumerate(entries))


def _text(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key}", "expected a non-empty string (quote it in YAML)")
    return value.strip()


def _entry(entry: Any, where: str, catalog: Catalog) -> Suppression:
    if not isinstance(entry, dict):
        raise ConfigError(where, f"expected a mapping with {', '.join(FIELDS)}")
    unknown = sorted(str(k) for k in entry if k not in FIELDS)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", f"unknown key (known: {', '.join(FIELDS)})")
    if sum(key in entry for key in WHERE) != 1:
        raise ConfigError(where, "give exactly one of account, ou, ou_id")
    account = ou = ou_id = None
    if "account" in entry:
        account = _text(entry, "account", where)
        if not ACCOUNT_ID.fullmatch(account):
            raise ConfigError(f"{where}.account", f"{account!r} is not a 12-digit account id")
    elif "ou_id" in entry:
        ou_id = _text(entry, "ou_id", where)
        if not OU_OR_ROOT_ID.fullmatch(ou_id):
            raise ConfigError(
                f"{where}.ou_id",
                f"{ou_id!r} is not an OU id (ou-xxxx-xxxxxxxx) or root id (r-xxxx)",
            )
    else:
        ou = tuple(part.strip() for part in _text(entry, "ou", where).strip("/").split("/"))
        if not all(ou):
            raise ConfigError(f"{where}.ou", "expected an OU path like Workloads/Production")
    rule = _text(entry, "rule", where)
    if rule != ANY_RULE:
        try:
            rule = catalog.find_rule(rule).id
        except UnknownNameError as err:
            raise ConfigError(f"{where}.rule", str(err)) from None
    expires = entry.get("expires")
    if isinstance(expires, str):
        with contextlib.suppress(ValueError):  # not a date: said just below
            expires = date.fromisoformat(expires)
    if not isinstance(expires, date):
        raise ConfigError(f"{where}.expires", "expected a date, YYYY-MM-DD")
    return Suppression(rule, _text(entry, "reason", where), expires, account, ou, ou_id)


__all__ = ["load_suppressions", "parse_suppressions", "safe_load_unique"]
