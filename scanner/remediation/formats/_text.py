"""What the four formats share: documents, headers, identifiers, and blocks of template text.

The imperative formats (console, CLI) write each :class:`~scanner.remediation.account.Change` as
blocks of :class:`string.Template` text: every ``${name}`` is a value of the change's plan, quoted
by the format; ``${region}`` is the region of the block's resource. A block may be conditional
(``when``: written only if that value is not empty; ``!name``: only if it is) and repeated
(``each``: once per item of a comma-separated value, bound to ``${item}``). The declarative formats
(Terraform, CloudFormation) build data and serialise it; they share the identifiers
(:class:`Names`) and the notes.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable, Mapping
from string import Template
from typing import NamedTuple

from scanner.model import Finding
from scanner.remediation.account import AccountRemediation, Change
from scanner.remediation.plan import PLACEHOLDER, FindingPlan, Resource, Step

PLACEHOLDER_NOTE = "Replace every <PLACEHOLDER> first."

# The first lines of every script: bash, which stops at the first command that fails (or at an
# unset variable, or inside a pipe), so that no later command runs on what a failed one left.
SCRIPT_HEAD = "#!/usr/bin/env bash\nset -euo pipefail"

Quote = Callable[[str], str]


class Document(NamedTuple):
    """One file of a fix: ``name`` is the file it is meant to be saved as."""

    name: str
    text: str

    @property
    def executable(self) -> bool:
        """Whether the document is a script (it starts with ``#!``): saved, it may be run."""
        return self.text.startswith("#!")


def script(name: str, head: str, texts: Iterable[str]) -> Document:
    """A bash script of commands: :data:`SCRIPT_HEAD`, then ``head`` (what the script fixes,
    as comments), then each text, a blank line between them."""
    return Document(name, "\n\n".join([f"{SCRIPT_HEAD}\n{head}", *texts]) + "\n")


class Block(NamedTuple):
    """One command or console step acting on ``resource``; ``text`` is a Template.

    ``when`` names a value the block needs (``!name``: a value it needs empty); ``each`` a
    comma-separated value the block is written once per item of (``${item}``)."""

    resource: Resource
    text: str
    when: str = ""
    each: str = ""

    def applies(self, plan: FindingPlan) -> bool:
        if not self.when:
            return True
        wanted = not self.when.startswith("!")
        return bool(plan.values[self.when.lstrip("!")]) is wanted


def alias(region: str) -> str:
    """An identifier for a region: ``eu_west_1`` (a Terraform provider alias)."""
    return re.sub(r"[^a-z0-9]+", "_", region.lower()).strip("_") or "region"


def file_part(region: str) -> str:
    """A region as part of a file name: ``eu-west-1``; ``region`` for the placeholder."""
    return re.sub(r"[^a-z0-9-]+", "", region.lower()) or "region"


def title(account: AccountRemediation) -> str:
    """What the fix is for: the finding's broken link, or how many findings the changes fix."""
    findings = account.findings
    if len(findings) == 1:
        values = account.plans[0].values
        return (
            f"Account {account.account_id}, {values['rule_title']} ({values['rule_id']}): "
            f'the chain breaks at "{values["broken_link"]}".'
        )
    accounts = sorted({f.account_id for f in findings} - {account.account_id})
    members = (
        ""
        if not accounts
        else f" of account {accounts[0]}"
        if len(accounts) == 1
        else f" of {len(accounts)} accounts"
    )
    changes = len(account.changes)
    return (
        f"Account {account.account_id}: {changes} change{'s' if changes > 1 else ''} "
        f"fix{'' if changes > 1 else 'es'} {len(findings)} failing findings{members}."
    )


# Beyond this many, a note counts the accounts (an organization trail covers thousands).
_LISTED_ACCOUNTS = 10


def fixes(findings: Iterable[Finding]) -> str:
    """Which findings a change fixes: their rules, and their accounts."""
    found = list(findings)
    rules = ", ".join(dict.fromkeys(f.rule for f in found))
    accounts = list(dict.fromkeys(f.account_id for f in found))
    if len(accounts) == 1:
        return f"For {rules} in account {accounts[0]}."
    if len(accounts) <= _LISTED_ACCOUNTS:
        return f"For {rules} in accounts {', '.join(accounts)}."
    return f"For {rules} in {len(accounts)} accounts ({', '.join(accounts[:3])}, ...)."


def comment(text: str, prefix: str = "# ") -> str:
    return textwrap.fill(
        text,
        100,
        initial_indent=prefix,
        subsequent_indent=prefix,
        break_long_words=False,
        break_on_hyphens=False,
    )


class Names:
    """Identifiers unique in one document, each the same for the resource it names."""

    def __init__(self, separator: str = "") -> None:
        self._by_key: dict[tuple[str, ...], str] = {}
        self._separator = separator

    def __call__(self, key: tuple[str, ...], base: str) -> str:
        if key not in self._by_key:
            taken = set(self._by_key.values())
            name, n = base, 2
            while name in taken:
                name, n = f"{base}{self._separator}{n}", n + 1
            self._by_key[key] = name
        return self._by_key[key]


def fill(plan: FindingPlan, block: Block, quote: Quote) -> str:
    """The block's text with the plan's values; ``""`` when the block does not apply."""
    if not block.applies(plan):
        return ""
    values = {name: quote(value) for name, value in plan.values.items()}
    values["region"] = quote(plan.region(block.resource))
    items = [i for i in plan.values[block.each].split(",") if i] if block.each else [""]
    return "\n\n".join(Template(block.text).substitute(values, item=quote(item)) for item in items)


def step_texts(change: Change, steps: Mapping[Step, tuple[Block, ...]], quote: Quote) -> list[str]:
    """The texts of a change's blocks: those of its step on its resource that apply."""
    blocks = [block for block in steps[change.step] if block.resource == change.resource]
    return [text for text in (fill(change.plan, block, quote) for block in blocks) if text]


def change_texts(
    account: AccountRemediation,
    steps: Mapping[Step, tuple[Block, ...]],
    quote: Quote,
    annotate: Callable[[str, str], str],
) -> list[str]:
    """Each change's blocks (those of its step on its resource), filled with its plan's values;
    with several findings, ``annotate(text, note)`` adds which findings the change fixes."""
    many = len(account.findings) > 1
    texts = []
    for change in account.changes:
        for text in step_texts(change, steps, quote):
            texts.append(annotate(text, fixes(change.fixes)) if many else text)
    return texts


def has_placeholders(texts: Iterable[str]) -> bool:
    return any(PLACEHOLDER.search(text) for text in texts)
