"""The CLI format: a bash script that stops at the first failure, each command in the region it
acts in."""

from __future__ import annotations

from pathlib import Path

import pytest
from remediation.remediation_cases import (
    BROKEN,
    FULL,
    HOME,
    MISSING,
    OK,
    REGION,
    STRICT,
    TOPIC,
    commands,
    fix,
    made,
    option,
    run_script,
)

from scanner.model import Link, LinkStatus


@pytest.mark.parametrize("broken", list(Link), ids=str)
@pytest.mark.parametrize("after", [OK, MISSING, BROKEN], ids=str)
def test_every_broken_link_gives_commands_each_in_the_region_it_acts_in(
    broken: Link, after: LinkStatus
) -> None:
    text = fix(made(broken, after), {**FULL, "topic_arn": TOPIC})["cli"]
    assert text.splitlines()[:2] == ["#!/usr/bin/env bash", STRICT]
    cli = commands(text)
    assert cli, text
    for command in cli:
        assert command[0] == "aws" and option(command, "--region") in (HOME, REGION)


def test_the_script_runs_as_it_is_and_stops_at_the_first_command_that_fails(
    tmp_path: Path,
) -> None:
    text = fix(made(Link.LOG_GROUP, MISSING), FULL)["cli"]
    script = tmp_path / "fix.sh"
    script.write_text(text)
    script.chmod(0o755)
    expected = [" ".join(command[1:]) for command in commands(text)]
    assert len(expected) > 1

    code, ran = run_script(script, tmp_path / "ok", aws_exit=0)
    assert (code, ran) == (0, expected)  # every command, in order
    # The first command fails: nothing after it runs on what it did not make.
    code, ran = run_script(script, tmp_path / "failing", aws_exit=254)
    assert (code, ran) == (254, expected[:1])
