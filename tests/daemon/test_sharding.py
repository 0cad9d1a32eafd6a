"""Shards: sha256(account id) mod N, disjoint and complete, ordinals from StatefulSet pod names."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.daemon.sharding import (
    Shard,
    ShardingError,
    ordinal_from_pod_name,
    resolve,
    shard_of,
)

ACCOUNT_IDS = st.lists(st.from_regex(r"\d{12}", fullmatch=True), unique=True, max_size=60)


def test_an_account_belongs_to_the_shard_of_its_sha256() -> None:
    account = "210000000007"
    digest = int(hashlib.sha256(account.encode()).hexdigest(), 16)
    for total in (1, 2, 3, 7, 16):
        assert shard_of(account, total) == digest % total


@given(ACCOUNT_IDS, st.integers(min_value=1, max_value=9))
def test_shards_are_disjoint_and_cover_every_account(accounts: list[str], total: int) -> None:
    chosen = [Shard(i, total).select(accounts) for i in range(total)]
    assert sorted(a for part in chosen for a in part) == sorted(accounts)
    assert sum(len(part) for part in chosen) == len(accounts)


def test_one_shard_owns_everything() -> None:
    assert Shard().select(["111111111111", "222222222222"]) == ["111111111111", "222222222222"]


@pytest.mark.parametrize(("name", "ordinal"), [("scanner-0", 0), ("my-scanner-12", 12)])
def test_the_ordinal_of_a_statefulset_pod(name: str, ordinal: int) -> None:
    assert ordinal_from_pod_name(name) == ordinal
    assert resolve(0, 16, "POD_NAME", {"POD_NAME": name}) == Shard(ordinal, 16)


def test_explicit_numbers_without_a_pod_name() -> None:
    assert resolve(2, 3) == Shard(2, 3)


@pytest.mark.parametrize(
    ("shard", "total", "env", "message"),
    [
        (0, 3, {"POD_NAME": "scanner"}, "does not end with -<ordinal>"),
        (0, 3, {}, "variable POD_NAME is not set"),
        (0, 3, {"POD_NAME": "scanner-3"}, "has ordinal 3, but sharding.total_shards is 3"),
    ],
)
def test_a_pod_name_that_gives_no_valid_ordinal(
    shard: int, total: int, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ShardingError, match=message):
        resolve(shard, total, "POD_NAME", env)


def test_an_ordinal_outside_the_shards_is_refused() -> None:
    with pytest.raises(ShardingError, match=r"not within 0\.\.1"):
        Shard(2, 2)
