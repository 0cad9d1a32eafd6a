"""One module per output format, behind :data:`ASSEMBLERS` (format name -> assembler).

An assembler writes an account's changes (:class:`~scanner.remediation.account.AccountRemediation`)
as documents: one script, list or configuration per account, one CloudFormation template per
account and region.

Invariants every format keeps:

* Every value goes in through the format's quoting (shell words, HCL literals, JSON), so a name or
  pattern holding quotes cannot break the command or the code.
* The alarm always fires on one event: metric value 1 with no default value, statistic Sum over
  300 s, threshold 1 with ``GreaterThanOrEqualToThreshold``, 1 of 1 datapoints, missing data not
  breaching (see :mod:`scanner._alarm` for why each of these matters).
* Every change acts in one region, that of its resource: CLI commands carry ``--region``,
  Terraform has one provider alias per region, CloudFormation one template per region.
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
