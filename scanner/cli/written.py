"""What a report command wrote to a file, for the line :func:`scanner.cli.output.wrote` says on
stderr: ``scanner: wrote 324 findings (json) to FILE``, ``... the inventory of 19 accounts ...``.

``-q``/``--quiet`` (the last line only) silences that line like every other but the report's
last.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from scanner.cli.output import plural
from scanner.cli.selection import Selection
from scanner.model import Finding, Inventory


class Tally:
    """The findings on their way to the report, counted as it reads them (it reads them once, and
    a streamed report never holds them all): those it is about, and those it lists."""

    def __init__(self, findings: Iterable[Finding], selection: Selection, fmt: str) -> None:
        self._findings = findings
        self._selection = selection
        self._listed = selection.shown_in(fmt)
        self.fmt = fmt
        self.selected = 0
        self.listed = 0

    def __iter__(self) -> Iterator[Finding]:
        for finding in self._findings:
            if self._selection.selects(finding):
                self.selected += 1
                self.listed += finding.status in self._listed
            yield finding

    def describe(self) -> str:
        """``324 findings (json)``; ``324 findings (table, 74 listed)`` when fewer are listed."""
        listed = f", {self.listed} listed" if self.listed != self.selected else ""
        return f"{plural(self.selected, 'finding')} ({self.fmt}{listed})"


def inventory(inventory: Inventory) -> str:
    """``the inventory of 19 accounts``: what ``--save-inventory`` wrote."""
    return f"the inventory of {plural(len(inventory.accounts), 'account')}"
