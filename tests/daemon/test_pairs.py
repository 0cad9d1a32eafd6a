"""The daemon's per-(account, rule) mapping (scanner.daemon.pairs) reads like the sorted dict it
replaces: the same lookups, the same order, and replacing some accounts' rows gives what
building the whole mapping again would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scanner.daemon.pairs import ByAccount

ACCOUNTS = st.sampled_from(["111111111111", "222222222222", "333333333333", "444444444444"])
RULES = st.sampled_from(["iam-policy-changes", "root-usage", "console-no-mfa", "ssm-actions"])
ITEMS = st.lists(st.tuples(st.tuples(ACCOUNTS, RULES), st.integers()), max_size=30)


@given(ITEMS)
def test_reads_as_the_sorted_dict_of_its_items(items: list[tuple[tuple[str, str], int]]) -> None:
    expected = dict(sorted(dict(items).items()))
    mapping = ByAccount.of(items)
    assert list(mapping) == list(expected)
    assert list(mapping.items()) == list(expected.items())
    assert list(mapping.values()) == list(expected.values())
    assert len(mapping) == len(expected)
    assert mapping == expected
    for key, value in expected.items():
        assert key in mapping and mapping[key] == value and mapping.get(key) == value
    absent = ("999999999999", "root-usage")
    assert absent not in mapping and mapping.get(absent) is None
    assert ("111111111111", "no-such-rule") not in mapping
    for account_id in {a for a, _ in expected}:
        assert list(mapping.account(account_id)) == [
            (r, v) for (a, r), v in expected.items() if a == account_id
        ]


@given(ITEMS, st.dictionaries(ACCOUNTS, st.dictionaries(RULES, st.integers()), max_size=3))
def test_replacing_accounts_equals_building_again(
    items: list[tuple[tuple[str, str], int]], rows: dict[str, dict[str, int]]
) -> None:
    before = ByAccount.of(items)
    kept = [(k, v) for k, v in dict(items).items() if k[0] not in rows]
    fresh = [((a, r), v) for a, row in rows.items() for r, v in row.items()]
    after = before.replaced(rows)
    assert list(after.items()) == list(ByAccount.of([*kept, *fresh]).items())
    assert after == ByAccount.of([*kept, *fresh]) == dict(after.items())  # rules may differ
    assert list(before.items()) == sorted(dict(items).items())  # the old mapping is unchanged


@given(ITEMS, st.dictionaries(ACCOUNTS, st.dictionaries(RULES, st.integers()), max_size=3))
def test_the_accounts_that_differ_include_every_account_whose_values_changed(
    items: list[tuple[tuple[str, str], int]], rows: dict[str, dict[str, int]]
) -> None:
    before = ByAccount.of(items)
    after = before.replaced(rows)
    differing = set(after.differing(before))
    changed = {key[0] for key, _ in {*before.items()} ^ {*after.items()}}
    assert changed <= differing
    assert differing <= set(rows) | {a for a, _ in before} | {a for a, _ in after}
    if all(r in before._rules for row in rows.values() for r in row):
        assert differing <= set(rows)  # the rows an event left alone are not looked at
