"""The demo organization's findings and a fixed report context, for the report tests.

Every format is tested on the demo's findings: fifteen accounts, every kind of break, an account
whose role cannot be assumed (ERROR for every rule), PASSes next to them. The scan runs once
(moto in process, a few seconds); the context pins the time so outputs are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from scanner.catalog import load_catalog
from scanner.model import Finding, Inventory, Status
from scanner.report import ReportContext
from scanner.testing import demo

SCANNED_AT = datetime(2026, 12, 1, 4, 30, 15, 250000, tzinfo=UTC)


@dataclass(frozen=True)
class Demo:
    findings: list[Finding]
    inventory: Inventory
    context: ReportContext

    def first(self, status: Status, **fields: object) -> Finding:
        return next(
            f
            for f in self.findings
            if f.status is status and all(getattr(f, k) == v for k, v in fields.items())
        )


def scan_demo() -> Demo:
    result = demo.run()
    catalog = load_catalog()
    inventory = result.collected.inventory
    context = ReportContext.of(
        catalog, catalog.profile(), inventory, SCANNED_AT, version="9.9.9", region="eu-west-1"
    )
    return Demo(list(result.findings), inventory, context)
