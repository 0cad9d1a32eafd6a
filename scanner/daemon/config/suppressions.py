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
:class:`~scanner.errors.ConfigError` line naming the file, the line and the field
(``config: s.yaml: line 5: suppressions[0].expires: '2027-02-31' is not a date, YYYY-MM-DD
(day is out of range for month)``); each suppression read keeps that place as its ``origin``,
so a warning about it (it matches nothing, :func:`scanner.evaluate.unmatched`) says where it is.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path
from typing import Any

from scanner.catalog import Catalog, load_catalog
from scanner.daemon.config.checks import ACCOUNT_ID
from scanner.daemon.config.yamlfile import line_of, locate, read_yaml
from scanner.errors import ConfigError, UnknownNameError
from scanner.evaluate import ANY_RULE, Suppression
from scanner.model.arns import OU_OR_ROOT_ID

WHERE = ("account", "ou", "ou_id")
FIELDS = (*WHERE, "rule", "reason", "expires")


def load_suppressions(path: str, catalog: Catalog | None = None) -> tuple[Suppression, ...]:
    """The suppressions of the file at ``path``; raises :class:`ConfigError` naming the file,
    the line and the field."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError("", f"cannot read: {err.strerror or err}", file=path) from None
    except UnicodeDecodeError as err:
        raise ConfigError("", f"not UTF-8 text: {err.reason}", file=path) from None
    raw = read_yaml(text, path)
    lines = locate(text)
    try:
        parsed = parse_suppressions(raw, "", catalog or load_catalog())
    except ConfigError as err:
        # An error about the whole file (no field) is said at its first line.
        raise err.at(path, line_of(lines, err.where) if err.where else 1) from None
    return tuple(
        dataclasses.replace(s, origin=_origin(path, lines, i)) for i, s in enumerate(parsed)
    )


def _origin(path: str, lines: dict[str, int], index: int) -> str:
    where = f"suppressions[{index}]"
    line = lines.get(where)
    return f"{path}: line {line}: {where}" if line is not None else f"{path}: {where}"


def parse_suppressions(raw: Any, source: str, catalog: Catalog) -> tuple[Suppression, ...]:
    """The suppressions in ``raw`` (the file's data); errors name the field and ``source``."""
    if not isinstance(raw, dict) or set(raw) != {"suppressions"}:
        raise ConfigError(
            "", "expected one key, 'suppressions', holding a list of entries", file=source
        )
    entries = raw["suppressions"] or []
    if not isinstance(entries, list):
        raise ConfigError("suppressions", "expected a list of entries", file=source)
    try:
        return tuple(_entry(e, f"suppressions[{i}]", catalog) for i, e in enumerate(entries))
    except ConfigError as err:
        raise err.at(source, None) if source else err from None


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
        try:
            expires = date.fromisoformat(expires.strip())
        except ValueError as err:
            because = f" ({err})" if "range" in str(err) else ""  # 2027-02-31
            raise ConfigError(
                f"{where}.expires", f"{expires!r} is not a date, YYYY-MM-DD{because}"
            ) from None
    if not isinstance(expires, date) or isinstance(expires, datetime):
        raise ConfigError(f"{where}.expires", "expected a date, YYYY-MM-DD")
    return Suppression(rule, _text(entry, "reason", where), expires, account, ou, ou_id)


__all__ = ["load_suppressions", "parse_suppressions"]
