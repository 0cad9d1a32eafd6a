"""Findings and readers shared by the remediation tests: chains made by hand or by the evaluator.

A FAIL finding is made link by link (:func:`made`) for precise chains, or evaluated from a small
inventory (:func:`evaluated`); the CLI text is read as the shell reads it (:func:`commands`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tools import TEST_EXTRA, require_tool

from scanner.catalog import Rule, load_catalog
from scanner.model import (
    Account,
    EventSelector,
    Finding,
    Inventory,
    Link,
    LinkResult,
    LinkStatus,
    LogGroup,
    Region,
    Status,
    Topic,
    Trail,
)
from scanner.remediation import (
    AccountRemediation,
    Document,
    Format,
    plan_of,
    remediation_for,
    render,
)
from scanner.testing.builders import healthy_topic

ACCOUNT = "111122223333"
HOME = "us-east-1"  # the trail's home region
REGION = "eu-west-1"  # the log group's region
TRAIL_ARN = f"arn:aws:cloudtrail:{HOME}:{ACCOUNT}:trail/main"
LOG_GROUP = "org-trail's logs"  # a quote to exercise the quoting of every format
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:ops"
ALARM_ARN = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:iam-alarm"
RULE = "iam-policy-changes"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

OK, BROKEN, MISSING, UNKNOWN = (
    LinkStatus.OK,
    LinkStatus.BROKEN,
    LinkStatus.MISSING,
    LinkStatus.UNKNOWN,
)


def rule(rule_id: str = RULE) -> Rule:
    return load_catalog().rule(rule_id)


# --------------------------------------------------------------------------------------------
# Reading the outputs.


# The second line of every script (the first, ``#!/usr/bin/env bash``, is a comment to the shell).
STRICT = "set -euo pipefail"


def commands(cli: str) -> list[list[str]]:
    """The CLI text as the shell runs it: continuation lines joined, comments and the script's
    ``set -euo pipefail`` dropped (its own tests check it)."""
    lines = cli.replace("\\\n", " ").splitlines()
    return [
        shlex.split(line)
        for line in lines
        if line.strip() and not line.startswith("#") and line != STRICT
    ]


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def only(cli: str, *words: str) -> list[str]:
    """The one command starting with ``aws <words>``."""
    found = [c for c in commands(cli) if c[1 : 1 + len(words)] == list(words)]
    assert len(found) == 1, cli
    return found[0]


def verbs(cli: str) -> list[str]:
    return [" ".join(c[1:3]) for c in commands(cli)]


# --------------------------------------------------------------------------------------------
# Findings: through the evaluator, and by hand for precise chains.


def inventory(
    *, filters: tuple[Any, ...] = (), topics: Mapping[str, Topic] | None = None
) -> Inventory:
    trail = Trail(
        name="main",
        arn=TRAIL_ARN,
        home_region=HOME,
        is_multi_region=True,
        is_logging=True,
        event_selectors=(EventSelector(),),
        advanced_event_selectors=(),
        log_group_arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}:*",
    )
    regions = {
        HOME: Region(trails=(trail,)),
        REGION: Region(
            trails=(trail,),
            log_groups={LOG_GROUP: LogGroup(LOG_GROUP, metric_filters=filters)},
            alarms=(),
            topics=dict(topics or {}),
        ),
    }
    return Inventory(accounts=(Account(id=ACCOUNT, name="prod", regions=regions),))


def evaluated(inv: Inventory, rule_id: str = RULE) -> Finding:
    # Imported here: the findings made by hand need none of the evaluator.
    from scanner.evaluate import evaluate

    return next(f for f in evaluate(inv) if f.rule == rule_id)


def subscribed(arn: str) -> dict[str, Topic]:
    return {arn: healthy_topic(arn, "ops@example.com")}


def made(
    broken: Link,
    after: LinkStatus = OK,
    *,
    rule_id: str = RULE,
    topic: str = TOPIC,
    also: Mapping[Link, LinkStatus] | None = None,
) -> Finding:
    """A FAIL finding: links before ``broken`` ok, ``broken`` broken, the later ones ``after``.

    ``also`` overrides the status of some later links.
    """
    where: dict[Link, tuple[str, str]] = {
        Link.TRAIL: (TRAIL_ARN, HOME),
        Link.LOGGING: (TRAIL_ARN, HOME),
        Link.SELECTORS: (TRAIL_ARN, HOME),
        Link.LOG_GROUP: (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}", REGION),
        Link.FILTER: ("iam-filter", REGION),
        Link.ALARM: (ALARM_ARN, REGION),
        Link.ALARM_CONDITION: (ALARM_ARN, REGION),
        Link.ACTIONS: (ALARM_ARN, REGION),
        Link.TOPIC: (topic, REGION),
        Link.SUBSCRIBER: (topic, REGION),
        Link.TOPIC_KEY: (KEY_ARN, REGION),
        Link.TOPIC_POLICY: (topic, REGION),
        Link.DELIVERY: (topic, REGION),
    }
    chain = []
    for link in Link:
        status = OK if link.position < broken.position else BROKEN if link is broken else after
        status = (also or {}).get(link, status)
        resource, region = where[link] if status is not MISSING else ("", None)
        chain.append(LinkResult(link, status, resource, ACCOUNT, region, "detail"))
    return Finding(
        account_id=ACCOUNT,
        account_name="prod",
        rule=rule_id,
        title=rule(rule_id).title,
        severity="high",
        profile="recommended",
        status=Status.FAIL,
        reason="detail",
        broken_link=broken,
        chain=tuple(chain),
    )


# Everything the evaluator knows about a complete chain.
FULL = {
    "account_id": ACCOUNT,
    "partition": "aws",
    "region": REGION,
    "trail_name": "main",
    "log_group_name": LOG_GROUP,
    "filter_name": "iam-filter",
    "metric_name": "IamChanges",
    "metric_namespace": "Security",
    "alarm_name": "iam-alarm",
}


def fix(finding: Finding, context: Mapping[str, str] = FULL) -> dict[str, str]:
    r = rule(finding.rule)
    return remediation_for(finding, r, r.accepted_in(finding.profile)[0], context)


# --------------------------------------------------------------------------------------------
# Reading Terraform (python-hcl2's output).


def hcl_string(value: str) -> str:
    """A string attribute as python-hcl2 returns it (quoted in recent versions)."""
    if not value.startswith('"'):
        return value
    decoded: str = json.loads(value.replace("$${", "${").replace("%%{", "%{"))
    return decoded


def hcl_reference(value: str) -> str:
    """A reference (``aws.eu_west_1``) as python-hcl2 returns it (``${...}`` in recent versions)."""
    return value.removeprefix("${").removesuffix("}")


def imports(parsed: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """``{"<type>.<label>": (id, provider)}`` of the ``import`` blocks in python-hcl2's output."""
    return {
        hcl_reference(block["to"]): (hcl_string(block["id"]), hcl_reference(block["provider"]))
        for block in parsed.get("import", [])
    }


def resources(parsed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"<type>.<label>": attributes}`` from python-hcl2's output."""
    found = {}
    for entry in parsed.get("resource", []):
        for kind, by_label in entry.items():
            for label, body in by_label.items():
                found[f"{hcl_string(kind)}.{hcl_string(label)}"] = body
    return found


def documents(finding: Finding, fmt: Format, context: Mapping[str, str] = FULL) -> dict[str, str]:
    """A finding's fix in one format as its files: name -> text."""
    plan = plan_of(fixed(finding, context))
    assert plan is not None
    return {d.name: d.text for d in render(fmt, [AccountRemediation.of([plan])])}


def fixed(finding: Finding, context: Mapping[str, str] = FULL) -> Finding:
    """The finding as the evaluator returns it: its fix (and the fix's plan) inside."""
    return dataclasses.replace(finding, remediation=fix(finding, context))


# --------------------------------------------------------------------------------------------
# Linting CloudFormation: cfn-lint once over many templates (it loads its rules once a run).


def cfn_lint(documents: Iterable[Document], directory: Path) -> str:
    """cfn-lint's findings on the templates, each saved under its own name; ``""`` if clean."""
    files = []
    for document in documents:
        path = directory / document.name
        path.write_text(document.text)
        files.append(str(path))
    assert files
    found = require_tool("cfn-lint", TEST_EXTRA)
    result = subprocess.run(
        [found, *files], capture_output=True, text=True, check=False, timeout=300
    )
    return f"exit {result.returncode}: {result.stdout}{result.stderr}" if result.returncode else ""


# --------------------------------------------------------------------------------------------
# Running a script against a stand-in ``aws``.


def run_script(path: Path, directory: Path, aws_exit: int) -> tuple[int, list[str]]:
    """Runs the script at ``path`` (as a program: its shebang and mode decide) with an ``aws``
    first on ``PATH`` that records its arguments and exits ``aws_exit``; the script's exit code
    and the ``aws`` commands it ran, one line each."""
    require_tool("bash", "apt-get install bash")
    log = directory / "aws.log"
    stub = directory / "bin" / "aws"
    stub.parent.mkdir(parents=True, exist_ok=True)
    stub.write_text(f'#!/usr/bin/env bash\necho "$*" >> {shlex.quote(str(log))}\nexit {aws_exit}\n')
    stub.chmod(0o755)
    env = {**os.environ, "PATH": f"{stub.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(path)], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    ran = log.read_text().splitlines() if log.exists() else []
    return result.returncode, ran
