"""The console format: numbered steps in the account's own names."""

from __future__ import annotations

import pytest
from remediation.remediation_cases import (
    BROKEN,
    FULL,
    LOG_GROUP,
    MISSING,
    OK,
    TOPIC,
    evaluated,
    fix,
    inventory,
    made,
    subscribed,
)

from scanner.model import Link, LinkStatus


def test_the_console_steps_are_numbered_and_name_the_accounts_resources() -> None:
    console = evaluated(inventory(topics=subscribed(TOPIC))).remediation["console"]
    lines = console.splitlines()
    assert lines[1].startswith("1. ") and f'"{LOG_GROUP}"' in lines[1]
    assert any(line.startswith("2. ") and "Alarms" in line for line in lines)
    assert TOPIC in console


@pytest.mark.parametrize("broken", list(Link), ids=str)
@pytest.mark.parametrize("after", [OK, MISSING, BROKEN], ids=str)
def test_every_broken_link_gives_numbered_steps(broken: Link, after: LinkStatus) -> None:
    console = fix(made(broken, after), {**FULL, "topic_arn": TOPIC})["console"]
    assert console.splitlines()[1].startswith("1. ")
