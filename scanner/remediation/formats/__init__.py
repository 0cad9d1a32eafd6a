"""One module per output format, behind :data:`ASSEMBLERS` (format name -> assembler).

An assembler writes an account's changes (:class:`~scanner.remediation.account.AccountRemediation`)
as documents: one script, list or configuration per account, one CloudFormation template per
account and region.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from scanner.remediation.account import AccountRemediation
from scanner.remediation.formats import cli, cloudformation, console, terraform
from scanner.remediation.formats._text import Document

Format = Literal["console", "cli", "terraform", "cloudformation"]

ASSEMBLERS: dict[Format, Callable[[AccountRemediation], tuple[Document, ...]]] = {
    "console": console.assemble,
    "cli": cli.assemble,
    "terraform": terraform.assemble,
    "cloudformation": cloudformation.assemble,
}
FORMATS: tuple[Format, ...] = tuple(ASSEMBLERS)

__all__ = ["ASSEMBLERS", "FORMATS", "Document", "Format"]
