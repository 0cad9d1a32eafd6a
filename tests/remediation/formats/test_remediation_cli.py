"""The CLI format: commands the shell runs, each in the region it acts in."""

from __future__ import annotations

import pytest
from remediation.remediation_cases import (
    BROKEN,
    FULL,
    HOME,
    MISSING,
    OK,
    REGION,
    TOPIC,
    commands,
    fix,
    made,
    option,
)

from scanner.model import Link, LinkStatus


@pytest.mark.parametrize("broken", list(Link), ids=str)
@pytest.mark.parametrize("after", [OK, MISSING, BROKEN], ids=str)
def test_every_broken_link_gives_commands_each_in_the_region_it_acts_in(
    broken: Link, after: LinkStatus
) -> None:
    text = fix(made(broken, after), {**FULL, "topic_arn": TOPIC})["cli"]
    cli = commands(text)
    assert cli, text
    for command in cli:
        assert command[0] == "aws" and option(command, "--region") in (HOME, REGION)
