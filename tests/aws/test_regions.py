"""Where an account's trails are listed, and which regions a scan may read (no AWS call)."""

from __future__ import annotations

import asyncio
from typing import cast

from scanner.aws.clients import ClientPool
from scanner.aws.regions import RegionScope, listing_region


class _Session:
    async def get_available_regions(self, service: str, partition: str) -> list[str]:
        assert (service, partition) == ("cloudtrail", "aws")
        return ["us-east-1", "eu-west-1", "ap-south-1"]


class _Pool:
    base_session = _Session()


POOL = cast(ClientPool, _Pool())


def where(scope: RegionScope, home: str = "us-east-1") -> str:
    return asyncio.run(listing_region(scope, home, POOL, "aws"))


def test_the_scope_allows_what_the_options_name_and_not_what_they_exclude() -> None:
    assert RegionScope().allows("ap-south-1")
    scope = RegionScope(only=("us-east-1", "eu-west-1"), exclude=("eu-west-1",))
    assert scope.allows("us-east-1")
    assert not scope.allows("eu-west-1")  # exclusion wins
    assert not scope.allows("ap-south-1")


def test_trails_are_listed_in_the_home_region_unless_the_options_exclude_it() -> None:
    assert where(RegionScope()) == "us-east-1"
    assert where(RegionScope(only=("us-east-1",))) == "us-east-1"
    assert where(RegionScope(only=("eu-west-3", "eu-west-1"))) == "eu-west-1"
    assert where(RegionScope(exclude=("us-east-1",))) == "ap-south-1"
