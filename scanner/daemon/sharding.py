"""Which accounts are this replica's: ``sha256(account_id) mod total_shards`` (kube-state-metrics).

Sharding touches only the account list. Every replica runs the same configuration; each keeps
the accounts whose hash lands on its ordinal, so N replicas with ordinals 0..N-1 export disjoint
sets whose union is the whole organization, and an account never moves between shards unless N
changes. The hash is of the account id's text (stable across processes and Python versions,
unlike ``hash()``).

The ordinal comes from ``--shard`` / ``sharding.shard``, or from a StatefulSet pod name
(``scanner-3`` is ordinal 3) read from the variable ``sharding.pod_name_env`` names.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from scanner.errors import ShardingError

_ORDINAL = re.compile(r".*-(\d+)")


def shard_of(account_id: str, total: int) -> int:
    """The shard that owns ``account_id`` among ``total``."""
    return int(hashlib.sha256(account_id.encode()).hexdigest(), 16) % total


def ordinal_from_pod_name(name: str) -> int:
    """``"scanner-3"`` -> 3 (a StatefulSet pod's name ends with its ordinal)."""
    match = _ORDINAL.fullmatch(name.strip())
    if match is None:
        raise ShardingError(f"pod name {name!r} does not end with -<ordinal>")
    return int(match.group(1))


@dataclass(frozen=True)
class Shard:
    """This replica's ordinal among ``total``; ``owns`` decides an account."""

    ordinal: int = 0
    total: int = 1

    def __post_init__(self) -> None:
        if self.total < 1 or not 0 <= self.ordinal < self.total:
            raise ShardingError(f"shard {self.ordinal} is not within 0..{self.total - 1}")

    def owns(self, account_id: str) -> bool:
        return self.total == 1 or shard_of(account_id, self.total) == self.ordinal

    def select(self, account_ids: Iterable[str]) -> list[str]:
        return [a for a in account_ids if self.owns(a)]


def resolve(
    shard: int, total: int, pod_name_env: str = "", environ: Mapping[str, str] | None = None
) -> Shard:
    """The shard from explicit numbers, or from the pod name when ``pod_name_env`` is set."""
    if pod_name_env:
        name = (environ or {}).get(pod_name_env, "")
        if not name:
            raise ShardingError(f"sharding.pod_name_env: variable {pod_name_env} is not set")
        shard = ordinal_from_pod_name(name)
        if shard >= total:
            raise ShardingError(
                f"pod {name} has ordinal {shard}, but sharding.total_shards is {total}"
            )
    return Shard(shard, total)


__all__ = ["Shard", "ShardingError", "ordinal_from_pod_name", "resolve", "shard_of"]
