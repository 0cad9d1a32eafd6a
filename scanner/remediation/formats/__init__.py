"""One module per output format, behind :data:`ASSEMBLERS` (format name -> assembler)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from scanner.remediation.formats import cli, cloudformation, console, terraform
from scanner.remediation.plan import FindingPlan

Format = Literal["console", "cli", "terraform", "cloudformation"]

ASSEMBLERS: dict[Format, Callable[[FindingPlan], str]] = {
    "console": console.assemble,
    "cli": cli.assemble,
    "terraform": terraform.assemble,
    "cloudformation": cloudformation.assemble,
}
FORMATS: tuple[Format, ...] = tuple(ASSEMBLERS)

__all__ = ["ASSEMBLERS", "FORMATS", "Format"]
