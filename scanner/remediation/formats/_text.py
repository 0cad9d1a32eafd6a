"""What the four formats share: blocks of template text, filled with one plan's values.

A block is a :class:`string.Template` that acts on one resource, and so in that resource's
region. Every ``${name}`` is a value of the plan, quoted by the format; ``${region}`` is the region
of the block's resource and ``${provider}`` its Terraform alias. A format adds fields of its own
(``raw``: identifiers, references, notes) that go in as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from string import Template

from scanner.remediation.plan import PLACEHOLDER, FindingPlan, Resource, Step

PLACEHOLDER_NOTE = "Replace every <PLACEHOLDER> first."

Quote = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Block:
    """One command, resource or console step acting on ``resource``; ``text`` is a Template."""

    resource: Resource
    text: str


def alias(region: str) -> str:
    """A Terraform provider alias for a region: ``eu_west_1``."""
    return re.sub(r"[^a-z0-9]+", "_", region.lower()).strip("_") or "region"


def fill(
    plan: FindingPlan, block: Block, quote: Quote, raw: Mapping[str, str] | None = None
) -> str:
    values = {name: quote(value) for name, value in plan.values.items()}
    values.update(raw or {})
    region = plan.region(block.resource)
    values["region"] = quote(region)
    values["provider"] = alias(region)
    return Template(block.text).substitute(values)


def header(text: str, plan: FindingPlan, region: str = "") -> str:
    """A header line filled with the plan's values as they are (comments need no quoting)."""
    return Template(text).substitute({**plan.values, "region": region})


def step_blocks(
    plan: FindingPlan, steps: Mapping[Step, tuple[Block, ...]], quote: Quote
) -> list[tuple[Block, str]]:
    """The blocks of the plan's steps, filled; a text already written is not written again."""
    filled: dict[str, Block] = {}
    for step in plan.steps:
        for block in steps[step]:
            filled.setdefault(fill(plan, block, quote), block)
    return [(block, text) for text, block in filled.items()]


def has_placeholders(texts: Iterable[str]) -> bool:
    return any(PLACEHOLDER.search(text) for text in texts)
