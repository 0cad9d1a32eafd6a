"""A mapping of ``(account_id, rule)`` pairs held as one row per account.

The daemon keeps one value per account and rule (the last scan's finding; at 10,000 accounts
180,000 of them). A dict keyed by pairs costs a key tuple and a hash-table entry per pair,
~110 bytes before the value: 19.6 MiB at 10,000 accounts for the findings the metrics and the
API serve (tracemalloc; bench/README.md, "Fixes shared, findings held by account"). Here each
account has one tuple of values, aligned with the rules every row shares: ~16 bytes per pair.
Iteration is in sorted ``(account_id, rule)`` order, as ``dict(sorted(...))`` was, and an
event's few accounts are replaced (:meth:`ByAccount.replaced`) without copying the other rows.

Immutable: a new mapping is built for each scan or event and swapped in whole, so threads
read one without locks.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, Mapping, ValuesView
from typing import Generic, TypeVar

V = TypeVar("V")

Pair = tuple[str, str]


class ByAccount(Mapping[Pair, V], Generic[V]):
    """``(account_id, rule) -> value``, sorted by pair, one row per account."""

    __slots__ = ("_count", "_rows", "_rules", "_slot")

    def __init__(self, rules: tuple[str, ...], rows: dict[str, tuple[V | None, ...]]) -> None:
        self._rules = rules  # sorted; every row is aligned with them (None: no value)
        self._slot = {rule: index for index, rule in enumerate(rules)}
        self._rows = rows  # sorted by account
        self._count = sum(len(row) - row.count(None) for row in rows.values())

    @classmethod
    def of(cls, items: Iterable[tuple[Pair, V]]) -> ByAccount[V]:
        """The mapping of ``items`` (a later value for a pair wins, as in a dict)."""
        return cls._packed(by_account(items))

    @classmethod
    def _packed(cls, grouped: Mapping[str, Mapping[str, V]]) -> ByAccount[V]:
        rules = tuple(sorted({rule for row in grouped.values() for rule in row}))
        rows = {
            account_id: tuple(row.get(rule) for rule in rules)
            for account_id, row in sorted(grouped.items())
        }
        return cls(rules, rows)

    def replaced(self, accounts: Mapping[str, Mapping[str, V]]) -> ByAccount[V]:
        """This mapping with the rows of ``accounts`` replaced by the values given (an account
        given no values loses its row); the other rows are shared, not copied."""
        rules = set(self._rules)
        if any(rule not in rules for row in accounts.values() for rule in row):  # a new rule
            grouped = {a: dict(self.account(a)) for a in self._rows if a not in accounts}
            grouped.update({a: dict(row) for a, row in accounts.items() if row})
            return self._packed(grouped)
        rows = dict(self._rows)
        for account_id, row in accounts.items():
            if row:
                rows[account_id] = tuple(row.get(rule) for rule in self._rules)
            else:
                rows.pop(account_id, None)
        if any(a not in self._rows for a in accounts):
            rows = dict(sorted(rows.items()))
        return ByAccount(self._rules, rows)

    def differing(self, other: ByAccount[V]) -> Iterator[str]:
        """The accounts whose rows may differ from ``other``'s: all but those sharing the very
        row (what :meth:`replaced` kept), so a writer skips the accounts an event left alone."""
        if other._rules != self._rules:
            yield from self._rows.keys() | other._rows.keys()
            return
        for account_id, row in self._rows.items():
            if other._rows.get(account_id) is not row:
                yield account_id
        for account_id in other._rows.keys() - self._rows.keys():
            yield account_id

    def account(self, account_id: str) -> Iterator[tuple[str, V]]:
        """``(rule, value)`` of one account, by rule."""
        row = self._rows.get(account_id, ())
        for rule, value in zip(self._rules, row, strict=False):
            if value is not None:
                yield rule, value

    def accounts(self) -> Iterator[str]:
        return iter(self._rows)

    def __getitem__(self, key: Pair) -> V:
        account_id, rule = key
        row = self._rows.get(account_id)
        slot = self._slot.get(rule)
        value = None if row is None or slot is None else row[slot]
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            return False
        return True

    def __iter__(self) -> Iterator[Pair]:
        rules = self._rules
        for account_id, row in self._rows.items():
            for rule, value in zip(rules, row, strict=True):
                if value is not None:
                    yield account_id, rule

    def __len__(self) -> int:
        return self._count

    def items(self) -> ItemsView[Pair, V]:
        return _Items(self)

    def values(self) -> ValuesView[V]:
        return _Values(self)

    def _items(self) -> Iterator[tuple[Pair, V]]:
        rules = self._rules
        for account_id, row in self._rows.items():
            for rule, value in zip(rules, row, strict=True):
                if value is not None:
                    yield (account_id, rule), value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ByAccount) and other._rules == self._rules:
            return self._rows == other._rows  # no row is all None: equal rows, equal items
        return isinstance(other, Mapping) and dict(self._items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ByAccount({len(self)} pairs, {len(self._rows)} accounts)"


def by_account(items: Iterable[tuple[Pair, V]]) -> dict[str, dict[str, V]]:
    """``items`` grouped: account -> rule -> value (a later value for a pair wins)."""
    grouped: dict[str, dict[str, V]] = {}
    for (account_id, rule), value in items:
        grouped.setdefault(account_id, {})[rule] = value
    return grouped


class _Items(ItemsView[Pair, V]):
    _mapping: ByAccount[V]

    def __iter__(self) -> Iterator[tuple[Pair, V]]:
        return self._mapping._items()


class _Values(ValuesView[V]):
    _mapping: ByAccount[V]

    def __iter__(self) -> Iterator[V]:
        for _, value in self._mapping._items():
            yield value


__all__ = ["ByAccount", "Pair", "by_account"]
